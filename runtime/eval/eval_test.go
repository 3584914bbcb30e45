package eval

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/testbed"
)

// The testbed and the cpu-bound server run in their own processes (this
// test binary re-executed), so their figures are not mixed with the load
// generator's.
func TestMain(m *testing.M) {
	if addr := os.Getenv("SHAPEEVAL_CPUSRV"); addr != "" {
		rounds, _ := strconv.Atoi(os.Getenv("SHAPEEVAL_ROUNDS"))
		if err := serveCPU(addr, rounds); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if addr := os.Getenv("SHAPEEVAL_TESTBED"); addr != "" {
		capacity, _ := strconv.ParseFloat(os.Getenv("SHAPEEVAL_CAPACITY"), 64)
		tb, err := testbed.Start(testbed.Config{Addr: addr, Workers: 16, Capacity: capacity, Cost: 200 * time.Microsecond, Queue: 2000})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(tb.URL)
		time.Sleep(2 * time.Hour) // killed by the parent
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const (
	capacity = 300.0 // requests/s the testbed's worker pool sustains
	envCPU   = 0.8
	// The "cpu" the shapers see: the testbed's worker-pool utilisation
	// through Prometheus, a rate() over 5 s of a 1 s scrape, so it lags the
	// load by a few seconds.
	cpuQuery = `sum(rate(testbed_requests_total{code="200"}[5s])) / scalar(testbed_capacity_rps)`
	// cpuTolerance is how far over envCPU a second's utilisation may be
	// before it counts as above the envelope: the granularity of one
	// second's completions (or CPU ticks).
	cpuTolerance = 0.02
)

// TestShapingEval is `make eval`: the same plans against the testbed with
// no shaper, aimd, gradient and predictive_rate_limit, with the testbed's
// utilisation read through a real Prometheus. It prints the table the
// README quotes. It takes about 15 minutes.
func TestShapingEval(t *testing.T) {
	if os.Getenv("LOADSHAPER_EVAL") == "" {
		t.Skip("set LOADSHAPER_EVAL=1 (make eval): runs load for about 15 minutes")
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (apt-get install prometheus)")
	}
	tg := testbedTarget(t, promBin)
	scs, strategies := selection(tg, scenarios(capacity, testbedTimes), "")
	evalTarget(t, tg, scs, strategies)
}

// testbedTarget starts the testbed (capacity 300 req/s) in its own
// process and a Prometheus scraping it.
func testbedTarget(t *testing.T, promBin string) *target {
	tbAddr := freePort(t)
	tbURL := startTestbed(t, tbAddr)
	promAddr := freePort(t)
	startPrometheus(t, promBin, promAddr, map[string]string{"testbed": tbAddr}, "testbed_capacity_rps")
	var mu sync.Mutex
	capNow := capacity
	return &target{
		name: "tb", url: tbURL, path: "/work", capacity: capacity, timeout: 2 * time.Second,
		sources: []*lang.MetricsSource{{Kind: "prometheus", Endpoint: "http://" + promAddr, Timeout: 400 * time.Millisecond,
			Queries: map[string]string{"cpu": cpuQuery}}},
		envelope: []lang.Limit{{Metric: "cpu", Max: envCPU, Unit: "fraction"}},
		header:   fmt.Sprintf("envelope cpu %.1f; testbed capacity %.0f req/s; cpu = %s via Prometheus (1 s scrape)", envCPU, capacity, cpuQuery),
		cols:     []string{"worst utilisation"}, colFmt: []string{"%.2f"},
		settle: func(t *testing.T) {
			setCapacity(t, tbURL, capacity)
			mu.Lock()
			capNow = capacity
			mu.Unlock()
			waitIdle(t, tbURL)
			time.Sleep(6 * time.Second) // let the 5 s rate window forget the previous run
		},
		halve: func(t *testing.T) {
			setCapacity(t, tbURL, capacity/2)
			mu.Lock()
			capNow = capacity / 2
			mu.Unlock()
		},
		// The truth is the testbed's own count of requests its workers
		// served, read directly each tick (no Prometheus, no lag): its
		// utilisation is that rate over the capacity in force.
		truth: func(t *testing.T) func() truthTick {
			prevN, prevAt := servedCount(t, tbURL), time.Now()
			return func() truthTick {
				n, at := servedCount(t, tbURL), time.Now()
				mu.Lock()
				c := capNow
				mu.Unlock()
				var tt truthTick
				if dt := at.Sub(prevAt).Seconds(); dt > 0 {
					u := (n - prevN) / dt / c
					tt = truthTick{vals: []float64{u}, over: u > envCPU+cpuTolerance,
						trace: fmt.Sprintf("served %6.1f cap %3.0f utilisation %.2f", (n-prevN)/dt, c, u)}
				}
				prevN, prevAt = n, at
				return tt
			}
		},
	}
}

func setCapacity(t *testing.T, tbURL string, rps float64) {
	resp, err := http.Post(fmt.Sprintf("%s/admin/capacity?rps=%g", tbURL, rps), "text/plain", nil)
	if err != nil {
		t.Errorf("set capacity: %v", err)
		return
	}
	resp.Body.Close()
}

// waitIdle waits until the testbed's queue is empty.
func waitIdle(t *testing.T, tbURL string) {
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		resp, err := http.Get(tbURL + "/admin/state")
		if err != nil {
			continue
		}
		var st struct {
			Queue int64 `json:"queue"`
			Busy  int   `json:"busy"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if st.Queue == 0 && st.Busy == 0 {
			return
		}
	}
	t.Fatal("the testbed did not drain its queue in 60 s")
}

func startTestbed(t *testing.T, addr string) string {
	url, _ := reexec(t, "testbed", "SHAPEEVAL_TESTBED="+addr, fmt.Sprintf("SHAPEEVAL_CAPACITY=%g", capacity))
	return url
}

// reexec starts this test binary again as a target (TestMain reads env to
// know which), killed with the test; it returns the first line the child
// prints (its URL) and its pid.
func reexec(t *testing.T, what string, env ...string) (string, int) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return strings.TrimSpace(line), cmd.Process.Pid
}

// servedCount is the testbed's testbed_requests_total{code="200"}.
func servedCount(t *testing.T, tbURL string) float64 {
	resp, err := http.Get(tbURL + "/metrics")
	if err != nil {
		t.Errorf("testbed metrics: %v", err)
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, `testbed_requests_total{code="200"} `) {
			f, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, `testbed_requests_total{code="200"}`)), 64)
			return f
		}
	}
	return 0
}
