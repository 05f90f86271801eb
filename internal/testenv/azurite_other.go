//go:build !linux

package testenv

import "syscall"

// Elsewhere only the Azurite process itself is stopped.
func azuriteProcAttr() *syscall.SysProcAttr { return nil }

func killGroup(int) {}
