//go:build !linux

package main

import "os/exec"

// bindChild does nothing where the kernel cannot tie a child's life to
// its parent's: the demo stops its server itself on every path it
// controls.
func bindChild(*exec.Cmd) {}
