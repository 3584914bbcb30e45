package metrics

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

func TestParseSelector(t *testing.T) {
	sel, err := ParseSelector(`http_requests_total{code="200", method=~"GET|HEAD",path!="/health",  host!~"a.*"}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"http_requests_total", map[string]string{"code": "200", "method": "GET", "path": "/x", "host": "b"}, true},
		{"http_requests_total", map[string]string{"code": "200", "method": "HEAD"}, true},
		{"http_requests_total", map[string]string{"code": "500", "method": "GET"}, false},
		{"http_requests_total", map[string]string{"code": "200", "method": "GETX"}, false}, // regexps are anchored
		{"http_requests_total", map[string]string{"code": "200", "method": "GET", "path": "/health"}, false},
		{"http_requests_total", map[string]string{"code": "200", "method": "GET", "host": "abc"}, false},
		{"http_requests", map[string]string{"code": "200", "method": "GET"}, false},
	} {
		if got := sel.Match(c.name, c.labels); got != c.want {
			t.Errorf("match %s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, bad := range []string{``, `{code="1"}`, `x{code}`, `x{code="1"`, `x{code=1}`, `x{code="1" method="2"}`, `x{m=~"("}`, `x y`} {
		if _, err := ParseSelector(bad); err == nil {
			t.Errorf("ParseSelector(%q) succeeded", bad)
		}
	}
	if sel, err := ParseSelector(`up{job="a\"b"}`); err != nil || sel.Matchers[0].Value != `a"b` {
		t.Errorf("escaped quote: %+v %v", sel, err)
	}
}

// A real client_golang registry served over loopback, in both formats.
func exposition(t *testing.T, openMetrics bool) (*httptest.Server, prometheus.Counter, prometheus.Gauge, prometheus.Histogram) {
	reg := prometheus.NewRegistry()
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "requests"}, []string{"code"})
	inflight := prometheus.NewGauge(prometheus.GaugeOpts{Name: "inflight", Help: "in flight"})
	lat := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "latency_seconds", Help: "latency", Buckets: []float64{0.1, 1}})
	reg.MustRegister(reqs, inflight, lat)
	reqs.WithLabelValues("500").Add(7)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: openMetrics})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if openMetrics {
			// A server that speaks only OpenMetrics, whatever we prefer.
			r.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, reqs.WithLabelValues("200"), inflight, lat
}

