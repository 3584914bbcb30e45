package metrics

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/loadshaper/loadshaper/lang"
)

// Backoff defaults: a failing source is retried after 1 s, 2 s, 4 s, …
// up to 30 s between attempts.
const (
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = 30 * time.Second
)

// Spec is how the Collector runs one source.
type Spec struct {
	Target  string
	Name    string // shown in health reports, e.g. "prometheus" or "client"
	Source  Source
	Timeout time.Duration // for the whole Read; default DefaultTimeout
	// Interval between reads; 0 = every tick. Between reads the last
	// samples are reused (and stay fresh).
	Interval time.Duration
	OnStale  string   // hold | lower | ignore; "" = lower
	Metrics  []string // names the source declares (so they are known stale even before a first read)
}

// Health is the state of one source, for the live view and the summary.
type Health struct {
	Target, Source string
	OK             bool          // the last attempt succeeded
	Err            string        // the last error, if the last attempt failed
	Failures       int           // consecutive failures
	Reads, Errors  int           // totals over the run
	LastOK         time.Time     // last successful read
	NextRetry      time.Time     // set while backing off
	Latency        time.Duration // duration of the last attempt
	Stale          []string      // metrics of this source stale after the last Read
}

type entry struct {
	Spec
	mu       sync.Mutex
	last     map[string]Sample
	lastRead time.Time
	busy     bool // a Read that ignored its deadline is still running
	health   Health
}

// Collector reads every source of a plan each tick.
type Collector struct {
	BackoffBase, BackoffMax time.Duration
	entries                 []*entry
}

// NewCollector builds the sources of every target's metrics blocks. The
// engine adds each target's ClientSource with Add.
func NewCollector(p *lang.Plan) (*Collector, error) {
	c := &Collector{}
	var errs []error
	for _, t := range p.Targets {
		for _, ms := range t.Metrics {
			src, err := New(t.Name, ms)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			names := make([]string, 0, len(ms.Queries))
			for n := range ms.Queries {
				names = append(names, n)
			}
			sort.Strings(names)
			timeout := timeoutOf(ms)
			if ms.Kind == "prometheus" {
				// Queries run concurrently, each with its own timeout; leave
				// room for the HTTP round trip around them.
				timeout += 500 * time.Millisecond
			}
			c.Add(Spec{Target: t.Name, Name: ms.Kind, Source: src, Timeout: timeout, Interval: ms.Interval, OnStale: ms.OnStale, Metrics: names})
		}
	}
	if len(errs) > 0 {
		c.Close()
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Add registers a source.
func (c *Collector) Add(s Spec) {
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	if s.Name == "" {
		s.Name = fmt.Sprintf("source%d", len(c.entries)+1)
	}
	c.entries = append(c.entries, &entry{Spec: s, health: Health{Target: s.Target, Source: s.Name}})
}

// Close releases the sources' resources.
func (c *Collector) Close() error {
	var errs []error
	for _, e := range c.entries {
		if cl, ok := e.Source.(Closer); ok {
			errs = append(errs, cl.Close())
		}
	}
	return errors.Join(errs...)
}

// Snapshot is what one Read saw.
type Snapshot struct {
	At      time.Time
	Targets map[string]map[string]Sample // target -> metric -> sample
	Health  []Health                     // one per source, in the order added
}

// Get returns one metric of one target.
func (s Snapshot) Get(target, metric string) (Sample, bool) {
	v, ok := s.Targets[target][metric]
	return v, ok
}

// Fresh returns the target's fresh values (for shaper snapshots).
func (s Snapshot) Fresh(target string) map[string]float64 {
	out := map[string]float64{}
	for n, v := range s.Targets[target] {
		if !v.Stale {
			out[n] = v.Value
		}
	}
	return out
}

// Flat returns fresh values keyed "target/metric" and the stale keys,
// sorted: the shape history.Tick records.
func (s Snapshot) Flat() (fresh map[string]float64, stale []string) {
	fresh = map[string]float64{}
	for t, ms := range s.Targets {
		for n, v := range ms {
			if v.Stale {
				stale = append(stale, t+"/"+n)
			} else {
				fresh[t+"/"+n] = v.Value
			}
		}
	}
	sort.Strings(stale)
	return fresh, stale
}

func (c *Collector) backoff(failures int) time.Duration {
	base, maxB := c.BackoffBase, c.BackoffMax
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if maxB <= 0 {
		maxB = DefaultBackoffMax
	}
	d := base
	for i := 1; i < failures && d < maxB; i++ {
		d *= 2
	}
	return min(d, maxB)
}

// Read reads every due source concurrently and returns what it saw. It
// never fails: a source that errors, times out or is backing off has its
// metrics marked stale, and its Health says why. now is the tick's time
// (it drives intervals and backoff).
func (c *Collector) Read(ctx context.Context, now time.Time) Snapshot {
	var wg sync.WaitGroup
	for _, e := range c.entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.readOne(ctx, e, now)
		}()
	}
	wg.Wait()
	snap := Snapshot{At: now, Targets: map[string]map[string]Sample{}}
	for _, e := range c.entries {
		e.mu.Lock()
		ms := snap.Targets[e.Target]
		if ms == nil {
			ms = map[string]Sample{}
			snap.Targets[e.Target] = ms
		}
		h := e.health
		h.Stale = nil
		for n, s := range e.last {
			// Two sources of a target may provide the same name: a fresh
			// value wins over a stale one, otherwise the later source.
			if old, dup := ms[n]; !dup || old.Stale || !s.Stale {
				ms[n] = s
			}
			if s.Stale {
				h.Stale = append(h.Stale, n)
			}
		}
		sort.Strings(h.Stale)
		e.mu.Unlock()
		snap.Health = append(snap.Health, h)
	}
	return snap
}

