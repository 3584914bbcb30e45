package simtarget

import (
	"fmt"
	"math"
	"time"

	"github.com/loadshaper/loadshaper/predictors"
)

// Obs is one control tick of an earlier run: the rate sent and what the
// target reported. NaN marks a metric the tick did not have.
type Obs struct {
	Rate, CPU, Memory, P50, P99 float64
	// Served is the throughput the client saw (NaN = not recorded). When
	// present it stands for the rate in the fits (the instruction's rate is
	// set at the tick's start; a ramp moves on within the tick), and a tick
	// that served under 90% of its rate is saturated and not fitted.
	Served float64
}

// load is the rate an observation's target worked at, and whether the
// tick is usable for a fit (not saturated).
func (o Obs) load() (float64, bool) {
	if !finite(o.Served) {
		return o.Rate, finite(o.Rate)
	}
	if finite(o.Rate) && o.Served < 0.9*o.Rate {
		return o.Served, false
	}
	return o.Served, true
}

// FitInfo says what stood behind a fitted model.
type FitInfo struct {
	Runs, Ticks int
	CPUPairs    int     // lag-aligned (rate, cpu) pairs below saturation
	Lag         int     // the cpu metric's window, in ticks (a rate() over it)
	Delay       int     // ticks between a tick and the record holding its cpu
	ServedShift int     // ticks between a tick and the record holding its client figures
	CPUSigma    float64 // residual standard deviation of the cpu fit
	Detail      string  // the fitted curves, in words
}

