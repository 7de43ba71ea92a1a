//go:build !linux

package redistest

import "os/exec"

// dieWithParent is Linux-only (Pdeathsig); elsewhere cleanups must run.
func dieWithParent(*exec.Cmd) {}