func TestScrapeRatesAndSelectors(t *testing.T) {
	for _, om := range []bool{false, true} {
		t.Run(fmt.Sprintf("openmetrics=%v", om), func(t *testing.T) {
			srv, ok200, inflight, lat := exposition(t, om)
			src, err := New("api", &lang.MetricsSource{Kind: "scrape", Endpoint: srv.URL, Queries: map[string]string{
				"ok":       `http_requests_total{code="200"}`,
				"all":      `http_requests_total`,
				"inflight": `inflight`,
				"slow":     `latency_seconds_bucket{le="+Inf"}`,
				"missing":  `nope`,
			}})
			if err != nil {
				t.Fatal(err)
			}
			ok200.Add(100)
			inflight.Set(12)
			m, err := src.Read(context.Background(), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if !m["ok"].Stale || m["inflight"].Value != 12 || m["inflight"].Stale || !m["missing"].Stale {
				t.Fatalf("first read = %+v", m)
			}
			time.Sleep(200 * time.Millisecond)
			ok200.Add(50)
			for i := 0; i < 20; i++ {
				lat.Observe(0.05)
			}
			inflight.Set(3)
			m, err = src.Read(context.Background(), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			// 50 requests in ~0.2 s: about 250/s; the 500s did not move, so
			// "all" is the same rate.
			if r := m["ok"].Value; m["ok"].Stale || r < 100 || r > 260 {
				t.Errorf("ok rate = %+v", m["ok"])
			}
			if m["all"].Value != m["ok"].Value {
				t.Errorf("all rate %v != ok rate %v", m["all"].Value, m["ok"].Value)
			}
			if m["inflight"].Value != 3 || m["slow"].Value <= 0 {
				t.Errorf("inflight %+v, histogram rate %+v", m["inflight"], m["slow"])
			}
		})
	}
}

func TestScrapeErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.Write([]byte("this is { not metrics\n"))
			return
		}
		http.Error(w, "nope", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	for path, want := range map[string]string{"/metrics": "503", "/bad": "GET"} {
		src, err := New("api", &lang.MetricsSource{Kind: "scrape", Endpoint: srv.URL + path, Queries: map[string]string{"x": "x"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Read(context.Background(), time.Now()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", path, err, want)
		}
	}
	for _, spec := range []*lang.MetricsSource{
		{Kind: "scrape", Endpoint: "ftp://x", Queries: map[string]string{"x": "x"}},
		{Kind: "scrape", Endpoint: "http://127.0.0.1:1/metrics"},
		{Kind: "scrape", Endpoint: "http://127.0.0.1:1/metrics", Queries: map[string]string{"x": "x{"}},
		{Kind: "prometheus", Endpoint: "http://127.0.0.1:1", Queries: map[string]string{"x": "up"}, Username: "u", Token: "t"},
		{Kind: "process"},
		{Kind: "process", PID: 1, Process: "x"},
		{Kind: "process", PID: 1, Queries: map[string]string{"c": "cpu_percent"}},
		{Kind: "host", Endpoint: "http://x"},
		{Kind: "graphite"},
	} {
		if _, err := New("api", spec); err == nil {
			t.Errorf("New(%+v) succeeded", spec)
		}
	}
}

// Recorded Prometheus API responses (unit test: the end-to-end test uses
// a real server).
func TestPrometheusSource(t *testing.T) {
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		switch q := r.Form.Get("query"); q {
		case "two":
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"i":"a"},"value":[1764244800,"0.25"]},{"metric":{"i":"b"},"value":[1764244800,"0.5"]}]}}`)
		case "none":
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		case "scalar":
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"scalar","result":[1764244800,"42"]}}`)
		case "slow":
			time.Sleep(300 * time.Millisecond)
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"scalar","result":[1764244800,"1"]}}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"parse error in %s"}`, q)
		}
	}))
	defer srv.Close()
	src, err := New("api", &lang.MetricsSource{Kind: "prometheus", Endpoint: srv.URL, Timeout: 100 * time.Millisecond, Username: "u", Password: "p",
		Queries: map[string]string{"cpu": "two", "mem": "none", "n": "scalar", "slow": "slow", "bad": "rate(("}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := src.Read(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if m["cpu"].Value != 0.75 || m["cpu"].Stale || m["n"].Value != 42 {
		t.Errorf("values: %+v", m)
	}
	if !m["mem"].Stale || !strings.Contains(m["mem"].Reason, "no series") {
		t.Errorf("empty result: %+v", m["mem"])
	}
	if !m["slow"].Stale || !strings.Contains(m["slow"].Reason, "timed out") {
		t.Errorf("slow query: %+v", m["slow"])
	}
	if !m["bad"].Stale || !strings.Contains(m["bad"].Reason, "parse error") {
		t.Errorf("bad query: %+v", m["bad"])
	}
	if got := auth.Load(); got != "Basic "+base64.StdEncoding.EncodeToString([]byte("u:p")) {
		t.Errorf("Authorization = %v", got)
	}
	bearer, _ := New("api", &lang.MetricsSource{Kind: "prometheus", Endpoint: srv.URL, Token: "s3cret", Queries: map[string]string{"n": "scalar"}})
	bearer.Read(context.Background(), time.Now())
	if got := auth.Load(); got != "Bearer s3cret" {
		t.Errorf("Authorization = %v", got)
	}
	// Every query failing fails the source.
	down, _ := New("api", &lang.MetricsSource{Kind: "prometheus", Endpoint: "http://127.0.0.1:1", Queries: map[string]string{"n": "up"}})
	if _, err := down.Read(context.Background(), time.Now()); err == nil {
		t.Error("unreachable server did not fail the source")
	}
}

// burn keeps one goroutine busy for d.
func burn(d time.Duration) {
	end := time.Now().Add(d)
	x := 0
	for time.Now().Before(end) {
		for i := 0; i < 10000; i++ {
			x += i
		}
	}
	_ = x
}

func cpuSeconds(t *testing.T) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// The process source's CPU agrees with what the kernel tells the process
// itself (getrusage) over the same interval, however busy the machine is.
func TestProcessAndHostSources(t *testing.T) {
	p := NewProcessSource(os.Getpid())
	m1, err := p.Read(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	before := cpuSeconds(t)
	burn(300 * time.Millisecond)
	after := cpuSeconds(t)
	m, err := p.Read(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	used := m[CPUCores].Value * m[CPUCores].At.Sub(m1[Memory].At).Seconds()
	// /proc counts CPU time in 10 ms ticks; allow three of them.
	if c := m[CPUCores]; c.Stale || math.Abs(used-(after-before)) > 0.03 {
		t.Errorf("process source saw %.3f CPU seconds, getrusage %.3f (%+v)", used, after-before, c)
	}
	if c := m[CPU]; c.Stale || c.Value <= 0 || c.Value > 1.01 {
		t.Errorf("cpu fraction = %+v", c)
	}
	if m[Memory].Value < 1<<20 {
		t.Errorf("rss = %+v", m[Memory])
	}
	byName, err := New("self", &lang.MetricsSource{Kind: "process", Process: "no-such-process-xyz"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := byName.Read(context.Background(), time.Now()); err == nil || !strings.Contains(err.Error(), "no process named") {
		t.Errorf("missing process: %v", err)
	}
	renamed, err := New("self", &lang.MetricsSource{Kind: "process", PID: os.Getpid(), Queries: map[string]string{"rss": "memory"}})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := renamed.Read(context.Background(), time.Now()); err != nil || len(m) != 1 || m["rss"].Value <= 0 {
		t.Errorf("renamed = %+v, %v", m, err)
	}

	h := NewHostSource()
	h.Read(context.Background(), time.Now())
	time.Sleep(100 * time.Millisecond)
	m, err = h.Read(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if m[MemoryTotal].Value <= m[Memory].Value || m[CPU].Value < 0 || m[CPU].Value > 1 || m[CPU].Stale {
		t.Errorf("host = %+v", m)
	}
}

// OpenMetrics features the text format lacks are rewritten away.
func TestOpenMetricsRewrite(t *testing.T) {
	in := `# HELP reqs Requests.
