package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// SaturationCores is the client_saturated rule: a run whose generator
// processes used, together, at least this many cores on average over the
// measured window is marked client_saturated. On this 2-core machine the
// client and the server share the cores; a generator that needs 90% of one
// core is at the point where, with the server busy on the other, it is
// itself the likely bottleneck (a Go generator can use both cores, but only
// by taking them from the server). A saturated run's server figures are
// lower bounds of the server's capacity, not measurements of it.
const SaturationCores = 0.9

// SelfCPU is this process's user+system CPU time so far (getrusage).
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times: 100
// on every Linux architecture Go supports (sysconf(_SC_CLK_TCK) is not
// reachable without cgo).
const clockTicks = 100

// ProcCPU is the user+system CPU time of process pid so far, from
// /proc/PID/stat (fields 14 and 15), with a resolution of 10 ms.
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command", pid)
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// ProcRSS is the resident set size of process pid in bytes, from
// /proc/PID/statm.
func ProcRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, err
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, fmt.Errorf("/proc/%d/statm: short", pid)
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0, err
	}
	return pages * int64(os.Getpagesize()), nil
}

// MachineCPU is a snapshot of the whole machine's CPU time (/proc/stat's
// "cpu" line, all cores summed), in clock ticks.
type MachineCPU struct {
	// Busy is user+nice+system+irq+softirq; Steal is time the hypervisor
	// gave to other machines; Total includes idle and iowait too.
	Busy, Steal, Total int64
}

// ReadMachineCPU reads /proc/stat (zero when it cannot).
func ReadMachineCPU() MachineCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineCPU{}
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return MachineCPU{}
	}
	var v [8]int64 // user nice system idle iowait irq softirq steal
	for i := range v {
		v[i], _ = strconv.ParseInt(string(f[i+1]), 10, 64)
	}
	m := MachineCPU{Busy: v[0] + v[1] + v[2] + v[5] + v[6], Steal: v[7]}
	m.Total = m.Busy + m.Steal + v[3] + v[4]
	return m
}

// sub returns the busy and stolen CPU time between snapshot o and m.
func (m MachineCPU) sub(o MachineCPU) (busy, steal time.Duration) {
	return time.Duration(m.Busy-o.Busy) * time.Second / clockTicks,
		time.Duration(m.Steal-o.Steal) * time.Second / clockTicks
}

// ProcsCPU is the summed user+system CPU time of the processes pids so far
// (ProcCPU each): a cluster's nodes.
func ProcsCPU(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, pid := range pids {
		c, err := ProcCPU(pid)
		if err != nil {
			return 0, err
		}
		sum += c
	}
	return sum, nil
}

// cpuMeter measures the CPU used by this process and, when pids are given,
// by the server's processes (summed) over a window.
type cpuMeter struct {
	pids         []int
	self0, srv0  time.Duration
	wall0        time.Time
	serverFailed bool
	mach0        MachineCPU
}

// startCPU opens a window; pids are the server's processes (ids <= 0 are
// left out).
func startCPU(serverPIDs ...int) *cpuMeter {
	m := &cpuMeter{self0: SelfCPU(), wall0: time.Now(), mach0: ReadMachineCPU()}
	for _, pid := range serverPIDs {
		if pid > 0 {
			m.pids = append(m.pids, pid)
		}
	}
	if len(m.pids) > 0 {
		var err error
		if m.srv0, err = ProcsCPU(m.pids); err != nil {
			m.serverFailed = true
		}
	}
	return m
}

// machine returns the machine's busy and stolen CPU since the window
// opened, up to the snapshot end.
func (m *cpuMeter) machine(end MachineCPU) (busy, steal time.Duration) {
	if m.mach0.Total == 0 || end.Total == 0 {
		return 0, 0
	}
	return end.sub(m.mach0)
}

// stop closes the window: wall time, this process's CPU, the server's CPU
// (0 without a pid).
func (m *cpuMeter) stop() (wall, self, server time.Duration) {
	wall = time.Since(m.wall0)
	self = SelfCPU() - m.self0
	if len(m.pids) > 0 && !m.serverFailed {
		if s, err := ProcsCPU(m.pids); err == nil {
			server = s - m.srv0
		}
	}
	return wall, self, server
}
