package metrics

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/shirou/gopsutil/v4/net"
	"github.com/shirou/gopsutil/v4/process"
)

// Metrics of the process and host sources.
const (
	CPU            = "cpu"              // fraction of the cores the process (or host) may use, 0..1
	CPUCores       = "cpu_cores"        // cores busy: CPU seconds per second
	Memory         = "memory"           // bytes: resident set (process) or used (host)
	DiskReadBytes  = "disk_read_bytes"  // bytes per second
	DiskWriteBytes = "disk_write_bytes" // bytes per second
	DiskIO         = "disk_io"          // read + write bytes per second
	NetRxBytes     = "network_rx_bytes" // bytes per second
	NetTxBytes     = "network_tx_bytes" // bytes per second
	Network        = "network"          // rx + tx bytes per second
)

var processMetrics = []string{CPU, CPUCores, Memory, DiskReadBytes, DiskWriteBytes, DiskIO, NetRxBytes, NetTxBytes, Network}

// renamer maps the user's metric names to built-in ones: with no queries
// every built-in metric is reported under its own name; with queries
// (name = "builtin") only those, under the user's names.
type renamer map[string]string // user name -> built-in

func newRenamer(queries map[string]string, builtins []string) (renamer, error) {
	r := renamer{}
	if len(queries) == 0 {
		for _, b := range builtins {
			r[b] = b
		}
		return r, nil
	}
	for user, b := range queries {
		b = strings.TrimSpace(b)
		if !contains(builtins, b) {
			return nil, fmt.Errorf("%s = %q: unknown metric (known: %s)", user, b, strings.Join(builtins, ", "))
		}
		r[user] = b
	}
	return r, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (r renamer) apply(raw map[string]Sample) map[string]Sample {
	out := make(map[string]Sample, len(r))
	for user, b := range r {
		if s, ok := raw[b]; ok {
			out[user] = s
		} else {
			out[user] = Sample{Stale: true, Reason: b + " is not available here"}
		}
	}
	return out
}

// rate turns a cumulative reading into a per-second rate.
type rate struct {
	v  float64
	at time.Time
	ok bool
}

func (r *rate) next(v float64, at time.Time) (Sample, bool) {
	prev := *r
	*r = rate{v, at, true}
	dt := at.Sub(prev.at).Seconds()
	if !prev.ok || dt <= 0 {
		return Sample{At: at, Stale: true, Reason: "a rate needs two readings"}, false
	}
	d := v - prev.v
	if d < 0 {
		d = 0 // counter reset (a new process with the same name)
	}
	return Sample{Value: d / dt, At: at}, true
}

// Process reads a local process by pid or by name.
type Process struct {
	pid    int32
	name   string
	names  renamer
	mu     sync.Mutex
	proc   *process.Process
	cpu    rate
	rd, wr rate
	rx, tx rate
	curPID int32
}

func newProcess(_ string, spec *lang.MetricsSource) (Source, error) {
	if (spec.PID == 0) == (spec.Process == "") {
		return nil, errors.New("set exactly one of pid and process")
	}
	if spec.PID < 0 {
		return nil, fmt.Errorf("pid %d is not a process id", spec.PID)
	}
	r, err := newRenamer(spec.Queries, processMetrics)
	if err != nil {
		return nil, err
	}
	return &Process{pid: int32(spec.PID), name: spec.Process, names: r}, nil
}

// NewProcessSource reads the process pid with every built-in metric (the
// engine and tests use it without a plan).
func NewProcessSource(pid int) Source {
	r, _ := newRenamer(nil, processMetrics)
	return &Process{pid: int32(pid), names: r}
}

func (p *Process) resolve(ctx context.Context) (*process.Process, error) {
	if p.proc != nil {
		if ok, err := p.proc.IsRunningWithContext(ctx); err == nil && ok {
			return p.proc, nil
		}
		p.proc = nil
	}
	if p.pid != 0 {
		proc, err := process.NewProcessWithContext(ctx, p.pid)
		if err != nil {
			return nil, fmt.Errorf("process %d: %w", p.pid, err)
		}
		p.proc = proc
		return proc, nil
	}
	procs, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, err
	}
	// The oldest process of that name: the server, not a worker it forked.
	var best *process.Process
	var bestStart int64
	for _, pr := range procs {
		n, err := pr.NameWithContext(ctx)
		if err != nil || (n != p.name && !exeIs(ctx, pr, p.name)) {
			continue
		}
		st, _ := pr.CreateTimeWithContext(ctx)
		if best == nil || st < bestStart {
			best, bestStart = pr, st
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no process named %q", p.name)
	}
	p.proc = best
	return best, nil
}

// exeIs matches the executable's base name: comm is cut at 15 characters.
func exeIs(ctx context.Context, pr *process.Process, name string) bool {
	if len(name) < 15 {
		return false
	}
	exe, err := pr.ExeWithContext(ctx)
	return err == nil && filepath.Base(exe) == name
}

// usableCores is how many cores the process may run on (its CPU affinity).
func usableCores(ctx context.Context, pr *process.Process) float64 {
	if aff, err := pr.CPUAffinityWithContext(ctx); err == nil && len(aff) > 0 {
		return float64(len(aff))
	}
	return float64(goruntime.NumCPU())
}

// Read implements Source.
func (p *Process) Read(ctx context.Context, _ time.Time) (map[string]Sample, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr, err := p.resolve(ctx)
	if err != nil {
		return nil, err
	}
	if pr.Pid != p.curPID {
		// A different process: earlier readings do not apply.
		p.cpu, p.rd, p.wr, p.rx, p.tx = rate{}, rate{}, rate{}, rate{}, rate{}
		p.curPID = pr.Pid
	}
	raw := map[string]Sample{}
	at := time.Now()
	times, err := pr.TimesWithContext(ctx)
	if err != nil {
		p.proc = nil
		return nil, fmt.Errorf("process %d: %w", pr.Pid, err)
	}
	if s, ok := p.cpu.next(times.User+times.System, at); ok {
		raw[CPUCores] = s
		s.Value /= usableCores(ctx, pr)
		raw[CPU] = s
	} else {
		raw[CPUCores], raw[CPU] = s, s
	}
	if mi, err := pr.MemoryInfoWithContext(ctx); err == nil {
		raw[Memory] = Sample{Value: float64(mi.RSS), At: at}
	}
	// /proc/<pid>/io is readable only by the process's owner (or root).
	if io, err := pr.IOCountersWithContext(ctx); err == nil {
		ratePair(raw, at, &p.rd, &p.wr, float64(io.ReadBytes), float64(io.WriteBytes), DiskReadBytes, DiskWriteBytes, DiskIO)
	}
	// Network counters per process do not exist on Linux; these are the
	// process's network namespace (the whole host unless it runs in a
	// container).
	if rx, tx, err := netDev(ctx, fmt.Sprintf("/proc/%d/net/dev", pr.Pid)); err == nil {
		ratePair(raw, at, &p.rx, &p.tx, rx, tx, NetRxBytes, NetTxBytes, Network)
	}
	return p.names.apply(raw), nil
}

// ratePair turns two counters (read and written, received and sent) into
// rates under their own names and their sum under a third; the sum is stale
// when either rate is.
func ratePair(raw map[string]Sample, at time.Time, a, b *rate, va, vb float64, nameA, nameB, nameSum string) {
	ra, okA := a.next(va, at)
	rb, okB := b.next(vb, at)
	raw[nameA], raw[nameB] = ra, rb
	sum := ra
	sum.Value += rb.Value
	sum.Stale = !okA || !okB
	raw[nameSum] = sum
}

// netDev sums the bytes received and sent over every interface but lo.
func netDev(ctx context.Context, file string) (rx, tx float64, err error) {
	if _, err := os.Stat(file); err != nil {
		return 0, 0, err
	}
	stats, err := net.IOCountersByFileWithContext(ctx, true, file)
	if err != nil {
		return 0, 0, err
	}
	for _, s := range stats {
		if s.Name == "lo" {
			continue
		}
		rx += float64(s.BytesRecv)
		tx += float64(s.BytesSent)
	}
	return rx, tx, nil
}
