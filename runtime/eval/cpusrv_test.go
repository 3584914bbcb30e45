package eval

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/loadshaper/loadshaper/lang"
)

// The cpu-bound Go server: one core (GOMAXPROCS 1), a fixed number of
// sha256 rounds per request, and client_golang's process collector on
// /metrics — an ordinary Go service whose CPU is its bottleneck.
const (
	cpuJob      = "cpusrv"
	cpuSrvQuery = `rate(process_cpu_seconds_total{job="` + cpuJob + `"}[5s])`
	// cpuWork is the CPU time the sha256 rounds of one request aim at, so
	// that the server's capacity is a few hundred requests/s: enough to
	// matter, little enough that the load generator and Prometheus, on
	// the same two cores, are not the bottleneck.
	cpuWork = 3 * time.Millisecond
	// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's
	// utime and stime (100 on every Linux architecture Go supports).
	clockTicks = 100
	// minCPUSpan is the shortest span whose CPU time the truth reads: at
	// 10 ms per clock tick, 0.5 s is within 0.02 of a core.
	minCPUSpan = 0.5
)

// serveCPU is the server's process (SHAPEEVAL_CPUSRV=addr): it prints its
// URL and serves until killed.
func serveCPU(addr string, rounds int) error {
	runtime.GOMAXPROCS(1)
	if rounds <= 0 {
		return fmt.Errorf("SHAPEEVAL_ROUNDS must be a positive number, not %d", rounds)
	}
	var factor atomic.Int64
	factor.Store(1)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.Sum256([]byte(r.URL.RawQuery))
		for i, n := 0, rounds*int(factor.Load()); i < n; i++ {
			h = sha256.Sum256(h[:])
		}
		_, _ = io.WriteString(w, hex.EncodeToString(h[:8]))
	})
	// The halving plan: every request costs x times the rounds.
	mux.HandleFunc("/admin/factor", func(w http.ResponseWriter, r *http.Request) {
		x, err := strconv.Atoi(r.URL.Query().Get("x"))
		if err != nil || x < 1 || x > 100 {
			http.Error(w, "x must be an integer 1..100", http.StatusBadRequest)
			return
		}
		factor.Store(int64(x))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println("http://" + ln.Addr().String())
	return http.Serve(ln, mux)
}

// sha256Rounds is how many chained sha256 rounds take about d of CPU on
// this machine: the fastest of five timed batches, so a busy machine
// (preemption inflates a batch's wall time) errs towards fewer rounds.
func sha256Rounds(d time.Duration) int {
	const batch = 2000
	best := time.Duration(math.MaxInt64)
	var h [32]byte
	for i := 0; i < 5; i++ {
		start := time.Now()
		for j := 0; j < batch; j++ {
			h = sha256.Sum256(h[:])
		}
		best = min(best, time.Since(start))
	}
	_ = h
	return max(1, int(float64(d)/float64(best)*batch))
}

// procCPU is the CPU time (user + system) the kernel has charged to pid.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStatCPU(string(b))
}

// parseProcStatCPU reads utime + stime from a /proc/<pid>/stat line. The
// command name (field 2) may hold spaces and parentheses, so the fields
// are counted from its last ')'.
func parseProcStatCPU(line string) (float64, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, fmt.Errorf("not a /proc/<pid>/stat line: %.40q", line)
	}
	f := strings.Fields(line[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/<pid>/stat: %d fields after the command, want at least 13", len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64) // field 14
	st, err2 := strconv.ParseUint(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/<pid>/stat: utime %q stime %q", f[11], f[12])
	}
	return float64(ut+st) / clockTicks, nil
}

type cpuServer struct {
	url    string
	pid    int
	rounds int
}

func startCPUServer(t *testing.T, addr string, rounds int) cpuServer {
	url, pid := reexec(t, "cpu-bound server", "SHAPEEVAL_CPUSRV="+addr, fmt.Sprintf("SHAPEEVAL_ROUNDS=%d", rounds))
	return cpuServer{url: url, pid: pid, rounds: rounds}
}

// cpuPerRequest sends rate requests/s for d (paced, at most rate·d
// requests, each with a 2 s timeout) and returns the CPU seconds the
// server spent per successful request, idle work included.
func cpuPerRequest(t *testing.T, s cpuServer, rate float64, d time.Duration) (float64, int) {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	c0, err := procCPU(s.pid)
	if err != nil {
		t.Fatal(err)
	}
	var ok atomic.Int64
	var wg sync.WaitGroup
	n := int(rate * d.Seconds())
	start := time.Now()
	for i := 0; i < n; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(s.url + "/work")
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	c1, err := procCPU(s.pid)
	if err != nil {
		t.Fatal(err)
	}
	if ok.Load() == 0 {
		t.Fatal("cpu-bound server: no request of the calibration succeeded")
	}
	return (c1 - c0) / float64(ok.Load()), int(ok.Load())
}

func setFactor(t *testing.T, url string, x int) {
	resp, err := http.Post(fmt.Sprintf("%s/admin/factor?x=%d", url, x), "text/plain", nil)
	if err != nil {
		t.Errorf("cpu-bound server: set factor: %v", err)
		return
	}
	resp.Body.Close()
}

// waitCPUIdle waits until the server uses under 5% of a core over half a
// second (the backlog of the previous run is served or timed out).
func waitCPUIdle(t *testing.T, pid int) {
	prev, _ := procCPU(pid)
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); {
		time.Sleep(500 * time.Millisecond)
		c, err := procCPU(pid)
		if err != nil {
			t.Fatal(err)
		}
		if (c-prev)/0.5 < 0.05 {
			return
		}
		prev = c
	}
	t.Fatal("the cpu-bound server stayed busy for 60 s after the run")
}

