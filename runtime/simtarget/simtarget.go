// Package simtarget is the simulated system under test that `loadshaper
// plan` runs a plan against: given the offered arrival rate of each control
// tick it returns the metrics a real target would have reported (CPU as a
// fraction of its cores, lagged like a Prometheus rate() window; memory from
// Little's law; latency quantiles from an M/M/c queue that blows up near
// capacity). In front of it sits the load generator's side as the engine
// behaves: a pool of connections that bounds what is in flight, arrivals
// that wait at the client for a free connection (and are dropped when
// still waiting after their phase), and the client's timeout, past which a
// request fails.
//
// It is deterministic for a given seed and reads no clock: time is a
// parameter. It imports lang (to read a plan's simulate block) and nothing
// with I/O.
package simtarget

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/loadshaper/loadshaper/lang"
)

// Sample is what the simulated target reports at the end of one tick.
// CPU and ErrorRate are fractions, Memory is bytes, latencies are seconds,
// Throughput is served requests per second.
type Sample struct {
	CPU         float64 `json:"cpu"`
	Memory      float64 `json:"memory"`
	LatencyP50  float64 `json:"latency_p50"`
	LatencyP90  float64 `json:"latency_p90"`
	LatencyP95  float64 `json:"latency_p95"`
	LatencyP99  float64 `json:"latency_p99"`
	LatencyP999 float64 `json:"latency_p999"`
	LatencyMean float64 `json:"latency_mean"`
	ErrorRate   float64 `json:"error_rate"`
	Throughput  float64 `json:"throughput"`
	Connections float64 `json:"connections"` // requests in flight at the target (Little's law, at most the pool)
	// Requests completed in the tick (answered or failed) and how many of
	// them failed: the engine's per-tick requests and errors.
	Requests float64 `json:"requests"`
	Errors   float64 `json:"errors"`
	// Queued is the arrivals waiting at the client for a free connection at
	// the end of the tick; Dropped those the engine drops at the end of a
	// phase (still waiting when its grace ran out), set on the phase's last
	// tick by EndPhase's caller.
	Queued  float64 `json:"queued"`
	Dropped float64 `json:"dropped"`
	// Utilisation is the true cpu of the tick, before the rate() window the
	// CPU reading goes through: what an evaluation scores "above the
	// envelope" by (not reported, not seen by shapers).
	Utilisation float64 `json:"-"`
}

// Metrics are the metric names a Sample answers, in report order.
var Metrics = []string{"cpu", "memory", "latency_p50", "latency_p90", "latency_p95", "latency_p99", "latency_p999", "latency_mean", "error_rate", "throughput"}

// Metric returns the named metric and whether the simulator knows it.
// latency_max is answered with p99.9, the largest quantile modelled.
func (s Sample) Metric(name string) (float64, bool) {
	switch name {
	case "cpu":
		return s.CPU, true
	case "memory":
		return s.Memory, true
	case "latency_p50":
		return s.LatencyP50, true
	case "latency_p90":
		return s.LatencyP90, true
	case "latency_p95":
		return s.LatencyP95, true
	case "latency_p99":
		return s.LatencyP99, true
	case "latency_p999", "latency_max":
		return s.LatencyP999, true
	case "latency_mean", "latency_avg":
		return s.LatencyMean, true
	case "error_rate":
		return s.ErrorRate, true
	case "throughput", "rps":
		return s.Throughput, true
	case "connections", "concurrency":
		return s.Connections, true
	}
	return 0, false
}

// Target is a simulated system under test. Step advances it by dt under
// the offered arrival rate (requests per second) at run time at, and
// returns what it reports at the end of the step. Steps must be called
// with non-decreasing at.
type Target interface {
	Step(at, dt time.Duration, rate float64) Sample
	// EndPhase ends a phase: what still waits for a connection after grace
	// is dropped, what is in flight completes.
	EndPhase(grace time.Duration) PhaseEnd
}

