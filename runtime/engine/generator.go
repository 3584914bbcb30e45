package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/shapers"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/valyala/fasthttp"
)

// Defaults for a target that does not set them.
const (
	DefaultConnections = 100
	DefaultTimeout     = 10 * time.Second
	// lateAfter: an arrival sent later than this after its intended time is counted late.
	lateAfter = 10 * time.Millisecond
	// dropGrace: arrivals still queued this long after their phase ended are dropped, not sent.
	dropGrace = time.Second
)

// compiledRequest is a plan request ready for the hot path.
type compiledRequest struct {
	idx      int // index in the run's request list
	name     string
	class    int // priority class index
	method   []byte
	base     []byte // scheme://host[:port][/target-path]
	path     tmpl
	query    []queryPart
	headers  []headerPart
	body     tmpl
	hasBody  bool
	data     *dataset
	needsSeq bool
	resp     *responseSpec // checks and extracts (check.go); nil = none
	flow     *compiledFlow // an entry of the mix that starts a flow instance (flow.go); nil = a request
}

type queryPart struct {
	key []byte // already escaped
	val tmpl
}

type headerPart struct {
	key []byte
	val tmpl
}

func compileRequest(idx int, r *lang.Request, t *lang.Target) (*compiledRequest, error) {
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target %q: url %q is not an absolute http(s) URL", t.Name, t.URL)
	}
	cls := stdlib.PriorityIndex(r.Priority)
	if r.Priority == "" {
		cls = stdlib.PriorityIndex("normal")
	}
	if cls < 0 {
		return nil, fmt.Errorf("request %q: unknown priority %q (one of %s)", r.Name, r.Priority, strings.Join(stdlib.PriorityClasses, ", "))
	}
	method := strings.ToUpper(r.Method)
	if method == "" {
		method = "GET"
	}
	cr := &compiledRequest{idx: idx, name: r.Name, class: cls, method: []byte(method),
		base: []byte(u.Scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/"))}
	if r.DataFile != "" {
		if cr.data, err = loadDataset(r.DataFile); err != nil {
			return nil, fmt.Errorf("request %q: %w", r.Name, err)
		}
	}
	wrap := func(what string, err error) error { return fmt.Errorf("request %q: %s: %w", r.Name, what, err) }
	p := r.Path
	if p == "" {
		p = "/"
	} else if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if cr.path, err = compileTemplate(p, cr.data); err != nil {
		return nil, wrap("path", err)
	}
	for _, k := range sortedKeys(r.Query) {
		v, err := compileTemplate(r.Query[k], cr.data)
		if err != nil {
			return nil, wrap("query "+k, err)
		}
		cr.query = append(cr.query, queryPart{key: appendQueryEscaped(nil, []byte(k)), val: v})
	}
	hdrs := map[string]string{}
	for k, v := range t.Headers {
		hdrs[k] = v
	}
	for k, v := range r.Headers {
		hdrs[k] = v
	}
	for _, k := range sortedKeys(hdrs) {
		v, err := compileTemplate(hdrs[k], cr.data)
		if err != nil {
			return nil, wrap("header "+k, err)
		}
		cr.headers = append(cr.headers, headerPart{key: []byte(k), val: v})
	}
	if r.Body != "" {
		cr.hasBody = true
		if cr.body, err = compileTemplate(r.Body, cr.data); err != nil {
			return nil, wrap("body", err)
		}
	}
	cr.needsSeq = cr.data != nil || cr.path.usesSeq || cr.body.usesSeq
	for _, q := range cr.query {
		cr.needsSeq = cr.needsSeq || q.val.usesSeq
	}
	for _, h := range cr.headers {
		cr.needsSeq = cr.needsSeq || h.val.usesSeq
	}
	return cr, cr.compileResponse(r)
}

// mixTable picks a request by weight.
type mixTable struct {
	cum  []float64 // cumulative weights, last = 1
	reqs []*compiledRequest
}

func newMixTable(reqs []*compiledRequest, weight func(*compiledRequest) float64) *mixTable {
	m := &mixTable{}
	total := 0.0
	for _, r := range reqs {
		if w := weight(r); w > 0 && !math.IsInf(w, 0) {
			total += w
			m.cum = append(m.cum, total)
			m.reqs = append(m.reqs, r)
		}
	}
	for i := range m.cum {
		m.cum[i] /= total
	}
	return m
}

func (m *mixTable) pick(u float64) *compiledRequest {
	for i, c := range m.cum {
		if u < c {
			return m.reqs[i]
		}
	}
	return m.reqs[len(m.reqs)-1]
}

// Generator sends one target's requests. A run has one generator per
// target; the instruction's Distribution shares the rate between them.
type Generator struct {
	Name      string
	client    *fasthttp.HostClient
	reqs      []*compiledRequest
	timeout   time.Duration
	keepAlive bool
	conns     int

	mix      atomic.Pointer[mixTable]
	shed     [5]atomic.Uint64 // per priority class: shed when a 32-bit random draw is below this
	inflight atomic.Int64
	active   atomic.Int64  // closed model: how many of the phase's users may run
	share    atomic.Uint64 // float64 bits: this generator's share of the rate
	override atomic.Uint64 // float64 bits: the rate set by the controller; NaN = follow the phase's shape

	fault   atomic.Pointer[faultHeaders] // chaos "fault_header" in force; nil = none
	abortTh atomic.Uint64                // chaos "abort": a 32-bit draw below this aborts the request
	slowTh  atomic.Uint64                // chaos "slow_client": a 32-bit draw below this trickles it

	rec  *recorder
	seq  *atomic.Uint64
	seed uint64

	flows flowRuntime // flow instances of the phase (flow.go)
}

func newGenerator(t *lang.Target, reqs []*compiledRequest, rec *recorder, seq *atomic.Uint64, seed uint64) (*Generator, error) {
	u, err := url.Parse(t.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("target %q: bad url %q", t.Name, t.URL)
	}
	addr := u.Host
	isTLS := u.Scheme == "https"
	if u.Port() == "" {
		if isTLS {
			addr += ":443"
		} else {
			addr += ":80"
		}
	}
	g := &Generator{Name: t.Name, reqs: reqs, timeout: t.Timeout, keepAlive: t.KeepAlive, conns: t.MaxConnections,
		rec: rec, seq: seq, seed: seed}
	if g.timeout <= 0 {
		g.timeout = DefaultTimeout
	}
	if g.conns <= 0 {
		g.conns = DefaultConnections
	}
	g.client = &fasthttp.HostClient{
		Addr:                          addr,
		Name:                          "loadshaper",
		IsTLS:                         isTLS,
		MaxConns:                      g.conns,
		ReadTimeout:                   g.timeout,
		WriteTimeout:                  g.timeout,
		MaxConnWaitTimeout:            g.timeout,
		MaxIdemponentCallAttempts:     1, // a failure is measured, never retried behind the user's back
		MaxIdleConnDuration:           time.Minute,
		NoDefaultUserAgentHeader:      false,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		RetryIfErr:                    func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
	}
	if isTLS {
		g.client.TLSConfig = &tls.Config{InsecureSkipVerify: t.InsecureSkipVerify, ServerName: u.Hostname()}
	}
	g.mix.Store(newMixTable(reqs, func(*compiledRequest) float64 { return 1 }))
	return g, nil
}

// setShed sets the fraction of each priority class to shed; nil sheds nothing.
func (g *Generator) setShed(shed map[string]float64) {
	for i, c := range stdlib.PriorityClasses {
		f := shed[c]
		if !(f > 0) {
			f = 0
		} else if f > 1 {
			f = 1
		}
		g.shed[i].Store(uint64(f * (1 << 32)))
	}
}

// worker is one sender's reused state.
type worker struct {
	id    int
	g     *Generator
	rng   *rand.Rand
	req   *fasthttp.Request
	resp  *fasthttp.Response
	uri   []byte
	buf   []byte
	start time.Time  // phase start: offsets are from here
	cc    *chaosConn // made on the first abort or slow_client request
	fl    *flowInst  // the flow instance this worker runs inline (flow.go)
}

func (g *Generator) newWorker(id int, start time.Time) *worker {
	s := g.seed + uint64(id)*0x9e3779b97f4a7c15
	return &worker{id: id, g: g, rng: rand.New(rand.NewPCG(s, s>>1|1)), req: fasthttp.AcquireRequest(),
		resp: fasthttp.AcquireResponse(), uri: make([]byte, 0, 256), buf: make([]byte, 0, 256), start: start}
}

func (w *worker) release() {
	fasthttp.ReleaseRequest(w.req)
	fasthttp.ReleaseResponse(w.resp)
}

// iterate runs one iteration intended to start at off (from the phase start).
func (w *worker) iterate(off time.Duration) {
	g := w.g
	m := g.mix.Load()
	if len(m.reqs) == 0 {
		return // the mix changed under a queued arrival and left this generator nothing to send
	}
	r := m.pick(w.rng.Float64())
	if th := g.shed[r.class].Load(); th > 0 && uint64(w.rng.Uint32()) < th {
		g.rec.addShed(w.id, r.class)
		return
	}
	if r.flow != nil {
		w.startFlow(r.flow, off)
		return
	}
	ic := iterCtx{rng: w.rng}
	if r.needsSeq {
		ic.seq = g.seq.Add(1) - 1
		if r.data != nil {
			ic.row = r.data.rows[ic.seq%uint64(len(r.data.rows))]
		}
	}
	w.exchange(r, &ic, off)
}

// exchange sends r (intended at off), records the result and reports
// whether it succeeded: a response below 400 whose checks all passed.
func (w *worker) exchange(r *compiledRequest, ic *iterCtx, off time.Duration) bool {
	g := w.g
	req := w.req
	req.Reset()
	req.Header.SetMethodBytes(r.method)
	w.uri = append(w.uri[:0], r.base...)
	w.uri = r.path.appendTo(w.uri, ic)
	for i := range r.query {
		q := &r.query[i]
		if i == 0 {
			w.uri = append(w.uri, '?')
		} else {
			w.uri = append(w.uri, '&')
		}
		w.uri = append(w.uri, q.key...)
		w.uri = append(w.uri, '=')
		w.buf = q.val.appendTo(w.buf[:0], ic)
		w.uri = appendQueryEscaped(w.uri, w.buf)
	}
	req.SetRequestURIBytes(w.uri)
	for i := range r.headers {
		h := &r.headers[i]
		w.buf = h.val.appendTo(w.buf[:0], ic)
		req.Header.SetCanonical(h.key, w.buf)
	}
	if ic.fl != nil {
		ic.fl.addCookies(req)
	}
	if f := g.fault.Load(); f != nil && uint64(w.rng.Uint32()) < f.threshold {
		for i := range f.headers {
			req.Header.SetCanonical(f.headers[i].key, f.headers[i].val)
		}
	}
	if r.hasBody {
		w.buf = r.body.appendTo(w.buf[:0], ic)
		req.SetBody(w.buf)
	}
	if !g.keepAlive {
		req.SetConnectionClose()
	}
	mode := w.chaosMode()
	sent := time.Since(w.start)
	g.inflight.Add(1)
	var err error
	switch mode {
	case modeNormal:
		err = g.client.DoTimeout(req, w.resp, g.timeout)
	case modeAbort:
		err = w.abort()
		if err == nil {
			g.inflight.Add(-1)
			g.rec.addAborted(w.id)
			return false
		}
	case modeSlow:
		err = w.trickle()
	}
	g.inflight.Add(-1)
	done := time.Since(w.start)
	res := result{req: r.idx, class: r.class, latency: done - off, service: done - sent, lag: sent - off, errClass: -1,
		slow: mode == modeSlow}
	res.late = res.lag > lateAfter
	if err != nil {
		res.errClass = classify(err)
	} else {
		res.status = w.resp.StatusCode()
		if res.status >= 400 {
			res.errClass = ErrBadStatus
		}
	}
	if r.resp != nil || ic.fl != nil {
		w.afterResponse(r, ic, &res, err)
	}
	w.resp.Reset()
	g.rec.record(w.id, &res)
	return res.errClass < 0 && res.chkFail == 0
}

// classify names the error class of a failed request.
func classify(err error) int {
	var tlsRec tls.RecordHeaderError
	var tlsAlert tls.AlertError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr x509.CertificateInvalidError
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrConnRefused
	case errors.Is(err, fasthttp.ErrTLSHandshakeTimeout), errors.As(err, &tlsRec), errors.As(err, &tlsAlert),
		errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &certErr),
		strings.Contains(err.Error(), "tls: "):
		return ErrTLS
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, fasthttp.ErrNoFreeConns), errors.As(err, &netErr) && netErr.Timeout():
		return ErrTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, fasthttp.ErrConnectionClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrReset
	}
	return ErrOther
}

