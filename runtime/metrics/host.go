package metrics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
)

// Host metrics beyond the process ones.
const (
	MemoryFraction = "memory_fraction" // used / total
	MemoryTotal    = "memory_total"    // bytes
	Load1          = "load1"           // one-minute load average
)

var hostMetrics = append(append([]string(nil), processMetrics...), MemoryFraction, MemoryTotal, Load1)

// Host reads the local machine, for a target that runs here.
type Host struct {
	names     renamer
	mu        sync.Mutex
	busy, all rate
	rd, wr    rate
	rx, tx    rate
	cores     float64
}

func newHost(_ string, spec *lang.MetricsSource) (Source, error) {
	if spec.PID != 0 || spec.Process != "" || spec.Endpoint != "" {
		return nil, errors.New("the host source takes no endpoint, pid or process")
	}
	r, err := newRenamer(spec.Queries, hostMetrics)
	if err != nil {
		return nil, err
	}
	return &Host{names: r}, nil
}

// NewHostSource reads this machine with every built-in metric.
func NewHostSource() Source {
	r, _ := newRenamer(nil, hostMetrics)
	return &Host{names: r}
}

// Read implements Source.
func (h *Host) Read(ctx context.Context, _ time.Time) (map[string]Sample, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	at := time.Now()
	raw := map[string]Sample{}
	ts, err := cpu.TimesWithContext(ctx, false)
	if err != nil || len(ts) == 0 {
		return nil, fmt.Errorf("host cpu: %v", err)
	}
	t := ts[0]
	idle := t.Idle + t.Iowait
	total := t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
	if h.cores == 0 {
		n, err := cpu.CountsWithContext(ctx, true)
		if err != nil || n <= 0 {
			n = 1
		}
		h.cores = float64(n)
	}
	// Rates of jiffies-seconds: busy/all is the busy fraction of all cores.
	b, ok1 := h.busy.next(total-idle, at)
	a, ok2 := h.all.next(total, at)
	if ok1 && ok2 && a.Value > 0 {
		// Clamped: the two rates are each rounded a little differently.
		frac := min(1, max(0, b.Value/a.Value))
		raw[CPU] = Sample{Value: frac, At: at}
		raw[CPUCores] = Sample{Value: frac * h.cores, At: at}
	} else {
		raw[CPU], raw[CPUCores] = b, b
	}
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("host memory: %w", err)
	}
	raw[Memory] = Sample{Value: float64(vm.Used), At: at}
	raw[MemoryTotal] = Sample{Value: float64(vm.Total), At: at}
	raw[MemoryFraction] = Sample{Value: vm.UsedPercent / 100, At: at}
	if l, err := load.AvgWithContext(ctx); err == nil {
		raw[Load1] = Sample{Value: l.Load1, At: at}
	}
	if io, err := disk.IOCountersWithContext(ctx); err == nil {
		var rd, wr float64
		for _, d := range io {
			rd += float64(d.ReadBytes)
			wr += float64(d.WriteBytes)
		}
		ratePair(raw, at, &h.rd, &h.wr, rd, wr, DiskReadBytes, DiskWriteBytes, DiskIO)
	}
	if rx, tx, err := netDev(ctx, "/proc/net/dev"); err == nil {
		ratePair(raw, at, &h.rx, &h.tx, rx, tx, NetRxBytes, NetTxBytes, Network)
	}
	return h.names.apply(raw), nil
}
