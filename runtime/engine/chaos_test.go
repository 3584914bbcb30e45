package engine

import (
	"math"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/loadshaper/loadshaper/stdlib"
)

// TestChaosAbort: a fifth of the requests are reset mid-request; the
// testbed sees them go, the others succeed, and the pool keeps working.
func TestChaosAbort(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  *lang.Request
	}{
		{"get", &lang.Request{Name: "get", Path: "/work"}},
		{"post", &lang.Request{Name: "post", Method: "POST", Path: "/work", Body: `{"id":"{{seq}}","pad":"0123456789abcdef0123456789abcdef"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := startTestbed(t, testbed.Config{Capacity: 20000, Workers: 32, Cost: time.Microsecond})
			ph := &lang.Phase{Duration: 2 * time.Second, Rate: stdlib.Constant(200), Chaos: []*lang.Chaos{
				{Kind: "abort", Duration: 2 * time.Second, Fraction: 0.2},
			}}
			s := mustRun(t, onePhase(tb.URL, 16, ph, tc.req), Options{})
			o := s.Overall
			total := o.Requests + o.Aborted
			if total < 360 || total > 440 {
				t.Fatalf("%d requests + %d aborted, want about 400", o.Requests, o.Aborted)
			}
			// Binomial(400, 0.2): sd 8; 5 sd either side.
			if frac := float64(o.Aborted) / float64(total); math.Abs(frac-0.2) > 0.1 {
				t.Fatalf("aborted %d of %d (%.2f), want about 0.2", o.Aborted, total, frac)
			}
			if o.Errors != 0 || o.Status["200"] != o.Requests {
				t.Fatalf("the other requests should succeed: errors %v status %v", o.ErrorsByClass, o.Status)
			}
			// The testbed notices a reset as soon as it reads the connection;
			// give it a moment for the last ones.
			deadline := time.Now().Add(2 * time.Second)
			for tb.ClientGone() < o.Aborted && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("%d requests, %d aborted, testbed saw %d go; pool: %d ok", o.Requests, o.Aborted, tb.ClientGone(), o.Status["200"])
			if g := tb.ClientGone(); g < o.Aborted*9/10 || g > o.Aborted {
				t.Fatalf("testbed saw %d clients go, loadshaper aborted %d", g, o.Aborted)
			}
		})
	}
}

// TestChaosSlowClient: the trickled requests take at least the trickle
// time, the others do not.
func TestChaosSlowClient(t *testing.T) {
	tb := startTestbed(t, testbed.Config{Capacity: 20000, Workers: 32, Cost: time.Microsecond})
	body := make([]byte, 200) // 4 chunks of 64 bytes: 4 pauses of 100 ms after the head
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	req := &lang.Request{Name: "post", Method: "POST", Path: "/work", Body: string(body)}
	ph := &lang.Phase{Duration: 2 * time.Second, Rate: stdlib.Constant(100), Chaos: []*lang.Chaos{
		{Kind: "slow_client", Duration: 2 * time.Second, Fraction: 0.3},
	}}
	p := onePhase(tb.URL, 64, ph, req)
	want := trickleTime(150, len(body), p.Targets[0].Timeout)
	if want != 400*time.Millisecond {
		t.Fatalf("trickle time of a 200-byte body: %v", want)
	}
	s := mustRun(t, p, Options{})
	o := s.Overall
	if o.Errors != 0 || o.Requests < 180 {
		t.Fatalf("requests %d, errors %v", o.Requests, o.ErrorsByClass)
	}
	if frac := float64(o.SlowClient) / float64(o.Requests); math.Abs(frac-0.3) > 0.12 {
		t.Fatalf("slow_client on %d of %d requests, want about 0.3", o.SlowClient, o.Requests)
	}
	t.Logf("%d requests, %d trickled; p50 %.1f ms p90 %.1f ms max %.1f ms", o.Requests, o.SlowClient, o.Latency.P50, o.Latency.P90, o.Latency.Max)
	// 30% trickle: the median request does not, the 90th percentile does.
	if p50 := o.Latency.P50; p50 >= float64(want/time.Millisecond)/2 {
		t.Fatalf("p50 %.1f ms: requests sent normally should not be slowed", p50)
	}
	if p90 := o.Latency.P90; p90 < float64(want/time.Millisecond) {
		t.Fatalf("p90 %.1f ms: trickled requests should take at least %v", p90, want)
	}
	if o.Latency.Max > float64(p.Targets[0].Timeout/time.Millisecond) {
		t.Fatalf("max %.0f ms beyond the timeout", o.Latency.Max)
	}
	if tb.ClientGone() != 0 {
		t.Fatalf("testbed saw %d clients go", tb.ClientGone())
	}
}

func TestTrickleBounded(t *testing.T) {
	for _, tc := range []struct {
		head, body int
		timeout    time.Duration
		want       time.Duration
	}{
		{150, 64, 10 * time.Second, 100 * time.Millisecond},
		{150, 65, 10 * time.Second, 200 * time.Millisecond},
		{150, 0, 10 * time.Second, 200 * time.Millisecond}, // 3 chunks of the head, 2 pauses
		{150, 1 << 20, 10 * time.Second, 5 * time.Second},  // capped at half the timeout
		{150, 0, time.Second, 200 * time.Millisecond},
		{150, 1 << 20, time.Second, 500 * time.Millisecond},
	} {
		if got := trickleTime(tc.head, tc.body, tc.timeout); got != tc.want {
			t.Errorf("trickleTime(%d, %d, %v) = %v, want %v", tc.head, tc.body, tc.timeout, got, tc.want)
		}
	}
}