// Health reports every source's state as of the last Read.
func (c *Collector) Health() []Health {
	out := make([]Health, 0, len(c.entries))
	for _, e := range c.entries {
		e.mu.Lock()
		out = append(out, e.health)
		e.mu.Unlock()
	}
	return out
}

func (c *Collector) readOne(ctx context.Context, e *entry, now time.Time) {
	e.mu.Lock()
	if e.last == nil {
		e.last = map[string]Sample{}
		for _, n := range e.Metrics {
			e.last[n] = Sample{Stale: true, Reason: "not read yet"}
		}
	}
	switch {
	case e.busy:
		markStale(e.last, "the previous read is still running")
		e.mu.Unlock()
		return
	case !e.health.NextRetry.IsZero() && now.Before(e.health.NextRetry):
		markStale(e.last, fmt.Sprintf("source failing (%s); next retry at %s", e.health.Err, e.health.NextRetry.Format(time.TimeOnly)))
		e.mu.Unlock()
		return
	case e.Interval > 0 && e.health.OK && now.Sub(e.lastRead) < e.Interval:
		e.mu.Unlock()
		return
	}
	e.busy = true
	e.mu.Unlock()

	rctx, cancel := context.WithTimeout(ctx, e.Timeout)
	defer cancel()
	type result struct {
		m   map[string]Sample
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		var r result
		defer func() {
			// A source must never take the run down.
			if p := recover(); p != nil {
				r = result{err: fmt.Errorf("source panicked: %v", p)}
			}
			e.mu.Lock()
			e.busy = false
			e.mu.Unlock()
			done <- r
		}()
		r.m, r.err = e.Source.Read(rctx, now)
	}()
	var r result
	select {
	case r = <-done:
	case <-rctx.Done():
		r.err = fmt.Errorf("timed out after %s", e.Timeout)
	}
	if r.err == nil && rctx.Err() != nil {
		r.err = fmt.Errorf("timed out after %s", e.Timeout)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	e.health.Latency = time.Since(start)
	e.health.Reads++
	e.lastRead = now
	if r.err != nil {
		e.health.Errors++
		e.health.Failures++
		e.health.OK = false
		e.health.Err = r.err.Error()
		e.health.NextRetry = now.Add(c.backoff(e.health.Failures))
		markStale(e.last, r.err.Error())
		return
	}
	e.health.OK, e.health.Err, e.health.Failures, e.health.NextRetry = true, "", 0, time.Time{}
	e.health.LastOK = now
	for n, s := range r.m {
		if s.At.IsZero() {
			s.At = now
		}
		e.last[n] = s
	}
	// A declared metric the source did not return this time is stale.
	for n, s := range e.last {
		if _, ok := r.m[n]; !ok && !s.Stale {
			s.Stale, s.Reason = true, "not returned by the source"
			e.last[n] = s
		}
	}
}

func markStale(m map[string]Sample, reason string) {
	for n, s := range m {
		s.Stale, s.Reason = true, reason
		m[n] = s
	}
}
