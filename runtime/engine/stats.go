package engine

import (
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/loadshaper/loadshaper/stdlib"
)

// Histograms count microseconds from 1 µs to 10 minutes with 3 significant
// digits, so p99.9 of a millisecond-scale run is exact to 0.1%.
const (
	histLowest  = 1
	histHighest = int64(10 * time.Minute / time.Microsecond)
	histDigits  = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histLowest, histHighest, histDigits) }

func recordDur(h *hdrhistogram.Histogram, d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < histLowest {
		us = histLowest
	} else if us > histHighest {
		us = histHighest
	}
	_ = h.RecordValue(us) // cannot fail: clamped to the trackable range
}

// Error classes a failed request is counted under.
const (
	ErrConnRefused = iota // the target refused the connection
	ErrTimeout            // dial, write or read did not finish in the target's timeout
	ErrReset              // the connection was reset or closed before a full response
	ErrTLS                // TLS handshake or certificate failure
	ErrBadStatus          // a response with status >= 400
	ErrOther              // anything else
	numErrClasses
)

// ErrorClassNames are the names used in summaries, in ErrConnRefused.. order.
var ErrorClassNames = [numErrClasses]string{"connect_refused", "timeout", "reset", "tls", "bad_status", "other"}

// counts is everything recorded in a shard or an aggregate except histograms.
type counts struct {
	requests int64 // completed (with a response or an error)
	errors   int64 // requests with an error class, bad_status included
	byClass  [numErrClasses]int64
	status   [600]int64 // status code -> count; index 0 = no response
	late     int64      // started more than lateAfter after their intended time
	dropped  int64      // intended but never started (the schedule fell behind past the grace)
	shed     int64      // not sent because a shaper asked to shed their priority class
	aborted  int64      // chaos "abort": reset by the client before a response, not in requests
	slow     int64      // chaos "slow_client": sent trickling (they are in requests too)
	sent     [5]int64   // per priority class
	clsShed  [5]int64
	clsErr   [5]int64
}

func (c *counts) add(o *counts) {
	c.requests += o.requests
	c.errors += o.errors
	for i := range c.byClass {
		c.byClass[i] += o.byClass[i]
	}
	for i := range c.status {
		c.status[i] += o.status[i]
	}
	c.late += o.late
	c.dropped += o.dropped
	c.shed += o.shed
	c.aborted += o.aborted
	c.slow += o.slow
	for i := range c.sent {
		c.sent[i] += o.sent[i]
		c.clsShed[i] += o.clsShed[i]
		c.clsErr[i] += o.clsErr[i]
	}
}

// agg is a set of histograms and counts over some span (a tick, a phase, the run).
type agg struct {
	lat, svc, lag *hdrhistogram.Histogram
	byReq         []*hdrhistogram.Histogram // latency per request, by request index
	reqCount      []int64
	reqErr        []int64
	counts
	journeys // checks and flows (checkstats.go)
}

func newAgg(nreq int) *agg {
	a := &agg{lat: newHist(), svc: newHist(), lag: newHist(), byReq: make([]*hdrhistogram.Histogram, nreq),
		reqCount: make([]int64, nreq), reqErr: make([]int64, nreq)}
	for i := range a.byReq {
		a.byReq[i] = newHist()
	}
	return a
}

func (a *agg) merge(o *agg) {
	if o.lat.TotalCount() > 0 {
		a.lat.Merge(o.lat)
		a.svc.Merge(o.svc)
		a.lag.Merge(o.lag)
	}
	for i := range a.byReq {
		if o.byReq[i].TotalCount() > 0 {
			a.byReq[i].Merge(o.byReq[i])
		}
		a.reqCount[i] += o.reqCount[i]
		a.reqErr[i] += o.reqErr[i]
	}
	a.counts.add(&o.counts)
	a.journeys.add(&o.journeys)
}

// reset clears the aggregate; an empty histogram is left alone, as clearing
// one means zeroing its whole counts array (the tick pays for it per shard).
func (a *agg) reset() {
	for _, h := range [...]*hdrhistogram.Histogram{a.lat, a.svc, a.lag} {
		if h.TotalCount() > 0 {
			h.Reset()
		}
	}
	for i := range a.byReq {
		if a.byReq[i].TotalCount() > 0 {
			a.byReq[i].Reset()
		}
		a.reqCount[i] = 0
		a.reqErr[i] = 0
	}
	a.counts = counts{}
	a.journeys.reset()
}

// shard is one stripe of the recorder. Workers are spread over shards so a
// request only ever takes its own shard's lock, which the control tick
// contends for once a tick.
type shard struct {
	mu sync.Mutex
	a  *agg
	_  [64]byte // keep neighbouring shards' locks off one cache line
}

// recorder collects results from every worker of a run.
type recorder struct {
	shards []shard
	nreq   int
}

const numShards = 16

func newRecorder(nreq int) *recorder {
	r := &recorder{shards: make([]shard, numShards), nreq: nreq}
	for i := range r.shards {
		r.shards[i].a = newAgg(nreq)
	}
	return r
}

// result is one finished request, filled by a worker on its stack.
type result struct {
	req      int // request index
	class    int // priority class index
	latency  time.Duration
	service  time.Duration
	lag      time.Duration
	late     bool
	slow     bool // sent by chaos "slow_client"
	status   int
	errClass int    // -1 = none
	chkBase  int32  // the request's first check in the run's check list
	chkN     uint8  // how many checks it has
	chkFail  uint64 // bit i: its check i failed
}

