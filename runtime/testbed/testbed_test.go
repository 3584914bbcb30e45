package testbed

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, method, url string) (int, string, time.Duration) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start)
}

func TestTestbed(t *testing.T) {
	if _, err := Start(Config{Addr: "0.0.0.0:0"}); err == nil {
		t.Fatal("listening beyond loopback was allowed")
	}
	s, err := Start(Config{Workers: 2, Capacity: 100, Cost: time.Millisecond, Memory: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// 2 workers at 100/s: each request holds a worker 20 ms.
	code, body, d := get(t, "GET", s.URL+"/anything")
	if code != 200 || body != "ok\n" || d < 20*time.Millisecond {
		t.Fatalf("work: %d %q in %v", code, body, d)
	}
	if code, body, _ := get(t, "POST", s.URL+"/admin/capacity?factor=0.5"); code != 200 || s.Capacity() != 50 {
		t.Fatalf("capacity change: %d %q, capacity %v", code, body, s.Capacity())
	}
	if _, _, d := get(t, "GET", s.URL+"/x"); d < 40*time.Millisecond {
		t.Fatalf("after halving capacity a request took %v, want >= 40ms", d)
	}
	if code, _, _ := get(t, "POST", s.URL+"/admin/capacity?rps=-1"); code != 400 {
		t.Fatalf("bad capacity accepted: %d", code)
	}
	if code, _, _ := get(t, "POST", s.URL+"/admin/stall?d=300ms"); code != 200 {
		t.Fatalf("stall: %d", code)
	}
	if _, _, d := get(t, "GET", s.URL+"/x"); d < 250*time.Millisecond {
		t.Fatalf("request during a 300ms stall took %v", d)
	}
	if code, _, _ := get(t, "POST", s.URL+"/admin/stall?d=forever"); code != 400 {
		t.Fatalf("bad stall accepted: %d", code)
	}
	_, m, _ := get(t, "GET", s.URL+"/metrics")
	for _, want := range []string{"process_cpu_seconds_total", "process_resident_memory_bytes", `testbed_requests_total{code="200"} 3`,
		"testbed_capacity_rps 50", "testbed_request_duration_seconds_bucket"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	_, st, _ := get(t, "GET", s.URL+"/admin/state")
	if !strings.Contains(st, `"capacity_rps":50`) {
		t.Errorf("state %s", st)
	}
}

func TestQueueLimit(t *testing.T) {
	s, err := Start(Config{Workers: 1, Capacity: 2, Queue: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// One request in service for 500ms, one queued; a third is refused.
	done := make(chan int, 2)
	for i := 0; i < 2; i++ {
		go func() {
			resp, err := http.Get(s.URL + "/")
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
	}
	time.Sleep(100 * time.Millisecond)
	if code, _, _ := get(t, "GET", s.URL+"/"); code != 503 {
		t.Fatalf("over the queue limit: %d, want 503", code)
	}
	for i := 0; i < 2; i++ {
		if c := <-done; c != 200 {
			t.Errorf("admitted request: %d", c)
		}
	}
}

// The utilisation counter grows by each request's worker time over the pool
// size, so 50 sequential requests on 4 workers at 200 req/s (20 ms each)
// add 50 × 0.02 / 4 = 0.25 s.
func TestUtilizationCounter(t *testing.T) {
	s, err := Start(Config{Workers: 4, Capacity: 200, Cost: 100 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 50; i++ {
		get(t, "GET", s.URL+"/x")
	}
	_, m, _ := get(t, "GET", s.URL+"/metrics")
	var v float64
	for _, line := range strings.Split(m, "\n") {
		if strings.HasPrefix(line, "testbed_utilization_seconds_total ") {
			if _, err := fmt.Sscan(strings.TrimPrefix(line, "testbed_utilization_seconds_total "), &v); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Sleeps overshoot, never undershoot: allow 0.25 s up to +40%.
	if v < 0.25 || v > 0.35 {
		t.Fatalf("testbed_utilization_seconds_total = %v after 50 requests of 20 ms on 4 workers, want 0.25..0.35", v)
	}
}
