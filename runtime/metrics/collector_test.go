package metrics

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// flaky is a source whose behaviour the test switches: healthy, failing,
// or hanging until its deadline.
type flaky struct {
	mode  atomic.Int32 // 0 ok, 1 error, 2 hang
	calls atomic.Int32
	value float64
}

func (f *flaky) Read(ctx context.Context, now time.Time) (map[string]Sample, error) {
	f.calls.Add(1)
	switch f.mode.Load() {
	case 1:
		return nil, errors.New("connection refused")
	case 2:
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return map[string]Sample{"cpu": {Value: f.value, At: now}}, nil
}

func TestCollectorStaleSafeModeAndRecovery(t *testing.T) {
	src := &flaky{value: 0.5}
	client := NewClientSource()
	c := &Collector{BackoffBase: 2 * time.Second, BackoffMax: 8 * time.Second}
	c.Add(Spec{Target: "api", Name: "prometheus", Source: src, Timeout: 50 * time.Millisecond, OnStale: OnStaleLower, Metrics: []string{"cpu"}})
	c.Add(Spec{Target: "api", Name: "client", Source: client})
	need := []string{"cpu", LatencyP99}
	ctx := context.Background()

	tick := func(i int) (Snapshot, Verdict) {
		now := t0.Add(time.Duration(i) * time.Second)
		client.Update(now, ClientFigures{Throughput: 100, P99: 0.2, Requests: 100})
		s := c.Read(ctx, now)
		return s, c.SafeMode(s, "api", need)
	}

	s, v := tick(0)
	if got, _ := s.Get("api", "cpu"); got.Stale || got.Value != 0.5 || v.Action != "" {
		t.Fatalf("healthy tick: cpu %+v, verdict %+v", got, v)
	}

	// The source hangs: the read times out, cpu goes stale (keeping the
	// last value), the verdict follows on_stale = lower.
	src.mode.Store(2)
	s, v = tick(1)
	got, _ := s.Get("api", "cpu")
	if !got.Stale || got.Value != 0.5 || !strings.Contains(got.Reason, "timed out") {
		t.Fatalf("after timeout cpu = %+v", got)
	}
	if v.Action != OnStaleLower || len(v.Stale) != 1 || v.Stale[0] != "cpu" || !strings.Contains(v.Reason, "lowering the rate") {
		t.Fatalf("verdict = %+v", v)
	}
	if h := s.Health[0]; h.OK || h.Failures != 1 || !h.NextRetry.Equal(t0.Add(3*time.Second)) || len(h.Stale) != 1 {
		t.Fatalf("health after timeout = %+v", h)
	}
	if fresh, stale := s.Flat(); len(stale) != 1 || stale[0] != "api/cpu" || fresh["api/latency_p99"] != 0.2 {
		t.Fatalf("flat = %v %v", fresh, stale)
	}

	// Backing off: tick 2 does not call the source at all.
	src.mode.Store(1)
	calls := src.calls.Load()
	_, v = tick(2)
	if src.calls.Load() != calls || v.Action != OnStaleLower {
		t.Fatalf("source called during backoff (calls %d -> %d), verdict %+v", calls, src.calls.Load(), v)
	}
	// Tick 3: retried, fails again; the next wait doubles to 4 s.
	s, _ = tick(3)
	if h := s.Health[0]; h.Failures != 2 || !h.NextRetry.Equal(t0.Add(7*time.Second)) || h.Err != "connection refused" {
		t.Fatalf("health after second failure = %+v", h)
	}
	// The source heals, but is not asked again before its retry time.
	src.mode.Store(0)
	src.value = 0.7
	if _, v = tick(6); v.Action != OnStaleLower {
		t.Fatalf("recovered before retry time: %+v", v)
	}
	s, v = tick(7)
	if got, _ := s.Get("api", "cpu"); got.Stale || got.Value != 0.7 || v.Action != "" || !s.Health[0].OK || s.Health[0].Errors != 2 {
		t.Fatalf("after recovery cpu = %+v, verdict %+v, health %+v", got, v, s.Health[0])
	}
}

func TestSafeModePrecedence(t *testing.T) {
	for _, c := range []struct {
		in   []MetricState
		want string
	}{
		{nil, ""},
		{[]MetricState{{Name: "cpu", Stale: false}}, ""},
		{[]MetricState{{Name: "cpu", Stale: true, OnStale: OnStaleIgnore}}, ""},
		{[]MetricState{{Name: "cpu", Stale: true}}, OnStaleLower}, // the default: blind, back off
		{[]MetricState{{Name: "cpu", Stale: true, OnStale: OnStaleHold}, {Name: "mem", Stale: true, OnStale: OnStaleLower}}, OnStaleLower},
		{[]MetricState{{Name: "cpu", Stale: true, OnStale: OnStaleIgnore}, {Name: "mem", Stale: true, OnStale: OnStaleHold}}, OnStaleHold},
	} {
		if v := SafeMode(c.in); v.Action != c.want {
			t.Errorf("SafeMode(%+v) = %+v, want %q", c.in, v, c.want)
		}
	}
	// An envelope metric no source provides is stale, and held.
	c := &Collector{}
	if v := c.SafeMode(Snapshot{}, "api", []string{"memory"}); v.Action != OnStaleHold || !strings.Contains(v.Reason, "no source provides it") {
		t.Errorf("missing metric verdict = %+v", v)
	}
}

// A source that ignores its deadline cannot stall the tick, and is not
// called again while the stuck call is still running.
func TestCollectorStuckSource(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	stuck := SourceFunc(func(ctx context.Context, now time.Time) (map[string]Sample, error) {
		calls.Add(1)
		<-release
		return map[string]Sample{"x": {Value: 1}}, nil
	})
	c := &Collector{BackoffBase: time.Millisecond}
	c.Add(Spec{Target: "t", Source: stuck, Timeout: 20 * time.Millisecond, Metrics: []string{"x"}})
	s := c.Read(context.Background(), t0)
	if x, _ := s.Get("t", "x"); !x.Stale {
		t.Fatalf("stuck source not stale: %+v", x)
	}
	s = c.Read(context.Background(), t0.Add(time.Second))
	if x, _ := s.Get("t", "x"); !x.Stale || !strings.Contains(x.Reason, "still running") || calls.Load() != 1 {
		t.Fatalf("second read: %+v, calls %d", x, calls.Load())
	}
	close(release)
}

func TestClientSource(t *testing.T) {
	c := NewClientSource()
	m, _ := c.Read(context.Background(), t0)
	if !m[Throughput].Stale {
		t.Error("figures before any Update are not stale")
	}
	c.Update(t0, ClientFigures{Throughput: 250, ErrorRate: 0.01, InFlight: 3, P99: 0.120, Requests: 250})
	m, _ = c.Read(context.Background(), t0.Add(time.Second))
	if m[Throughput].Value != 250 || m[LatencyP99].Value != 0.120 || m[LatencyP99].Stale || m[InFlight].Value != 3 {
		t.Errorf("figures = %+v", m)
	}
	c.Update(t0, ClientFigures{Throughput: 0, InFlight: 50})
	m, _ = c.Read(context.Background(), t0)
	if !m[LatencyP99].Stale || m[Throughput].Stale {
		t.Errorf("a tick without completions: %+v", m)
	}
	m, _ = c.Read(context.Background(), t0.Add(10*time.Second))
	if !m[Throughput].Stale || !strings.Contains(m[Throughput].Reason, "old") {
		t.Errorf("old figures: %+v", m[Throughput])
	}
}

func TestClientSourceCheckFailureRate(t *testing.T) {
	c := NewClientSource()
	c.Update(t0, ClientFigures{Throughput: 100, Requests: 100})
	if m, _ := c.Read(context.Background(), t0); m[CheckFailureRate] != (Sample{}) {
		t.Errorf("a plan without checks has a check_failure_rate: %+v", m[CheckFailureRate])
	}
	c.Update(t0, ClientFigures{Throughput: 100, Requests: 100, CheckFailureRate: 0.25, HasChecks: true})
	if m, _ := c.Read(context.Background(), t0); m[CheckFailureRate].Value != 0.25 || m[CheckFailureRate].Stale {
		t.Errorf("check_failure_rate = %+v", m[CheckFailureRate])
	}
	c.Update(t0, ClientFigures{HasChecks: true})
	if m, _ := c.Read(context.Background(), t0); !m[CheckFailureRate].Stale {
		t.Errorf("a tick without completions: %+v", m[CheckFailureRate])
	}
}