// Model is the parametric target: every source of a simulated target
// (a simulate block, a fit to earlier runs, an imported history) ends up
// as one Model, so the dry-run behaves the same whichever it came from.
type Model struct {
	Cores          float64 // cores the target may use (> 0)
	BaseCPU        float64 // cpu fraction at zero load
	CostPerRequest float64 // CPU seconds per request
	CPUQuadratic   float64 // extra cpu fraction per (req/s)², from a fitted curve; 0 for a simulate block
	// MaxThroughput caps what the target serves below its CPU capacity (a
	// connection pool, a database): a simulate block with both capacity and
	// cost_per_request saturates at whichever comes first. 0 = CPU-bound.
	MaxThroughput float64
	BaseLatency   time.Duration // latency added to every request (network, fixed work)
	BaseMemory    float64       // bytes at zero load
	MemoryPerConn float64       // bytes per open connection
	MemoryPerRate float64       // bytes per req/s, from a fitted curve (memory that is not per connection)
	Noise         float64       // relative noise of every metric (0.05 = 5%)
	// LatencyNoise, when > 0, replaces Noise for latency: each tick's
	// quantiles are multiplied together by exp(LatencyNoise·N(0,1)), the
	// heavy upper tail measured latency shows (fitted to history).
	LatencyNoise float64
	Timeout      time.Duration // a request at the target longer than this fails (the client's timeout); default 30s
	// MaxConnections is the client's connection pool (the plan target's
	// max_connections): at most this many requests are at the target at
	// once, and further arrivals wait at the client. 0 = no pool: every
	// arrival is sent at once.
	MaxConnections int
	CPUWindow      time.Duration // the window of the rate() the cpu metric is read through; default 5s

	// LatencyCurve, when set, replaces the M/M/c latency: p99 (seconds) as a
	// function of utilisation, fitted to earlier runs. P50Ratio scales it
	// down to the median.
	LatencyCurve *Curve
	P50Ratio     float64

	// Capacity change: from CapacityChangeAt on, capacity is multiplied by
	// CapacityChangeTo (each request costs 1/CapacityChangeTo as much CPU).
	CapacityChangeAt time.Duration
	CapacityChangeTo float64

	// Background is a metric series the target carries regardless of the
	// offered load (an imported history's level or forecast), added to cpu
	// and memory; index = tick. Nil = none.
	BackgroundCPU    []float64
	BackgroundMemory []float64

	// CostChanges scale the CPU cost per request from a time on
	// (deployment intents: 1.2 = each request costs 20% more).
	CostChanges []CostChange
}

// CostChange scales the CPU cost per request from At on.
type CostChange struct {
	At     time.Duration
	Factor float64
}

// Curve is a latency curve fitted to earlier runs:
// p99 = Base + K·u/(1−u), u the CPU utilisation (clamped below 1).
type Curve struct {
	Base float64 // seconds
	K    float64 // seconds
}

// At returns the curve's p99 at utilisation u.
func (c Curve) At(u float64) float64 {
	u = math.Min(math.Max(u, 0), 0.995)
	return c.Base + c.K*u/(1-u)
}

// Default values of a simulate block's fields and of a plan without one.
const (
	DefaultCores       = 1.0
	DefaultCost        = 2 * time.Millisecond
	DefaultBaseLatency = time.Millisecond
	DefaultBaseMemory  = 64 << 20
	DefaultMemPerConn  = 64 << 10
	DefaultTimeout     = 30 * time.Second
	DefaultCPUWindow   = 5 * time.Second
)

// FromSimulate builds the Model a plan's simulate block describes. cost is
// taken from cost_per_request; when only capacity is given, a request costs
// cores/capacity CPU seconds (so cpu = 1.0 at the stated capacity).
func FromSimulate(s *lang.Simulate) (Model, error) {
	m := Model{
		Cores:         DefaultCores,
		BaseLatency:   DefaultBaseLatency,
		BaseMemory:    DefaultBaseMemory,
		MemoryPerConn: DefaultMemPerConn,
	}
	if s == nil {
		m.CostPerRequest = DefaultCost.Seconds()
		return m, m.validate()
	}
	if s.Cores < 0 || s.Capacity < 0 || s.CostPerRequest < 0 || s.BaseLatency < 0 {
		return m, fmt.Errorf("simulated target: cores, capacity, cost_per_request and base_latency must not be negative")
	}
	if s.Cores > 0 {
		m.Cores = s.Cores
	}
	m.BaseCPU = s.BaseCPU
	switch {
	case s.CostPerRequest > 0:
		m.CostPerRequest = s.CostPerRequest.Seconds()
		m.MaxThroughput = s.Capacity
	case s.Capacity > 0:
		m.CostPerRequest = m.Cores * (1 - m.BaseCPU) / s.Capacity
	default:
		m.CostPerRequest = DefaultCost.Seconds()
	}
	if s.BaseLatency > 0 {
		m.BaseLatency = s.BaseLatency
	}
	if s.BaseMemory > 0 {
		m.BaseMemory = s.BaseMemory
	}
	if s.MemoryPerConn > 0 {
		m.MemoryPerConn = s.MemoryPerConn
	}
	m.Noise = s.Noise
	m.CapacityChangeAt = s.CapacityChangeAt
	m.CapacityChangeTo = s.CapacityChangeTo
	return m, m.validate()
}

func (m Model) validate() error {
	switch {
	case !(m.Cores > 0) || math.IsInf(m.Cores, 0):
		return fmt.Errorf("simulated target: cores must be > 0, got %g", m.Cores)
	case m.BaseCPU < 0 || m.BaseCPU >= 1 || math.IsNaN(m.BaseCPU):
		return fmt.Errorf("simulated target: base_cpu must be in [0, 1), got %g", m.BaseCPU)
	case !(m.CostPerRequest > 0) || math.IsInf(m.CostPerRequest, 0):
		return fmt.Errorf("simulated target: cost per request must be > 0, got %gs", m.CostPerRequest)
	case m.Noise < 0 || m.Noise > 1 || math.IsNaN(m.Noise) || m.LatencyNoise < 0 || m.LatencyNoise > 3 || math.IsNaN(m.LatencyNoise):
		return fmt.Errorf("simulated target: noise must be in [0, 1], got %g", m.Noise)
	case m.CapacityChangeTo < 0 || math.IsNaN(m.CapacityChangeTo):
		return fmt.Errorf("simulated target: capacity_change_to must be >= 0, got %g", m.CapacityChangeTo)
	case m.BaseMemory < 0 || m.MemoryPerConn < 0 || m.MaxThroughput < 0:
		return fmt.Errorf("simulated target: memory figures must be >= 0")
	case m.MaxConnections < 0:
		return fmt.Errorf("simulated target: max connections must be >= 0, got %d", m.MaxConnections)
	}
	for _, c := range m.CostChanges {
		if !(c.Factor > 0) {
			return fmt.Errorf("simulated target: a cost change factor must be > 0, got %g", c.Factor)
		}
	}
	return nil
}

// Capacity is the largest rate (requests per second) the target serves at
// run time at: where cpu reaches 1.
func (m Model) Capacity(at time.Duration) float64 { return m.capacity(at, 0) }

// capacity is Capacity with bg of the cpu taken by background work.
func (m Model) capacity(at time.Duration, bg float64) float64 {
	cost := m.cost(at)
	head := math.Max(1-m.BaseCPU-bg, 0)
	var c float64
	if m.CPUQuadratic > 0 {
		// base + b·r + c·r² = 1  →  r = (−b + √(b² + 4c·head)) / 2c
		b := cost / m.Cores
		c = (-b + math.Sqrt(b*b+4*m.CPUQuadratic*head)) / (2 * m.CPUQuadratic)
	} else {
		c = head * m.Cores / cost
	}
	if m.MaxThroughput > 0 {
		mt := m.MaxThroughput
		if m.CapacityChangeAt > 0 && at >= m.CapacityChangeAt && m.CapacityChangeTo > 0 {
			mt *= m.CapacityChangeTo
		}
		c = math.Min(c, mt)
	}
	return c
}

func (m Model) cost(at time.Duration) float64 {
	c := m.CostPerRequest
	if m.CapacityChangeAt > 0 && at >= m.CapacityChangeAt && m.CapacityChangeTo > 0 {
		c /= m.CapacityChangeTo
	}
	for _, ch := range m.CostChanges {
		if at >= ch.At {
			c *= ch.Factor
		}
	}
	return c
}

// New returns a simulated target running m, seeded for its noise.
func New(m Model, seed int64) (*Sim, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	if m.Timeout <= 0 {
		m.Timeout = DefaultTimeout
	}
	if m.CPUWindow <= 0 {
		m.CPUWindow = DefaultCPUWindow
	}
	return &Sim{m: m, rng: rand.New(rand.NewPCG(uint64(seed), 0x10ad5a9e))}, nil
}

// Sim is a running simulated target with the client's connection pool in
// front of it. Not safe for concurrent use.
type Sim struct {
	m   Model
	rng *rand.Rand
	// client holds the arrivals waiting for a free connection (the
	// engine's generators queue them and keep their intended time);
	// target the requests sent and waiting for the target's servers.
	client, target fifo
	serveRate      float64 // requests the target served per second in the last sub-step
	capacity       float64 // capacity at the last step
	now            float64 // run time at the end of the last step, seconds
	lat            []latSample
	cpuHist        []float64 // true cpu of the last ticks, for the rate() window
	cpuDts         []float64
	tick           int
}

// latSample is a part of a tick's completed requests: how long they
// waited at the client for a connection and at the target for a server,
// and whether they failed (the client's timeout).
type latSample struct {
	n, client, target float64
	failed            bool
}

// maxSubstep is the longest step of the queue simulation inside a tick.
const maxSubstep = 0.05

// Model returns the model the target runs.
func (s *Sim) Model() Model { return s.m }

// pool is the number of requests the client can have at the target at
// once; +Inf without a connection pool.
func (s *Sim) pool() float64 {
	if s.m.MaxConnections > 0 {
		return float64(s.m.MaxConnections)
	}
	return math.Inf(1)
}

// hold is a request's time at the target when nothing queues there: the
// base latency and one service time of its c servers.
func (m Model) hold(capacity float64) float64 {
	c := math.Max(1, math.Ceil(m.Cores))
	mu := capacity / c
	if mu <= 0 {
		mu = 1 / m.CostPerRequest
	}
	return m.BaseLatency.Seconds() + 1/mu
}

// advance runs the client's pool and the target's queue from run time
// start for sec seconds under arrival rate, in sub-steps of at most 50 ms
// (and a quarter of the timeout). It returns the requests answered in
// time, those that failed (the client's timeout), and the work the target
// did (late answers included). With record, each completed part is kept
// in s.lat for the tick's latency.
func (s *Sim) advance(start, sec, rate, capacity float64, record bool) (served, failed, work float64) {
	timeout := s.m.Timeout.Seconds()
	hold := s.m.hold(capacity)
	pool := s.pool()
	subs := int(math.Ceil(sec / math.Min(maxSubstep, timeout/4)))
	subs = min(max(subs, 1), 1000)
	h := sec / float64(subs)
	keep := func(ls latSample) {
		if record {
			s.lat = append(s.lat, ls)
		}
	}
	for k := 0; k < subs; k++ {
		t0 := start + float64(k)*h
		s.client.push(cohort{n: rate * h, t: t0 + h/2})
		// A connection not held by a request at the target (queued or in
		// service) sends the client queue's head, in the middle of the
		// sub-step on average.
		busy := math.Min(s.serveRate, capacity) * hold
		if room := pool - busy - s.target.sum; room > 0 {
			s.client.take(room, func(p cohort) {
				p.sent = t0 + h/2
				s.target.push(p)
			})
		}
		// The target serves up to capacity·h from its queue's head. A
		// request that waited so long that its answer would come after the
		// timeout fails: the client has given up.
		got := 0.0
		if capacity > 0 {
			got = s.target.take(capacity*h, func(p cohort) {
				wait := math.Max(0, t0+h/2-p.sent)
				ls := latSample{n: p.n, client: math.Max(0, p.sent-p.t), target: wait}
				if wait+hold > timeout {
					ls.failed, ls.target = true, timeout
					failed += p.n
				} else {
					served += p.n
				}
				keep(ls)
			})
		}
		// The client's timeout: what is still queued at the target a
		// timeout after it was sent fails.
		for !s.target.empty() && s.target.front().sent+timeout <= t0+h {
			s.target.take(s.target.front().n, func(p cohort) {
				failed += p.n
				keep(latSample{n: p.n, client: math.Max(0, p.sent-p.t), target: timeout, failed: true})
			})
		}
		work += got
		s.serveRate = got / h
	}
	return served, failed, work
}

// Step implements Target.
//
// Inside the tick it simulates (advance) what the engine's generator and a
// FIFO target do with the arrivals: each arrival waits at the client until
// one of the pool's MaxConnections is free (keeping its intended start, so
// the wait is latency), is sent, waits at the target for a server, and is
// served at the target's capacity. A request whose time at the target
// exceeds the timeout fails: either still queued then, or served so late
// that its answer comes after the client gave up (the target did the work
// all the same).
func (s *Sim) Step(at, dt time.Duration, rate float64) Sample {
	m := s.m
	sec := dt.Seconds()
	if sec <= 0 {
		sec = 1
	}
	if rate < 0 || math.IsNaN(rate) {
		rate = 0
	}
	bg := func(series []float64) float64 {
		if len(series) == 0 {
			return 0
		}
		return series[min(s.tick, len(series)-1)]
	}
	capacity := m.capacity(at, bg(m.BackgroundCPU))
	s.capacity = capacity
	timeout := m.Timeout.Seconds()
	hold := m.hold(capacity)
	pool := s.pool()

	start := at.Seconds()
	s.lat = s.lat[:0]
	served, failed, work := s.advance(start, sec, rate, capacity, true)
	s.now = start + sec
	done := served + failed

	// True CPU (from the work the target did, late answers included), then
	// read through the rate() window.
	workRate := work / sec
	cpu := m.BaseCPU + workRate*m.cost(at)/m.Cores + m.CPUQuadratic*workRate*workRate + bg(m.BackgroundCPU)
	cpu = math.Min(cpu, 1)
	s.cpuHist = append(s.cpuHist, cpu)
	s.cpuDts = append(s.cpuDts, sec)
	var win, sum, w float64
	for i := len(s.cpuHist) - 1; i >= 0 && win < m.CPUWindow.Seconds()-1e-9; i-- {
		sum += s.cpuHist[i] * s.cpuDts[i]
		w += s.cpuDts[i]
		win += s.cpuDts[i]
	}
	if keep := 64; len(s.cpuHist) > 4*keep {
		s.cpuHist = append([]float64(nil), s.cpuHist[len(s.cpuHist)-keep:]...)
		s.cpuDts = append([]float64(nil), s.cpuDts[len(s.cpuDts)-keep:]...)
	}
	if rest := m.CPUWindow.Seconds() - win; rest > 1e-9 {
		// Before the run the target idled: the window's older part holds
		// zero-load cpu, so the first ticks lag like the rest.
		idle := math.Min(m.BaseCPU+bg(m.BackgroundCPU), 1)
		sum += idle * rest
		w += rest
	}
	reported := sum / w

	// Latency at the target at the offered load: M/M/c (c = the cores,
	// service rate so that c servers serve `capacity`) or the fitted curve;
	// bare is the same without queueing, to which the simulated queue's
	// wait is added when it is the longer.
	util := 0.0
	if capacity > 0 {
		util = math.Min(rate/capacity, 0.995)
	}
	base := m.BaseLatency.Seconds()
	var stat, bare [5]float64 // p50 p90 p95 p99 p99.9
	quantiles := [5]float64{0.5, 0.9, 0.95, 0.99, 0.999}
	var statMean, bareMean float64
	if m.LatencyCurve != nil {
		ratio := m.P50Ratio
		if ratio <= 0 || ratio > 1 {
			ratio = 0.5
		}
		curve := func(u float64, q *[5]float64) float64 {
			p99 := m.LatencyCurve.At(u)
			// Interpolate the other quantiles on a log scale between p50 and p99.
			p50 := p99 * ratio
			for i, qq := range quantiles {
				f := math.Log(1/(1-qq)) / math.Log(100) // 0.15 at p50, 1 at p99
				f = (f - math.Log(2)/math.Log(100)) / (1 - math.Log(2)/math.Log(100))
				q[i] = p50 * math.Pow(p99/p50, f)
			}
			return (p50 + p99) / 2
		}
		statMean = curve(util, &stat)
		bareMean = curve(0, &bare)
	} else {
		c := math.Max(1, math.Ceil(m.Cores))
		mu := capacity / c // per server
		if mu <= 0 {
			mu = 1 / m.CostPerRequest
		}
		lambda := util * capacity
		pw := erlangC(c, lambda/mu)
		gap := c*mu - lambda
		// The pool bounds the queue at the target: at most pool − busy wait
		// there (past capacity the simulated queue's wait takes over as it
		// grows: the larger of the two counts).
		maxWait := math.Max(0, pool-math.Min(rate, capacity)*hold) / math.Max(capacity, 1e-9)
		for i, qq := range quantiles {
			wait := 0.0
			if pw > 1-qq && gap > 0 {
				wait = math.Min(math.Log(pw/(1-qq))/gap, maxWait)
			}
			bare[i] = base + -math.Log(1-qq)/mu
			stat[i] = bare[i] + wait
		}
		bareMean = base + 1/mu
		statMean = bareMean
		if pw > 0 && gap > 0 {
			statMean += math.Min(pw/gap, maxWait)
		}
	}
	// Each completed part's latency from its intended start: its wait for
	// a connection, then its time at the target (at most the timeout, past
	// which the client gives up).
	latOf := func(ls latSample, st, br float64) float64 {
		if ls.failed {
			return ls.client + timeout
		}
		return ls.client + math.Min(timeout, math.Max(st, br+ls.target))
	}
	var q [5]float64
	mean, targetMean := statMean, statMean
	if done > 0 {
		for i := range quantiles {
			q[i] = weightedQuantile(s.lat, quantiles[i], func(ls latSample) float64 { return latOf(ls, stat[i], bare[i]) })
		}
		mean, targetMean = 0, 0
		for _, ls := range s.lat {
			l := latOf(ls, statMean, bareMean)
			mean += ls.n * l
			targetMean += ls.n * (l - ls.client)
		}
		mean /= done
		targetMean /= done
	} else {
		for i := range q {
			q[i] = math.Min(stat[i], timeout)
		}
		mean, targetMean = math.Min(statMean, timeout), math.Min(statMean, timeout)
	}

	// In flight: Little's law on the target's side (at least what holds a
	// connection at the end of the tick, and all of the pool while arrivals
	// wait for one), bounded by the pool.
	conns := targetMean * done / sec
	if done == 0 {
		conns = rate * targetMean
	}
	conns = math.Min(math.Max(conns, math.Min(s.serveRate, capacity)*hold+s.target.sum+s.client.sum), pool)
	mem := m.BaseMemory + m.MemoryPerConn*conns + m.MemoryPerRate*workRate + bg(m.BackgroundMemory)

	errRate := 0.0
	if done > 0 {
		errRate = failed / done
	}
	lat := s.noisy
	if m.LatencyNoise > 0 {
		f := math.Exp(m.LatencyNoise * s.rng.NormFloat64())
		lat = func(v float64) float64 { return v * f }
	}
	out := Sample{
		CPU:         math.Min(s.noisy(reported), 1),
		Memory:      s.noisy(mem),
		LatencyP50:  lat(q[0]),
		LatencyP90:  lat(q[1]),
		LatencyP95:  lat(q[2]),
		LatencyP99:  lat(q[3]),
		LatencyP999: lat(q[4]),
		LatencyMean: mean,
		ErrorRate:   errRate,
		Throughput:  done / sec,
		Connections: conns,
		Requests:    done,
		Errors:      failed,
		Queued:      s.client.sum,
		Utilisation: cpu,
	}
	// Noise must not reorder the quantiles.
	out.LatencyP90 = math.Max(out.LatencyP90, out.LatencyP50)
	out.LatencyP95 = math.Max(out.LatencyP95, out.LatencyP90)
	out.LatencyP99 = math.Max(out.LatencyP99, out.LatencyP95)
	out.LatencyP999 = math.Max(out.LatencyP999, out.LatencyP99)
	s.tick++
	return out
}

// PhaseEnd is what the end of a phase adds beyond its ticks: requests
// completed (and failed) while the engine finished the phase, and the
// arrivals it dropped.
type PhaseEnd struct {
	Requests, Errors, Dropped float64
}

// EndPhase ends a phase as the engine's generator does: the arrivals still
// waiting for a connection are sent as connections free up during grace
// (the engine's drop grace, 1 s) and the rest are dropped — never sent, so
// neither requests nor errors; then what is in flight completes before the
// next phase starts. With grace 0 the queue is discarded without sending
// (a phase ended early, whose queued arrivals the engine discards). That
// time is outside the ticks: the target's cpu does not see it.
func (s *Sim) EndPhase(grace time.Duration) PhaseEnd {
	var end PhaseEnd
	if grace > 0 && s.client.sum > 0 {
		served, failed, _ := s.advance(s.now, grace.Seconds(), 0, s.capacity, false)
		end.Requests, end.Errors = served+failed, failed
	}
	end.Dropped = s.client.clear()
	// In flight: what the target answers within the timeout; the rest
	// times out.
	if s.target.sum > 0 {
		served, failed, _ := s.advance(s.now+grace.Seconds(), s.m.Timeout.Seconds()+maxSubstep, 0, s.capacity, false)
		end.Requests += served + failed
		end.Errors += failed
	}
	s.target.clear()
	s.serveRate = 0
	return end
}

