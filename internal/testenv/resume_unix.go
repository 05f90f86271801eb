//go:build unix

package testenv

import (
	"os"
	"syscall"
)

// resume continues a process stopped with SIGSTOP.
func resume(p *os.Process) { _ = p.Signal(syscall.SIGCONT) }