// cpuTarget starts the cpu-bound server and a Prometheus scraping it,
// measures the server's capacity, and describes it as a target.
func cpuTarget(t *testing.T, promBin string) *target {
	rounds := sha256Rounds(cpuWork)
	srv := startCPUServer(t, freePort(t), rounds)
	promAddr := freePort(t)
	host := strings.TrimPrefix(srv.url, "http://")
	startPrometheus(t, promBin, promAddr, map[string]string{cpuJob: host}, `process_cpu_seconds_total{job="`+cpuJob+`"}`)

	// Capacity: 1 / (CPU seconds per request), measured at a modest rate
	// (100 req/s for 4 s) after a second of warm-up.
	cpuPerRequest(t, srv, 100, time.Second)
	cost, n := cpuPerRequest(t, srv, 100, 4*time.Second)
	capacity := math.Round(1/cost/10) * 10
	if capacity < 20 {
		t.Fatalf("cpu-bound server: %.2f ms of CPU per request is a capacity of %.0f req/s: too busy a machine to evaluate", cost*1000, capacity)
	}
	header := fmt.Sprintf("target cpu-bound Go server (GOMAXPROCS 1, %d sha256 rounds per request): %.2f ms CPU per request over %d requests at 100 req/s, capacity ≈ %.0f req/s\n"+
		"envelope cpu %.1f (of its one core); cpu = %s via Prometheus (1 s scrape); truth: utime+stime of its pid (/proc/<pid>/stat) per second",
		rounds, cost*1000, n, capacity, envCPU, cpuSrvQuery)
	t.Log(header)
	return &target{
		name: cpuJob, url: srv.url, path: "/work", capacity: capacity, timeout: 2 * time.Second,
		sources: []*lang.MetricsSource{{Kind: "prometheus", Endpoint: "http://" + promAddr, Timeout: 400 * time.Millisecond,
			Queries: map[string]string{"cpu": cpuSrvQuery}}},
		envelope: []lang.Limit{{Metric: "cpu", Max: envCPU, Unit: "fraction"}},
		header:   header,
		cols:     []string{"worst cpu"}, colFmt: []string{"%.2f"},
		settle: func(t *testing.T) {
			setFactor(t, srv.url, 1)
			waitCPUIdle(t, srv.pid)
			time.Sleep(6 * time.Second) // let the 5 s rate window forget the previous run
		},
		halve: func(t *testing.T) { setFactor(t, srv.url, 2) },
		truth: func(t *testing.T) func() truthTick {
			prevC, _ := procCPU(srv.pid)
			prevG, _ := procCPU(os.Getpid())
			prevAt := time.Now()
			return func() truthTick {
				c, err := procCPU(srv.pid)
				g, _ := procCPU(os.Getpid())
				at := time.Now()
				if err != nil {
					t.Errorf("cpu-bound server: %v", err)
					return truthTick{}
				}
				dt := at.Sub(prevAt).Seconds()
				if dt < minCPUSpan {
					// Too short to measure at the kernel's 10 ms
					// granularity (the short tick at a phase's end):
					// it counts with the next.
					return truthTick{}
				}
				u := (c - prevC) / dt
				// The trace adds this process's own CPU (the load
				// generator's): on a busy machine it tells why the server
				// does not get its core.
				tt := truthTick{vals: []float64{u}, over: u > envCPU+cpuTolerance, trace: fmt.Sprintf("cpu %.2f (generator %.2f)", u, (g-prevG)/dt)}
				prevC, prevG, prevAt = c, g, at
				return tt
			}
		},
	}
}