// runOpen sends on sched's arrivals from start until end (offsets from
// start) with the generator's connections as workers; it returns once the
// queue is drained. A pacer that cannot hand an arrival to a free worker
// waits: the arrival keeps its intended time, so the wait shows in latency.
func (g *Generator) runOpen(ctx context.Context, start time.Time, end time.Duration, sched *Schedule, workerBase int) {
	defer g.flowScope(ctx, end, true)()
	slots := make(chan time.Duration, g.conns)
	var wg sync.WaitGroup
	for i := 0; i < g.conns; i++ {
		w := g.newWorker(workerBase+i, start)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.release()
			var dropped int64
			for off := range slots {
				if ctx.Err() != nil {
					continue // interrupted: discard what is queued
				}
				if time.Since(start) > end+dropGrace {
					dropped++
					continue
				}
				w.iterate(off)
			}
			if dropped > 0 {
				g.rec.addDropped(w.id, dropped)
			}
		}()
	}
	p := pacer{start: start}
	for {
		off, ok := sched.Next(end)
		if !ok || !p.wait(ctx, off) {
			break
		}
		select {
		case slots <- off:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(slots)
	wg.Wait()
}

// runClosed runs users workers, each sending one request after another
// with think time between, until end; only the first g.active of them run.
func (g *Generator) runClosed(ctx context.Context, start time.Time, end time.Duration, users int, think time.Duration, workerBase int) {
	defer g.flowScope(ctx, end, false)()
	var wg sync.WaitGroup
	for i := 0; i < users; i++ {
		w := g.newWorker(workerBase+i, start)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer w.release()
			for ctx.Err() == nil {
				now := time.Since(start)
				if now >= end {
					return
				}
				if int64(i) >= g.active.Load() {
					sleepCtx(ctx, min(10*time.Millisecond, end-now))
					continue
				}
				w.iterate(now)
				if think > 0 {
					sleepCtx(ctx, min(think, end-time.Since(start)))
				}
			}
		}(i)
	}
	wg.Wait()
}

// faultHeaders is the chaos "fault_header" in force: headers added to a
// fraction of requests, built once a tick so the hot path only reads it.
type faultHeaders struct {
	threshold uint64 // a 32-bit random draw below this adds the headers
	headers   []struct{ key, val []byte }
}

func faultFromChaos(acts []shapers.ChaosAction) *faultHeaders {
	var f *faultHeaders
	for _, a := range acts {
		if a.Kind != "fault_header" || len(a.Headers) == 0 {
			continue
		}
		if f == nil {
			f = &faultHeaders{}
		}
		f.threshold = max(f.threshold, uint64(min(max(a.Fraction, 0), 1)*(1<<32)))
		for _, k := range sortedKeys(a.Headers) {
			f.headers = append(f.headers, struct{ key, val []byte }{[]byte(k), []byte(a.Headers[k])})
		}
	}
	return f
}