// Fit builds a Model from earlier runs of the same plan: the load-response
// curve cpu = a + b·rate (+ c·rate²) by least squares on lag-aligned pairs
// below saturation (predictors.LinearFit / QuadraticFit, the regression the
// online predictors use), the latency curve p99 = L₀ + K·u/(1−u) against
// the fitted utilisation u, and memory = m₀ + m₁·rate. base supplies what
// history cannot tell (cores, timeout, the capacity change of a simulate
// block). It fails when the runs hold too little to fit cpu.
func Fit(runs [][]Obs, tick time.Duration, base Model) (Model, FitInfo, error) {
	info := FitInfo{Runs: len(runs)}
	if tick <= 0 {
		tick = time.Second
	}
	m := base
	if m.Cores <= 0 {
		m.Cores = DefaultCores
	}
	for _, r := range runs {
		info.Ticks += len(r)
	}
	// Alignment. A recorder may store a tick's readings one or two ticks
	// after the instruction they answer (metrics read at the start of the
	// next tick). The client's figures (throughput, latency) shift by the s
	// that best matches the throughput to the rate; the target's (cpu,
	// memory) by the delay d chosen with the window below.
	info.ServedShift = servedShift(runs)
	shifted := func(d int) [][]Obs {
		out := make([][]Obs, len(runs))
		nan := math.NaN()
		for i, r := range runs {
			out[i] = make([]Obs, len(r))
			for t := range r {
				o := Obs{Rate: r[t].Rate, Served: nan, P50: nan, P99: nan, CPU: nan, Memory: nan}
				if u := t + info.ServedShift; u < len(r) {
					o.Served, o.P50, o.P99 = r[u].Served, r[u].P50, r[u].P99
				}
				if u := t + d; u < len(r) {
					o.CPU, o.Memory = r[u].CPU, r[u].Memory
				}
				out[i][t] = o
			}
		}
		return out
	}
	// Lag: the cpu of a rate() window answers the mean rate of the window.
	// Try delays of 0–3 ticks and windows of 1–15 and keep the pair whose
	// linear fit leaves the smallest residual.
	pairs := func(runs [][]Obs, w int) (x, y []float64) {
		for _, r := range runs {
			sum, n := 0.0, 0
			for t := range r {
				if l, _ := r[t].load(); finite(l) {
					sum += l
					n++
				}
				if t >= w {
					if l, _ := r[t-w].load(); finite(l) {
						sum -= l
						n--
					}
				}
				if _, ok := r[t].load(); t < w-1 || n == 0 || !ok {
					continue
				}
				cpu := r[t].CPU
				if !finite(cpu) || cpu >= 0.95 {
					continue
				}
				x, y = append(x, sum/float64(n)), append(y, cpu)
			}
		}
		return x, y
	}
	bestSigma := math.Inf(1)
	var xr, ycpu []float64
	aligned := shifted(0)
	for d := 0; d <= 3; d++ {
		cand := shifted(d)
		for w := 1; w <= 15; w++ {
			x, y := pairs(cand, w)
			if len(x) < 10 {
				continue
			}
			fit, err := predictors.LinearFit(x, y)
			if err != nil {
				continue
			}
			if fit.Sigma < bestSigma*0.98 || xr == nil {
				bestSigma, xr, ycpu, info.Lag, info.Delay, aligned = fit.Sigma, x, y, w, d, cand
			}
		}
	}
	runs = aligned
	if xr == nil {
		xr, ycpu = pairs(runs, 1) // one operating point: no fit to choose a window by
		info.Lag = 1
	}
	if len(xr) < 10 {
		// No cpu in history (a plan without a metrics source): the client's
		// figures still show the capacity, where throughput stopped
		// following the rate, and the latency curve against it.
		capacity, how, ok := observedCapacity(runs, base)
		if !ok {
			return base, info, fmt.Errorf("%d usable (rate, cpu) pairs in %d run(s), want at least 10, and no throughput to read a capacity from", len(xr), len(runs))
		}
		m.CostPerRequest = m.Cores * (1 - m.BaseCPU) / capacity
		m.CPUQuadratic = 0
		info.Detail = fmt.Sprintf("no cpu in history: %s (client shift %d)", how, info.ServedShift)
	} else {
		// Trim the pairs a straight line cannot explain (a backlog draining
		// after saturation, a stall): beyond 3 robust σ of the first fit.
		trimmed := 0
		if lin, err := predictors.LinearFit(xr, ycpu); err == nil {
			res := make([]float64, len(xr))
			for i := range xr {
				p, _ := lin.Predict(xr[i])
				res[i] = ycpu[i] - p
			}
			if mad, err := predictors.MAD(res); err == nil {
				cut := math.Max(3*1.4826*mad, 1e-3)
				var kx, ky []float64
				for i := range xr {
					if math.Abs(res[i]) <= cut {
						kx, ky = append(kx, xr[i]), append(ky, ycpu[i])
					}
				}
				if len(kx) >= 10 {
					trimmed = len(xr) - len(kx)
					xr, ycpu = kx, ky
				}
			}
		}
		info.CPUPairs = len(xr)
		lo, hi := minMax(xr)
		if !(hi > 0) {
			return base, info, fmt.Errorf("the earlier runs sent no load")
		}
		var a, b, c float64
		how := ""
		if lin, err := predictors.LinearFit(xr, ycpu); err == nil && hi > 1.3*lo && lin.Coef[1] > 0 {
			a, b, info.CPUSigma = lin.Coef[0], lin.Coef[1], lin.Sigma
			how = fmt.Sprintf("cpu = %.3g + %.3g·rate", a, b)
			if len(xr) >= 30 {
				if q, err := predictors.QuadraticFit(xr, ycpu); err == nil && q.Coef[2] > 0 && q.Coef[1] >= 0 && q.Sigma < 0.9*lin.Sigma {
					a, b, c, info.CPUSigma = q.Coef[0], q.Coef[1], q.Coef[2], q.Sigma
					how = fmt.Sprintf("cpu = %.3g + %.3g·rate + %.3g·rate²", a, b, c)
				}
			}
		} else {
			// One operating point: the slope is not identifiable from history;
			// assume the zero-load cpu of the base model and go through the mean.
			mr, _ := predictors.Mean(xr)
			mc, _ := predictors.Mean(ycpu)
			if !(mr > 0) || !(mc > base.BaseCPU) {
				return base, info, fmt.Errorf("the earlier runs held one rate (%.3g req/s): cpu per request is not identifiable", mr)
			}
			a, b = base.BaseCPU, (mc-base.BaseCPU)/mr
			sd, _ := predictors.Stddev(ycpu)
			info.CPUSigma = sd
			how = fmt.Sprintf("cpu = %.3g + %.3g·rate (one operating point, %.3g req/s: slope through the base cpu)", a, b, mr)
		}
		m.BaseCPU = math.Min(math.Max(a, 0), 0.95)
		m.CostPerRequest = b * m.Cores
		m.CPUQuadratic = c
		if m.CostPerRequest <= 0 {
			return base, info, fmt.Errorf("fitted cpu per request is not positive")
		}
		// A pure delay of d ticks reads like a window twice as long.
		m.CPUWindow = time.Duration(info.Lag+2*info.Delay) * tick
		if mc, _ := predictors.Mean(ycpu); mc > 0 {
			m.Noise = math.Min(info.CPUSigma/mc, 0.3)
		}
		info.Detail = fmt.Sprintf("%s (σ %.3g, window %d tick(s), delay %d, client shift %d, %d pairs, %d trimmed, rate %.3g–%.3g req/s)", how, info.CPUSigma, info.Lag, info.Delay, info.ServedShift, len(xr), trimmed, lo, hi)
	}
	util := func(rate float64) float64 {
		return m.BaseCPU + rate*m.CostPerRequest/m.Cores + m.CPUQuadratic*rate*rate
	}

	// Latency: p99 against utilisation, through the origin of the queueing
	// term (K ≥ 0), and the p50/p99 ratio.
	var xu, y99, ratios []float64
	for _, r := range runs {
		for _, o := range r {
			l, ok := o.load()
			if !ok || !finite(o.P99) || o.P99 <= 0 || (finite(o.CPU) && o.CPU >= 0.95) {
				continue // saturated ticks hold a backlog's wait, not the curve
			}
			u := math.Min(util(l), 0.98)
			xu, y99 = append(xu, u/(1-u)), append(y99, o.P99)
			if finite(o.P50) && o.P50 > 0 {
				ratios = append(ratios, math.Min(o.P50/o.P99, 1))
			}
		}
	}
	if len(xu) >= 5 {
		curve := Curve{}
		if fit, err := predictors.LinearFit(xu, y99); err == nil && fit.Coef[1] > 0 && fit.Coef[0] >= 0 {
			curve = Curve{Base: fit.Coef[0], K: fit.Coef[1]}
		} else {
			md, _ := predictors.Median(y99)
			curve = Curve{Base: md}
		}
		m.LatencyCurve = &curve
		// The spread of measured p99 around the curve, on a log scale.
		var lr []float64
		for i := range xu {
			u := xu[i] / (1 + xu[i])
			if c := curve.At(u); c > 0 {
				lr = append(lr, math.Log(y99[i]/c))
			}
		}
		if sd, err := predictors.Stddev(lr); err == nil && len(lr) >= 5 {
			m.LatencyNoise = math.Min(sd, 1.5)
		}
		m.P50Ratio = 0.5
		if len(ratios) > 0 {
			m.P50Ratio, _ = predictors.Median(ratios)
		}
		info.Detail += fmt.Sprintf("; p99 = %s + %s·u/(1−u) (log σ %.2f)", fmtSec(curve.Base), fmtSec(curve.K), m.LatencyNoise)
	}
	// Memory: a straight line in the rate.
	var xm, ym []float64
	for _, r := range runs {
		for _, o := range r {
			if l, ok := o.load(); ok && finite(o.Memory) {
				xm, ym = append(xm, l), append(ym, o.Memory)
			}
		}
	}
	if len(xm) >= 5 {
		if fit, err := predictors.LinearFit(xm, ym); err == nil {
			m.BaseMemory = math.Max(fit.Coef[0], 0)
			m.MemoryPerRate = math.Max(fit.Coef[1], 0)
			m.MemoryPerConn = 0
		} else if md, err := predictors.Median(ym); err == nil {
			m.BaseMemory, m.MemoryPerRate, m.MemoryPerConn = md, 0, 0
		}
		info.Detail += fmt.Sprintf("; memory = %.3g + %.3g·rate bytes", m.BaseMemory, m.MemoryPerRate)
	}
	return m, info, m.validate()
}

