package main

import (
	"os/exec"
	"syscall"
)

// bindChild makes the demo server die with the demo: if the demo is
// killed (or its output pipe closes under it) before it can stop the
// server, the kernel sends the server SIGTERM, which shuts it down
// cleanly, instead of leaving it running with the data directory locked.
func bindChild(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