// weightedQuantile is the q-quantile of value over the parts, weighted by
// their request counts.
func weightedQuantile(parts []latSample, q float64, value func(latSample) float64) float64 {
	type vw struct{ v, w float64 }
	xs := make([]vw, 0, len(parts))
	total := 0.0
	for _, p := range parts {
		xs = append(xs, vw{value(p), p.n})
		total += p.n
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].v < xs[j].v })
	acc := 0.0
	for _, x := range xs {
		acc += x.w
		if acc >= q*total-1e-9 {
			return x.v
		}
	}
	return xs[len(xs)-1].v
}

func (s *Sim) noisy(v float64) float64 {
	if s.m.Noise == 0 {
		return v
	}
	return math.Max(0, v*(1+s.m.Noise*s.rng.NormFloat64()))
}

// erlangC is the probability that an arrival waits in an M/M/c queue with
// c servers and offered load a = λ/μ (in servers), from the Erlang B
// recursion, which stays stable for large c.
func erlangC(c, a float64) float64 {
	if a <= 0 {
		return 0
	}
	rho := a / c
	if rho >= 1 {
		return 1
	}
	b := 1.0
	for k := 1.0; k <= c; k++ {
		b = a * b / (k + a*b)
	}
	return b / (1 - rho*(1-b))
}
