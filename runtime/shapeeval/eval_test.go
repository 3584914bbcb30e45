package shapeeval

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/control"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/loadshaper/loadshaper/stdlib"
)

// The testbed runs in its own process (this test binary re-executed), so
// its figures are not mixed with the load generator's.
func TestMain(m *testing.M) {
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
)

type scenario struct {
	name    string
	phases  []*lang.Phase
	halveAt time.Duration // 0 = never
}

func scenarios() []scenario {
	return []scenario{
		{name: "slow ramp", phases: []*lang.Phase{{Name: "ramp", Duration: 90 * time.Second, Rate: stdlib.Ramp{From: 0.1 * capacity, To: 2 * capacity}}}},
		{name: "fast ramp + hold", phases: []*lang.Phase{
			{Name: "ramp", Duration: 20 * time.Second, Rate: stdlib.Ramp{From: 0.1 * capacity, To: 1.5 * capacity}},
			{Name: "hold", Start: 20 * time.Second, Duration: 40 * time.Second, Rate: stdlib.Constant(1.5 * capacity)}}},
		{name: "capacity halves", halveAt: 30 * time.Second, phases: []*lang.Phase{
			{Name: "ramp", Duration: 15 * time.Second, Rate: stdlib.Ramp{From: 0.1 * capacity, To: 0.9 * capacity}},
			{Name: "hold", Start: 15 * time.Second, Duration: 45 * time.Second, Rate: stdlib.Constant(0.9 * capacity)}}},
	}
}

type result struct {
	scenario, strategy string
	secondsOver        int
	worst              float64
	served             float64
	p99ms              float64
	recoverS           float64 // capacity halves: seconds from the halving to the last tick over the envelope; -1 = n/a
}

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
	tbAddr := freePort(t)
	tbURL := startTestbed(t, tbAddr)
	promAddr := freePort(t)
	startPrometheus(t, promBin, promAddr, tbAddr)

	var results []result
	strategies := []string{"none", "aimd", "gradient", "predictive_rate_limit"}
	if s := os.Getenv("LOADSHAPER_EVAL_STRATEGIES"); s != "" {
		strategies = strings.Split(s, ",")
	}
	only := os.Getenv("LOADSHAPER_EVAL_SCENARIOS")
	for _, sc := range scenarios() {
		if only != "" && !matchesAny(sc.name, strings.Split(only, ",")) {
			continue
		}
		for _, st := range strategies {
			r := runOne(t, sc, st, tbURL, promAddr)
			t.Logf("%s / %s: %d s over, worst %.2f, served %.0f, p99 %.0f ms, recover %.0f s", r.scenario, r.strategy, r.secondsOver, r.worst, r.served, r.p99ms, r.recoverS)
			results = append(results, r)
		}
	}
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "plan\tstrategy\ts above envelope\tworst utilisation\trequests served\tp99 ms\trecovered after (s)\t")
	for _, r := range results {
		rec := "—"
		if r.recoverS >= 0 {
			rec = fmt.Sprintf("%.0f", r.recoverS)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%.0f\t%.0f\t%s\t\n", r.scenario, r.strategy, r.secondsOver, r.worst, r.served, r.p99ms, rec)
	}
	tw.Flush()
	fmt.Printf("\nenvelope cpu %.1f; testbed capacity %.0f req/s; cpu = %s via Prometheus (1 s scrape)\n\n%s", envCPU, capacity, cpuQuery, b.String())
	verdicts(results)
}

// verdicts prints the targets against the results.
func verdicts(rs []result) {
	by := map[string]map[string]result{}
	for _, r := range rs {
		if by[r.scenario] == nil {
			by[r.scenario] = map[string]result{}
		}
		by[r.scenario][r.strategy] = r
	}
	for _, sc := range scenarios() {
		m := by[sc.name]
		p, ok := m["predictive_rate_limit"]
		if !ok {
			continue
		}
		best, bestName := result{secondsOver: math.MaxInt}, ""
		for _, s := range []string{"aimd", "gradient"} {
			if r, ok := m[s]; ok && (r.secondsOver < best.secondsOver || (r.secondsOver == best.secondsOver && r.served > best.served)) {
				best, bestName = r, s
			}
		}
		if bestName == "" {
			continue
		}
		half := float64(p.secondsOver) <= 0.5*float64(best.secondsOver)
		more := p.served >= best.served
		fmt.Printf("%s: predictive %d s above vs best reactive (%s) %d s: %s; served %.0f vs %.0f: %s",
			sc.name, p.secondsOver, bestName, best.secondsOver, yes(half, "at most half", "NOT at most half"), p.served, best.served, yes(more, "at least as many", "FEWER"))
		if sc.halveAt > 0 {
			fmt.Printf("; back inside the envelope %.0f s after the halving (target 10 s): %s", p.recoverS, yes(p.recoverS <= 10, "met", "NOT met"))
		}
		fmt.Println()
	}
}

func yes(ok bool, a, b string) string {
	if ok {
		return a
	}
	return b
}

func runOne(t *testing.T, sc scenario, strategy, tbURL, promAddr string) result {
	t.Helper()
	setCapacity(t, tbURL, capacity)
	waitIdle(t, tbURL)
	time.Sleep(6 * time.Second) // let the 5 s rate window forget the previous run

	plan := &lang.Plan{
		Name:     "eval",
		Settings: lang.Settings{Tick: time.Second, Seed: 1},
		Targets: []*lang.Target{{Name: "tb", URL: tbURL, Timeout: 2 * time.Second, KeepAlive: true, MaxConnections: 2000,
			Metrics: []*lang.MetricsSource{{Kind: "prometheus", Endpoint: "http://" + promAddr, Timeout: 400 * time.Millisecond,
				Queries: map[string]string{"cpu": cpuQuery}}}}},
		Envelopes: []*lang.Envelope{{Name: "safe", Limits: []lang.Limit{{Metric: "cpu", Max: envCPU, Unit: "fraction"}}}},
		Requests:  []*lang.Request{{Name: "work", Target: "tb", Method: "GET", Path: "/work", Weight: 1, Priority: "normal"}},
	}
	for _, ph := range sc.phases {
		p := *ph
		p.Arrival = "uniform"
		if strategy != "none" {
			p.Shapers = []string{"guard"}
		}
		plan.Phases = append(plan.Phases, &p)
	}
	if strategy != "none" {
		plan.Shapers = []*lang.Shaper{{Name: "guard", Strategy: strategy, Envelope: "safe"}}
	}
	loop, err := control.New(plan, control.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()

	type tick struct {
		at          time.Duration
		served, cap float64
	}
	var mu sync.Mutex
	var ticks []tick
	var capNow = capacity
	if sc.halveAt > 0 {
		timer := time.AfterFunc(sc.halveAt, func() {
			setCapacity(t, tbURL, capacity/2)
			mu.Lock()
			capNow = capacity / 2
			mu.Unlock()
		})
		defer timer.Stop()
	}
	// The truth is the testbed's own count of requests its workers served,
	// read directly each tick (no Prometheus, no lag): its utilisation is
	// that rate over the capacity in force.
	prevN, prevAt := servedCount(t, tbURL), time.Now()
	observe := func(ts *engine.TickStats) {
		n, at := servedCount(t, tbURL), time.Now()
		mu.Lock()
		defer mu.Unlock()
		if dt := at.Sub(prevAt).Seconds(); dt > 0 {
			ticks = append(ticks, tick{at: ts.Elapsed, served: (n - prevN) / dt, cap: capNow})
			if os.Getenv("LOADSHAPER_EVAL_TRACE") != "" {
				t.Logf("%5.1fs rate %6.1f served %6.1f cap %3.0f utilisation %.2f", ts.Elapsed.Seconds(), ts.Instruction.Rate, (n-prevN)/dt, capNow, (n-prevN)/dt/capNow)
			}
		}
		prevN, prevAt = n, at
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sum, err := engine.Run(ctx, plan, engine.Options{Controller: loop, OnTick: []func(*engine.TickStats){loop.OnTick, observe}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := result{scenario: sc.name, strategy: strategy, recoverS: -1, p99ms: sum.Overall.Latency.P99}
	lastOver := time.Duration(-1)
	for _, tk := range ticks {
		u := tk.served / tk.cap
		r.worst = math.Max(r.worst, u)
		if u > envCPU+0.02 { // 2% for the granularity of one second's completions
			r.secondsOver++
			lastOver = tk.at
		}
	}
	r.served = float64(sum.Overall.Requests - sum.Overall.Errors)
	if sc.halveAt > 0 {
		r.recoverS = 0
		if lastOver > sc.halveAt {
			r.recoverS = (lastOver - sc.halveAt).Seconds()
		}
	}
	var rep bytes.Buffer
	control.WriteReport(&rep, loop.Report())
	t.Logf("%s / %s:%s", sc.name, strategy, rep.String())
	return r
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

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startTestbed(t *testing.T, addr string) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SHAPEEVAL_TESTBED="+addr, fmt.Sprintf("SHAPEEVAL_CAPACITY=%g", capacity))
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
		t.Fatalf("testbed: %v", err)
	}
	return strings.TrimSpace(line)
}

func startPrometheus(t *testing.T, bin, addr, tbAddr string) {
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: testbed\n    static_configs: [{targets: [%q]}]\n", tbAddr)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(end) {
			t.Fatalf("prometheus not ready in 30 s:\n%s", log.String())
		}
	}
	// Wait for the first scrapes, so capacity is known.
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/api/v1/query?query=testbed_capacity_rps")
		if err == nil {
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if strings.Contains(body.String(), `"result":[{`) {
				return
			}
		}
		if time.Now().After(end) {
			t.Fatalf("prometheus has not scraped the testbed in 30 s:\n%s", log.String())
		}
	}
}

func matchesAny(name string, parts []string) bool {
	for _, p := range parts {
		if strings.Contains(name, strings.TrimSpace(p)) {
			return true
		}
	}
	return false
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