# TYPE reqs counter
# UNIT reqs requests
reqs_total{code="200"} 10 1764244800.5 # {trace_id="a # b"} 1.0 1764244800.1
reqs_created{code="200"} 1764244000
reqs_total{code="500",path="/a}b"} 2
# TYPE build info
build_info{version="1.2"} 1
# TYPE lat histogram
lat_bucket{le="0.1"} 3
lat_bucket{le="+Inf"} 5
lat_sum 0.7
lat_count 5
lat_created 1764244000
# EOF
`
	r, err := openMetricsToText(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	series, err := parseExposition(r, expfmt.NewFormat(expfmt.TypeTextPlain))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range series {
		got = append(got, fmt.Sprintf("%s %v=%g/%v", s.name, s.labels, s.value, s.cumulative))
	}
	want := []string{
		"reqs_total map[code:200]=10/true", "reqs_total map[code:500 path:/a}b]=2/true",
		"build_info map[version:1.2]=1/false",
		"lat_bucket map[le:0.1]=3/true", "lat_bucket map[le:+Inf]=5/true", "lat_sum map[]=0.7/true", "lat_count map[]=5/true",
	}
	// The text decoder may return families in any order.
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// client_golang's own OpenMetrics output for a Go service (which expfmt's
// OpenMetrics parser rejects) reads fine, counters and gauges alike.
func TestScrapeOpenMetricsGoCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
	var ctype atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
		h.ServeHTTP(w, r)
		ctype.Store(w.Header().Get("Content-Type"))
	}))
	defer srv.Close()
	src, err := New("api", &lang.MetricsSource{Kind: "scrape", Endpoint: srv.URL, Queries: map[string]string{
		"alloc_rate": "go_memstats_alloc_bytes_total", "heap": "go_memstats_alloc_bytes", "rss": "process_resident_memory_bytes"}})
	if err != nil {
		t.Fatal(err)
	}
	src.Read(context.Background(), time.Now())
	_ = make([]byte, 1<<20)
	time.Sleep(50 * time.Millisecond)
	m, err := src.Read(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ct, _ := ctype.Load().(string); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("server answered %q, not OpenMetrics", ct)
	}
	if m["alloc_rate"].Stale || m["alloc_rate"].Value <= 0 || m["heap"].Stale || m["heap"].Value <= 0 || m["rss"].Value <= 0 {
		t.Errorf("readings = %+v", m)
	}
}
