// Package testbed is loadshaper's bundled demo target: an HTTP server on
// 127.0.0.1 with a capacity beyond which it really saturates (a pool of
// workers; requests queue and latency grows), a tunable CPU cost and memory
// per request, a stall switch, a capacity change for shaping experiments,
// and a Prometheus /metrics endpoint with its process CPU and memory.
//
// It is used by `loadshaper testbed`, `loadshaper demo`, the examples and
// the tests. It imports nothing of loadshaper's.
package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config tunes the testbed.
type Config struct {
	Addr     string        // listen address; must be on 127.0.0.1 (default 127.0.0.1:0, a free port)
	Workers  int           // requests served at once; more wait in the queue (default 16)
	Capacity float64       // requests per second the pool sustains (default 2000): each request holds a worker Workers/Capacity seconds
	Cost     time.Duration // CPU burnt per request, within its service time (default 100µs)
	Memory   int64         // bytes allocated and touched per request in service (default 0)
	Baseline int64         // bytes held for the server's life (default 0)
	Queue    int           // requests allowed to wait; more get 503 (default 10000)
	// StallAfter and StallFor freeze request handling once, StallAfter after
	// start, for StallFor (0 = never).
	StallAfter, StallFor time.Duration
}

// Server is a running testbed.
type Server struct {
	URL      string // http://127.0.0.1:PORT
	Addr     string // 127.0.0.1:PORT
	srv      *http.Server
	workers  chan struct{}
	cfg      Config
	svcNanos atomic.Int64 // service time per request
	capBits  atomic.Uint64
	stallEnd atomic.Int64 // unix nanos until which requests are frozen
	queued   atomic.Int64
	gone     atomic.Int64 // requests whose client went away before the response
	baseline []byte

	reqs     *prometheus.CounterVec
	duration prometheus.Histogram
	util     prometheus.Counter
}

// Start starts a testbed and returns once it accepts connections.
func Start(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("testbed: address %q: %w", cfg.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("testbed: listens on loopback only, not %q", host)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = 2000
	}
	if cfg.Cost < 0 || cfg.Memory < 0 || cfg.Baseline < 0 {
		return nil, errors.New("testbed: cost and memory must not be negative")
	}
	if cfg.Cost == 0 {
		cfg.Cost = 100 * time.Microsecond
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 10000
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	s := &Server{Addr: ln.Addr().String(), cfg: cfg, workers: make(chan struct{}, cfg.Workers)}
	s.URL = "http://" + s.Addr
	s.SetCapacity(cfg.Capacity)
	if cfg.Baseline > 0 {
		s.baseline = make([]byte, cfg.Baseline)
		touch(s.baseline)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "testbed_requests_total", Help: "Requests served, by status code."}, []string{"code"})
	s.duration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "testbed_request_duration_seconds",
		Help: "Time from arrival to response, queueing included.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)})
	s.util = prometheus.NewCounter(prometheus.CounterOpts{Name: "testbed_utilization_seconds_total",
		Help: "Worker-pool busy seconds divided by the pool size; rate() of it is the pool's utilisation, 0..1."})
	reg.MustRegister(s.reqs, s.duration, s.util,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "testbed_queue_length", Help: "Requests waiting for a worker."},
			func() float64 { return float64(s.queued.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "testbed_busy_workers", Help: "Workers serving a request."},
			func() float64 { return float64(len(s.workers)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "testbed_capacity_rps", Help: "Requests per second the worker pool sustains."},
			func() float64 { return s.Capacity() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "testbed_workers", Help: "Size of the worker pool."},
			func() float64 { return float64(cfg.Workers) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "testbed_client_gone_total",
			Help: "Requests whose client closed or reset the connection before the response (incomplete body, or gone while queued or served)."},
			func() float64 { return float64(s.gone.Load()) }),
	)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("POST /admin/stall", s.handleStall)
	mux.HandleFunc("POST /admin/capacity", s.handleCapacity)
	mux.HandleFunc("GET /admin/state", s.handleState)
	s.shopRoutes(mux)
	mux.HandleFunc("/", s.handleWork)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if cfg.StallFor > 0 {
		time.AfterFunc(cfg.StallAfter, func() { s.Stall(cfg.StallFor) })
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server at once.
func (s *Server) Close() error { return s.srv.Close() }

// Shutdown stops accepting and waits for requests in service, up to ctx.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// ClientGone returns how many requests the testbed saw end without their
// client: the body did not arrive whole, or the connection was closed or
// reset while the request waited or was served.
func (s *Server) ClientGone() int64 { return s.gone.Load() }

// SetCapacity sets the requests per second the pool sustains (> 0).
func (s *Server) SetCapacity(rps float64) {
	if !(rps > 0) {
		return
	}
	s.capBits.Store(uint64(rps * 1000))
	s.svcNanos.Store(int64(float64(s.cfg.Workers) / rps * 1e9))
}

// Capacity returns the current capacity in requests per second.
func (s *Server) Capacity() float64 { return float64(s.capBits.Load()) / 1000 }

// Stall freezes request handling for d from now: requests arriving or
// queued wait until it ends.
func (s *Server) Stall(d time.Duration) { s.stallEnd.Store(time.Now().Add(d).UnixNano()) }

func (s *Server) handleStall(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.URL.Query().Get("d"))
	if err != nil || d < 0 || d > time.Hour {
		http.Error(w, "d must be a duration between 0 and 1h, e.g. ?d=1s", http.StatusBadRequest)
		return
	}
	s.Stall(d)
	fmt.Fprintf(w, "stalled for %s\n", d)
}

func (s *Server) handleCapacity(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c := s.Capacity()
	if v := q.Get("rps"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) {
			http.Error(w, "rps must be a positive number", http.StatusBadRequest)
			return
		}
		c = f
	} else if v := q.Get("factor"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) {
			http.Error(w, "factor must be a positive number", http.StatusBadRequest)
			return
		}
		c *= f
	} else {
		http.Error(w, "give rps=N or factor=F", http.StatusBadRequest)
		return
	}
	s.SetCapacity(c)
	fmt.Fprintf(w, "capacity %g req/s\n", c)
}

func (s *Server) handleState(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"capacity_rps": s.Capacity(), "workers": s.cfg.Workers, "service_time_s": time.Duration(s.svcNanos.Load()).Seconds(),
		"cost_s": s.cfg.Cost.Seconds(), "queue": s.queued.Load(), "busy": len(s.workers),
		"stalled": time.Now().UnixNano() < s.stallEnd.Load(), "client_gone": s.gone.Load(),
	})
}

// maxBody is how much of a request body the testbed reads; the rest is
// left to net/http, which closes the connection.
const maxBody = 1 << 20

// handleWork serves any other path: read the body, wait for a worker, hold
// it for the service time (burning Cost of CPU and touching Memory),
// answer. A client that goes away on the way is counted (ClientGone).
func (s *Server) handleWork(w http.ResponseWriter, r *http.Request) { s.serve(w, r, nil) }

// serve is handleWork with the answer given by respond (nil: "ok"), which
// gets the request's body and returns the status it wrote.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, respond func(w http.ResponseWriter, r *http.Request, body []byte) int) {
	arrived := time.Now()
	var body []byte
	var err error
	if respond != nil {
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBody))
	} else {
		_, err = io.Copy(io.Discard, io.LimitReader(r.Body, maxBody))
	}
	if err != nil {
		s.gone.Add(1)
		return
	}
	if s.queued.Add(1) > int64(s.cfg.Queue) {
		s.queued.Add(-1)
		s.reqs.WithLabelValues("503").Inc()
		http.Error(w, "queue full", http.StatusServiceUnavailable)
		return
	}
	select {
	case s.workers <- struct{}{}:
	case <-r.Context().Done():
		s.queued.Add(-1)
		s.gone.Add(1)
		return
	}
	acquired := time.Now()
	s.queued.Add(-1)
	if end := s.stallEnd.Load(); end > 0 {
		if d := time.Until(time.Unix(0, end)); d > 0 {
			time.Sleep(d)
		}
	}
	start := time.Now()
	var mem []byte
	if s.cfg.Memory > 0 {
		mem = make([]byte, s.cfg.Memory)
		touch(mem)
	}
	burn(s.cfg.Cost)
	if rest := time.Duration(s.svcNanos.Load()) - time.Since(start); rest > 0 {
		time.Sleep(rest)
	}
	// Busy time over pool size: the counter's rate is the pool's
	// utilisation, the signal a shaper's cpu envelope reads through a scrape.
	s.util.Add(time.Since(acquired).Seconds() / float64(s.cfg.Workers))
	<-s.workers
	_ = mem
	if r.Context().Err() != nil {
		// The connection was closed or reset while the request was served
		// (net/http watches it once the body is read).
		s.gone.Add(1)
		return
	}
	code := http.StatusOK
	if respond != nil {
		code = respond(w, r, body)
	} else {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	}
	s.reqs.WithLabelValues(strconv.Itoa(code)).Inc()
	s.duration.Observe(time.Since(arrived).Seconds())
}

// burn spends d of CPU time (wall clock, on a busy loop).
func burn(d time.Duration) {
	start := time.Now()
	x := uint64(1)
	for time.Since(start) < d {
		for i := 0; i < 200; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink.Store(x)
}

var sink atomic.Uint64

func touch(b []byte) {
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
}
