package engine

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

func tickLine(ts *TickStats) string {
	target := ""
	if ts.Instruction.Concurrency > 0 {
		target = fmt.Sprintf("users %d", ts.Instruction.Concurrency)
	} else {
		target = fmt.Sprintf("target %.0f/s", ts.Instruction.Rate)
	}
	line := fmt.Sprintf("%s %5.1f/s  p50 %s  p99 %s  err %.2f%%  late %d  inflight %d", target, ts.Throughput,
		ms(ts.Latency.P50), ms(ts.Latency.P99), ts.ErrorRate*100, ts.Late, ts.InFlight)
	line += journeyTick(&ts.Stats)
	if ts.Instruction.Growth != "" {
		line += "  [" + ts.Instruction.Growth + "]"
	}
	if ts.Instruction.SafeMode != "" {
		line += "  [" + ts.Instruction.SafeMode + "]"
	}
	return line + shapingLine(ts.Shaping)
}

// LineProgress writes one plain line per tick, for logs and pipes.
type LineProgress struct{ W io.Writer }

// PhaseStart implements Progress.
func (p LineProgress) PhaseStart(i int, ph *lang.Phase) {
	fmt.Fprintf(p.W, "phase %d %s: %s\n", i+1, ph.Name, ph.Duration)
}

// Tick implements Progress.
func (p LineProgress) Tick(ts *TickStats) {
	fmt.Fprintf(p.W, "[%6.1fs] %-10s %s\n", ts.Elapsed.Seconds(), ts.Phase, tickLine(ts))
}

// PhaseEnd implements Progress.
func (p LineProgress) PhaseEnd(int, *lang.Phase, *PhaseSummary) {}

// Close implements Progress.
func (p LineProgress) Close() {}

// BarProgress draws a bar per phase on a terminal, with the last tick's
// rate, p99 and errors beside it.
type BarProgress struct {
	p   *mpb.Progress
	cur *phaseBar
}

// phaseBar is one phase's bar and the text beside it, which the render
// goroutine reads while the control loop writes it.
type phaseBar struct {
	bar   *mpb.Bar
	total time.Duration
	mu    sync.Mutex
	line  string
}

func (b *phaseBar) set(line string) {
	b.mu.Lock()
	b.line = line
	b.mu.Unlock()
}

func (b *phaseBar) get() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.line
}

// NewBarProgress draws on w, which should be a terminal.
func NewBarProgress(w io.Writer) *BarProgress {
	return &BarProgress{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(24), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh())}
}

// PhaseStart implements Progress.
func (b *BarProgress) PhaseStart(_ int, ph *lang.Phase) {
	pb := &phaseBar{total: ph.Duration, line: "starting"}
	pb.bar = b.p.AddBar(max(ph.Duration.Milliseconds(), 1),
		mpb.PrependDecorators(decor.Name(fmt.Sprintf("%-10s", ph.Name))),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return pb.get() })))
	b.cur = pb
}

// Tick implements Progress.
func (b *BarProgress) Tick(ts *TickStats) {
	if pb := b.cur; pb != nil {
		pb.set(fmt.Sprintf("%4.0fs %s", ts.PhaseElapsed.Seconds(), tickLine(ts)))
		pb.bar.SetCurrent(min(ts.PhaseElapsed.Milliseconds(), pb.total.Milliseconds()))
	}
}

// PhaseEnd implements Progress.
func (b *BarProgress) PhaseEnd(_ int, _ *lang.Phase, s *PhaseSummary) {
	if pb := b.cur; pb != nil {
		pb.set(fmt.Sprintf("%d requests %.1f/s p99 %s errors %d", s.Requests, s.Throughput, ms(s.Latency.P99), s.Errors))
		pb.bar.SetTotal(-1, true)
	}
}

// Close implements Progress.
func (b *BarProgress) Close() { b.p.Wait() }