func (r *recorder) record(worker int, res *result) {
	s := &r.shards[worker%numShards]
	s.mu.Lock()
	a := s.a
	recordDur(a.lat, res.latency)
	recordDur(a.svc, res.service)
	recordDur(a.lag, res.lag)
	recordDur(a.byReq[res.req], res.latency)
	a.reqCount[res.req]++
	a.requests++
	a.sent[res.class]++
	if res.late {
		a.late++
	}
	if res.slow {
		a.slow++
	}
	if res.status > 0 && res.status < len(a.status) {
		a.status[res.status]++
	} else {
		a.status[0]++
	}
	if res.errClass >= 0 {
		a.errors++
		a.byClass[res.errClass]++
		a.clsErr[res.class]++
		a.reqErr[res.req]++
	}
	if res.chkN > 0 {
		a.addChecks(res)
	}
	s.mu.Unlock()
}

func (r *recorder) addShed(worker, class int) {
	s := &r.shards[worker%numShards]
	s.mu.Lock()
	s.a.shed++
	s.a.clsShed[class]++
	s.mu.Unlock()
}

// addAborted counts a request that chaos "abort" reset before its response.
func (r *recorder) addAborted(worker int) {
	s := &r.shards[worker%numShards]
	s.mu.Lock()
	s.a.aborted++
	s.mu.Unlock()
}

func (r *recorder) addDropped(worker int, n int64) {
	s := &r.shards[worker%numShards]
	s.mu.Lock()
	s.a.dropped += n
	s.mu.Unlock()
}

// collect moves everything recorded since the last collect into into.
func (r *recorder) collect(into *agg) {
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		into.merge(s.a)
		s.a.reset()
		s.mu.Unlock()
	}
}

// Percentiles are latency figures in milliseconds.
type Percentiles struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p99_9_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

func percentiles(h *hdrhistogram.Histogram) Percentiles {
	if h.TotalCount() == 0 {
		return Percentiles{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Percentiles{
		P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P95: ms(h.ValueAtQuantile(95)),
		P99: ms(h.ValueAtQuantile(99)), P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()),
		Mean: float64(int64(h.Mean())) / 1000,
	}
}

// Stats are the figures of a span of the run (a tick, a phase, the whole
// run), as they appear in the summary JSON (spec/summary-schema.md).
type Stats struct {
	Requests      int64               `json:"requests"`
	DurationS     float64             `json:"duration_s"`
	Throughput    float64             `json:"throughput"` // completed requests per second
	Latency       Percentiles         `json:"latency"`    // from the intended start time
	Service       Percentiles         `json:"service"`    // from the actual send
	SendLag       Percentiles         `json:"send_lag"`   // actual send minus intended start
	Errors        int64               `json:"errors"`
	ErrorRate     float64             `json:"error_rate"`
	ErrorsByClass map[string]int64    `json:"errors_by_class"`
	Status        map[string]int64    `json:"status"` // "0" = no response
	Late          int64               `json:"late"`
	Dropped       int64               `json:"dropped"`
	Shed          int64               `json:"shed"`
	Aborted       int64               `json:"aborted"`     // chaos "abort": reset mid-request by loadshaper, not in requests or errors
	SlowClient    int64               `json:"slow_client"` // chaos "slow_client": requests that trickled (counted in requests)
	Classes       map[string]Class    `json:"classes,omitempty"`
	ByRequest     map[string]ReqStat  `json:"by_request,omitempty"`
	Checks        *ChecksStat         `json:"checks,omitempty"` // the requests' checks; nil when the plan has none
	Flows         map[string]FlowStat `json:"flows,omitempty"`  // by flow name
}

// Class is what happened to one priority class.
type Class struct {
	Sent   int64 `json:"sent"`
	Shed   int64 `json:"shed"`
	Errors int64 `json:"errors"`
}

// ReqStat is the figures of one request of the mix.
type ReqStat struct {
	Requests int64       `json:"requests"`
	Errors   int64       `json:"errors"`
	Latency  Percentiles `json:"latency"`
}

func (a *agg) stats(d time.Duration, reqNames []string) Stats {
	s := Stats{
		Requests: a.requests, DurationS: d.Seconds(), Errors: a.errors,
		Latency: percentiles(a.lat), Service: percentiles(a.svc), SendLag: percentiles(a.lag),
		ErrorsByClass: map[string]int64{}, Status: map[string]int64{},
		Late: a.late, Dropped: a.dropped, Shed: a.shed, Aborted: a.aborted, SlowClient: a.slow,
	}
	if d > 0 {
		s.Throughput = float64(a.requests) / d.Seconds()
	}
	if a.requests > 0 {
		s.ErrorRate = float64(a.errors) / float64(a.requests)
	}
	for i, n := range a.byClass {
		if n > 0 {
			s.ErrorsByClass[ErrorClassNames[i]] = n
		}
	}
	for code, n := range a.status {
		if n > 0 {
			s.Status[strconv.Itoa(code)] = n
		}
	}
	for i := range a.sent {
		if a.sent[i]+a.clsShed[i] > 0 {
			if s.Classes == nil {
				s.Classes = map[string]Class{}
			}
			s.Classes[stdlib.PriorityClasses[i]] = Class{Sent: a.sent[i], Shed: a.clsShed[i], Errors: a.clsErr[i]}
		}
	}
	if len(reqNames) > 1 {
		s.ByRequest = map[string]ReqStat{}
		for i, n := range reqNames {
			s.ByRequest[n] = ReqStat{Requests: a.reqCount[i], Errors: a.reqErr[i], Latency: percentiles(a.byReq[i])}
		}
	}
	a.fillJourneys(&s, d)
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
