package testenv

import "syscall"

// azuriteProcAttr puts Azurite in its own process group, so that it and its
// children can be stopped together, and has the kernel kill it should the
// test binary die without running its cleanups.
func azuriteProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the process group led by pid, a process the caller
// started with azuriteProcAttr.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }
