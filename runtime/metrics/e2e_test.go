package metrics_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime"
	"github.com/loadshaper/loadshaper/runtime/history"
	. "github.com/loadshaper/loadshaper/runtime/metrics"
	"github.com/loadshaper/loadshaper/runtime/testbed"
)

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func findBinary(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// startDaemon runs a binary until the test ends, keeping its output for
// failure messages.
func startDaemon(t *testing.T, bin string, args ...string) *bytes.Buffer {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return &out
}

func waitHTTP(t *testing.T, url string, deadline time.Duration, log *bytes.Buffer) {
	t.Helper()
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready after %s; its output:\n%s", url, deadline, log.String())
}

// TestPrometheusAgreesWithProcess runs Debian's prometheus and
// prometheus-node-exporter on loopback ports, scraping the bundled testbed
// (in this process) every second while the testbed is loaded, and checks:
//   - the testbed's CPU read through PromQL,
//     rate(process_cpu_seconds_total[5s]), agrees with the process source's
//     cpu_cores over the same five seconds, within 20% or 0.05 cores;
//   - node_exporter's MemTotal read through Prometheus and through a direct
//     scrape equals the host source's memory_total exactly;
//   - the readings of every tick are recorded in a history file and read
//     back as series.
func TestPrometheusAgreesWithProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end with real Prometheus takes ~15 s; skipped with -short")
	}
	promBin := findBinary("prometheus")
	nodeBin := findBinary("prometheus-node-exporter", "node_exporter")
	if promBin == "" || nodeBin == "" {
		t.Skip("prometheus and prometheus-node-exporter are not installed (apt-get install prometheus prometheus-node-exporter; .ci/run installs them)")
	}

	tb, err := testbed.Start(testbed.Config{Cost: time.Millisecond, Workers: 4, Capacity: 4000})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()

	nodeAddr, promAddr := freePort(t), freePort(t)
	nodeLog := startDaemon(t, nodeBin, "--web.listen-address="+nodeAddr,
		"--collector.disable-defaults", "--collector.meminfo")

	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: testbed
    static_configs: [{targets: [%q]}]
  - job_name: node
    static_configs: [{targets: [%q]}]
