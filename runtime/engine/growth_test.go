package engine

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
)

// A closed-model phase under a growth intent runs users × growth from its
// At on. The test asserts on what the engine controls, not on throughput
// (which a busy 2-core machine bends: after/before once read 3.21): a
// target that holds every request 100 ms counts the requests in flight
// when each arrives. While the tick's instruction says 2 users there are
// never more than 2, over the whole run never more than 4, and once it
// says 4 there are 4 at once.
func TestGrowthDoublesClosedModelUsers(t *testing.T) {
	var mu sync.Mutex
	var arrivals []arrival
	inFlight := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		arrivals = append(arrivals, arrival{time.Now(), inFlight})
		mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
	}))
	defer srv.Close()
	p := onePhase(srv.URL, 2, &lang.Phase{Duration: 3 * time.Second, Concurrency: 2, ThinkTime: 20 * time.Millisecond})
	p.Intents = []*lang.Intent{{Name: "sale", Kind: "growth", At: 1500 * time.Millisecond, Growth: 2}}
	var ticks []*TickStats
	start := time.Now()
	s := mustRun(t, p, Options{OnTick: []func(*TickStats){func(ts *TickStats) { c := *ts; ticks = append(ticks, &c) }}})
	mu.Lock()
	defer mu.Unlock()
	// The users the instruction of the tick an arrival fell in asked for:
	// a tick's instruction is applied after the previous tick ended.
	usersAt := func(at time.Time) int {
		for _, ts := range ticks {
			if !at.After(ts.At) {
				return ts.Instruction.Concurrency
			}
		}
		return 0
	}
	peak := map[int]int{} // users asked for -> most requests in flight seen
	for _, a := range arrivals {
		u := usersAt(a.at)
		peak[u] = max(peak[u], a.inFlight)
	}
	var grownAt time.Duration
	for i, ts := range ticks {
		if ts.Instruction.Concurrency == 4 && grownAt == 0 {
			grownAt = ts.At.Sub(start)
		}
		if c := ts.Instruction.Concurrency; c != 2 && c != 4 {
			t.Errorf("at %.2fs: %d users, want 2 or 4", ts.Elapsed.Seconds(), c)
		}
		// A tick's instruction is built after the previous tick ended.
		if i > 0 && ts.Instruction.Concurrency == 2 && ticks[i-1].Elapsed >= 1500*time.Millisecond {
			t.Errorf("at %.2fs: still 2 users, the growth is at 1.5s", ts.Elapsed.Seconds())
		}
	}
	t.Logf("%d requests; most in flight with 2 users %d, with 4 users %d; 4 users from %v", len(arrivals), peak[2], peak[4], grownAt)
	if peak[2] != 2 || peak[4] != 4 {
		t.Errorf("most requests in flight: %d with 2 users (want 2), %d with 4 users (want 4)", peak[2], peak[4])
	}
	for _, a := range arrivals {
		if a.inFlight > 4 {
			t.Fatalf("%d requests in flight at once; the phase has at most 4 users", a.inFlight)
		}
	}
	if len(s.Phases[0].Growth) != 1 {
		t.Errorf("growth notes %q", s.Phases[0].Growth)
	}
	var html strings.Builder
	if err := s.WriteHTML(&html); err != nil || !strings.Contains(html.String(), "growth &#34;sale&#34; ×2 in force from") {
		t.Errorf("the HTML summary does not name the growth (err %v)", err)
	}
}

// arrival is one request as the holding target saw it.
type arrival struct {
	at       time.Time
	inFlight int // requests in flight, this one included
}