func fmtSec(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(10 * time.Microsecond).String()
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func minMax(xs []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// Background forecasts an imported metric series over the next n ticks of
// length tick: a damped Holt model (predictors.Holt) fitted to the series,
// its point forecast resampled from the series' own step to the plan's
// tick. step is the series' sampling interval.
func Background(series []float64, step, tick time.Duration, n int) ([]float64, error) {
	if len(series) < 3 {
		return nil, fmt.Errorf("an imported series of %d point(s) is too short to forecast", len(series))
	}
	if step <= 0 || tick <= 0 || n <= 0 {
		return nil, fmt.Errorf("bad forecast span")
	}
	h := int(math.Ceil(float64(n)*tick.Seconds()/step.Seconds())) + 1
	holt := &predictors.Holt{Damped: true}
	if err := holt.Fit(series); err != nil {
		return nil, err
	}
	fc := holt.Forecast(h, 0.8)
	out := make([]float64, n)
	for i := range out {
		j := min(int(float64(i)*tick.Seconds()/step.Seconds()), len(fc.Mean)-1)
		out[i] = math.Max(fc.Mean[j], 0)
	}
	return out, nil
}

// servedShift is the shift (0–2 ticks) at which the recorded throughput
// best matches the recorded rate: the median relative gap over ticks with
// both, the smallest shift within 10% of the best. 0 without throughput.
func servedShift(runs [][]Obs) int {
	best, bestGap := 0, math.Inf(1)
	for s := 0; s <= 2; s++ {
		var gaps []float64
		for _, r := range runs {
			for t := 0; t+s < len(r); t++ {
				rate, served := r[t].Rate, r[t+s].Served
				if finite(rate) && finite(served) && rate > 0 {
					gaps = append(gaps, math.Abs(served-rate)/rate)
				}
			}
		}
		if len(gaps) < 5 {
			continue
		}
		g, _ := predictors.Median(gaps)
		if g < bestGap*0.9 {
			best, bestGap = s, g
		}
	}
	return best
}

// observedCapacity reads a capacity from the client's figures: the median
// throughput of the ticks that served under 90% of their rate. When no tick
// saturated, the base model's capacity, raised to 1.1× the most served.
func observedCapacity(runs [][]Obs, base Model) (float64, string, bool) {
	var sat []float64
	most := 0.0
	for _, r := range runs {
		for _, o := range r {
			if !finite(o.Served) {
				continue
			}
			most = math.Max(most, o.Served)
			if _, ok := o.load(); !ok {
				sat = append(sat, o.Served)
			}
		}
	}
	if most <= 0 {
		return 0, "", false
	}
	if len(sat) >= 3 {
		c, _ := predictors.Median(sat)
		if c > 0 {
			return c, fmt.Sprintf("capacity %.4g req/s where throughput stopped following the rate (%d saturated ticks)", c, len(sat)), true
		}
	}
	c := math.Max(base.Capacity(0), 1.1*most)
	return c, fmt.Sprintf("capacity not reached (at most %.4g req/s served): assumed %.4g req/s", most, c), true
}