`, tb.Addr, nodeAddr)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	promLog := startDaemon(t, promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr, "--log.level=warn")
	waitHTTP(t, "http://"+nodeAddr+"/metrics", 10*time.Second, nodeLog)
	waitHTTP(t, "http://"+promAddr+"/-/ready", 20*time.Second, promLog)

	// Load the testbed: four closed-loop clients, bounded in time.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var sent atomic.Int64
	client := &http.Client{Timeout: 2 * time.Second}
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tb.URL+"/work", nil)
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
					sent.Add(1)
				}
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()

	plan := &lang.Plan{Targets: []*lang.Target{{Name: "testbed", Metrics: []*lang.MetricsSource{
		{Kind: "prometheus", Endpoint: "http://" + promAddr, Timeout: 2 * time.Second, Queries: map[string]string{
			"cpu":       `rate(process_cpu_seconds_total{job="testbed"}[5s])`,
			"mem_total": `node_memory_MemTotal_bytes{job="node"}`,
		}},
		{Kind: "scrape", Endpoint: "http://" + nodeAddr + "/metrics", Queries: map[string]string{"node_mem_total": "node_memory_MemTotal_bytes"}},
		{Kind: "host", Queries: map[string]string{"host_mem_total": "memory_total"}},
		{Kind: "process", PID: os.Getpid(), Queries: map[string]string{"process_cpu": "cpu_cores"}},
	}}}}
	coll, err := NewCollector(plan)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()

	store, err := history.Open(filepath.Join(dir, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rec, err := store.Begin(history.Run{Plan: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	record := func(n int, s Snapshot) {
		fresh, stale := s.Flat()
		if err := rec.Record(history.Tick{N: n, At: s.At, Metrics: fresh, Stale: stale}); err != nil {
			t.Fatal(err)
		}
	}

	// Let Prometheus gather more than the 5 s window, then tick every
	// second for five ticks, and once more after five seconds: the last
	// tick's process reading covers the same 5 s window as PromQL's rate.
	probe, err := New("testbed", plan.Targets[0].Metrics[0])
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(20 * time.Second); ; {
		m, err := probe.Read(ctx, time.Now())
		if err == nil && !m["cpu"].Stale {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("Prometheus has no CPU rate for the testbed after 20 s: %v %+v\n%s", err, m, promLog.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	var last Snapshot
	for i := 0; i <= 5; i++ {
		if i > 0 {
			time.Sleep(time.Second)
		}
		last = coll.Read(ctx, time.Now())
		if s, _ := last.Get("testbed", "cpu"); s.Stale {
			t.Logf("tick %d: cpu stale: %s", i, s.Reason)
		}
		record(i, last)
	}
	time.Sleep(5 * time.Second)
	last = coll.Read(ctx, time.Now())
	record(6, last)
	if err := rec.Finish("completed", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, h := range last.Health {
		if !h.OK {
			t.Errorf("source %s unhealthy: %s", h.Source, h.Err)
		}
	}

	prom, _ := last.Get("testbed", "cpu")
	proc, _ := last.Get("testbed", "process_cpu")
	t.Logf("testbed CPU over 5 s: PromQL %.3f cores, process source %.3f cores (%d requests served)", prom.Value, proc.Value, sent.Load())
	if prom.Stale || proc.Stale {
		t.Fatalf("stale readings: prometheus %+v, process %+v", prom, proc)
	}
	if proc.Value < 0.05 {
		t.Fatalf("the testbed hardly used any CPU (%.3f cores): the load did not run", proc.Value)
	}
	if diff := math.Abs(prom.Value - proc.Value); diff > math.Max(0.05, 0.2*proc.Value) {
		t.Errorf("PromQL says %.3f cores, the process source %.3f: they differ by %.3f, more than 20%%", prom.Value, proc.Value, diff)
	}

	memProm, _ := last.Get("testbed", "mem_total")
	memScrape, _ := last.Get("testbed", "node_mem_total")
	memHost, _ := last.Get("testbed", "host_mem_total")
	if memProm.Value != memHost.Value || memScrape.Value != memHost.Value || memHost.Value == 0 {
		t.Errorf("MemTotal: prometheus %v, scrape %v, host %v", memProm.Value, memScrape.Value, memHost.Value)
	}

	pts, err := store.Series(rec.Run().ID, "testbed", "cpu", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 7 || pts[6].Value != prom.Value {
		t.Errorf("history has %d cpu points (want 7), last %v", len(pts), pts)
	}
	cancel()
	wg.Wait()
	store.Close()

	runPlans(t, tb.URL, promAddr, filepath.Join(dir, "runs.db"))
}

// runPlans runs a plan against the testbed twice, as `loadshaper run` does
// (engine, control loop, history session), at two rates, and checks that
// history holds both runs with Prometheus' readings and that show, diff
// and export work on them.
func runPlans(t *testing.T, url, promAddr, histPath string) {
	dir := t.TempDir()
	planFile := filepath.Join(dir, "e2e.lshcl")
	plan := fmt.Sprintf(`variable "rate" {
  type    = number
  default = 100
}
target "testbed" {
  url = %q
  metrics "prometheus" {
    endpoint = "http://%s"
    prom_cpu = "rate(process_cpu_seconds_total{job=\"testbed\"}[5s])"
  }
  metrics "process" {
    pid = %d
  }
}
request "work" {
  target = target.testbed
  path   = "/work"
}
phase "steady" {
  duration = "4s"
  rate     = var.rate
}
`, url, promAddr, os.Getpid())
	if err := os.WriteFile(planFile, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, rate := range []string{"100", "300"} {
		p, diags := lang.Load([]string{planFile}, lang.LoadOptions{Vars: map[string]string{"rate": rate}})
		if diags.HasErrors() {
			t.Fatalf("plan: %v", diags)
		}
		res, err := runtime.Run(context.Background(), p, runtime.Options{History: histPath})
		if err != nil {
			t.Fatal(err)
		}
		if res.HistoryErr != nil || res.RunID == 0 {
			t.Fatalf("the run was not recorded: %v", res.HistoryErr)
		}
		ids = append(ids, res.RunID)
	}

	st, err := history.Open(histPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var means []float64
	for _, id := range ids {
		r, err := st.Run(id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcome != "completed" || r.Ticks < 3 || r.Plan != "e2e" || r.PlanHash == "" {
			t.Errorf("run %d = %+v", id, r)
		}
		sum, err := st.Summarise(id)
		if err != nil {
			t.Fatal(err)
		}
		cpu := sum.Series["testbed/prom_cpu"]
		if cpu.Count == 0 || cpu.Max <= 0 {
			t.Errorf("run %d recorded no CPU from Prometheus: %+v (stale ticks %d)", id, cpu, sum.StaleTicks["testbed/prom_cpu"])
		}
		if sum.Series["testbed/cpu_cores"].Count == 0 || sum.Rate.Count == 0 {
			t.Errorf("run %d lacks the process source or the instruction: %+v", id, sum)
		}
		means = append(means, sum.Series["testbed/throughput"].Mean)
	}
	if !(means[1] > means[0]*1.5) {
		t.Errorf("throughput at rate 300 (%.0f/s) is not well above rate 100 (%.0f/s)", means[1], means[0])
	}

	var show, diff, csv bytes.Buffer
	if err := st.WriteShow(&show, ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteDiff(&diff, ids[0], ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := st.ExportCSV(ids[1], &csv); err != nil {
		t.Fatal(err)
	}
	for what, c := range map[string]struct {
		out  string
		want []string
	}{
		"show":   {show.String(), []string{"of e2e: completed", "var       rate = 300", "testbed/prom_cpu", "testbed/latency_p99"}},
		"diff":   {diff.String(), []string{"files unchanged", "rate ", "testbed/throughput"}},
		"export": {csv.String(), []string{"time,tick,rate,", "testbed/prom_cpu"}},
	} {
		for _, w := range c.want {
			if !bytes.Contains([]byte(c.out), []byte(w)) {
				t.Errorf("%s lacks %q:\n%s", what, w, c.out)
			}
		}
	}
	t.Logf("history show of the second run:\n%s\ndiff:\n%s", show.String(), diff.String())
}
