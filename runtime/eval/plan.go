package eval

// The evaluation of the dry-run (`make eval-plan`): it starts the bundled
// testbed on 127.0.0.1, runs EvalPlan for real (runtime.Run: the metrics
// read, the real shaper chain, the run recorded into a history store),
// dry-runs the plan from that history (runtime/dryrun), runs the plan for
// real again, and compares the prediction with what happened
// (CompareRuns). The testbed's "cpu" is the utilisation of its worker
// pool, the resource that saturates: the run reads it from the testbed's
// testbed_utilization_seconds_total counter, and the evaluation measures
// it beside the run from the served requests over the capacity.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime"
	"github.com/loadshaper/loadshaper/runtime/dryrun"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/history"
	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/loadshaper/loadshaper/runtime/tick"
	"github.com/loadshaper/loadshaper/shapers"
)

// EvalPlan is the plan evaluated: a warm-up, an unguarded ramp past the
// testbed's capacity (where the first limit is reached), a cool-down, a
// phase held above capacity under the predictive guard (where the
// shaped rate is decided), and an unguarded burst at twice the capacity
// (where the engine's connections run out and it drops arrivals). %s is
// the testbed's URL. The envelope is on cpu only: with a latency_p99
// limit the guard's latency model can collapse the rate to 0 on noisy p99
// readings, which then ends the engine's phase (reported to their
// owners); the evaluation measures the dry-run.
const EvalPlan = `target "tb" {
  url = "%[1]s"

  metrics "scrape" {
    endpoint = "%[1]s/metrics"
    # Busy worker-seconds over the pool size: its rate is the pool's
    # utilisation, 0..1.
    cpu = "testbed_utilization_seconds_total"
  }
}

envelope "safe" {
  cpu = 0.8
}

request "work" {
  target = target.tb
  path   = "/work"
}

shaper "guard" {
  strategy = "predictive_rate_limit"
  envelope = envelope.safe
}

simulate {
  capacity = %[2]g
  cores    = %[3]d
}

phase "warm" {
  duration = "3s"
  rate     = 30
}

phase "ramp" {
  duration = "12s"
  rate     = ramp(30, %[4]g)
}

phase "cool" {
  duration = "4s"
  rate     = 30
}

phase "guarded" {
  duration = "12s"
  rate     = %[4]g
  shapers  = [shaper.guard]
}

phase "burst" {
  duration = "4s"
  rate     = %[5]g
}

threshold "latency_p99" {
  max = "250ms"
}
`

// EvalOptions tune the evaluation.
type EvalOptions struct {
	Capacity    float64 // testbed requests per second (default 300)
	Workers     int     // testbed workers (default 8)
	HistoryPath string  // the store the runs are recorded into (required)
	Seed        int64
	Log         io.Writer // progress lines; nil = none
}

// Evaluate runs the evaluation. It takes about 75 s (two real runs of
// 35 s each).
func Evaluate(ctx context.Context, o EvalOptions) (*EvalResult, error) {
	if o.HistoryPath == "" {
		return nil, fmt.Errorf("eval: a history path is required")
	}
	if o.Capacity <= 0 {
		o.Capacity = 300
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}
	tb, err := testbed.Start(testbed.Config{Workers: o.Workers, Capacity: o.Capacity, Cost: 100 * time.Microsecond})
	if err != nil {
		return nil, err
	}
	defer tb.Close()
	peak := 1.5 * o.Capacity
	src := fmt.Sprintf(EvalPlan, tb.URL, o.Capacity, o.Workers, peak, 2*o.Capacity)
	plan, diags := lang.LoadSource("eval-plan.lshcl", []byte(src), lang.LoadOptions{})
	if diags.Diags.HasErrors() || plan == nil {
		return nil, fmt.Errorf("eval plan: %s", diags.Diags.Error())
	}

	store, err := history.Open(o.HistoryPath)
	if err != nil {
		return nil, err
	}
	logf("run 1 (history): %s against the testbed at %s (capacity %g req/s)", plan.TotalDuration(), tb.URL, o.Capacity)
	if _, err := realRun(ctx, plan, tb, store); err != nil {
		store.Close()
		return nil, err
	}
	if err := store.Close(); err != nil {
		return nil, err
	}
	rep, err := dryrun.Predict(plan, o.Seed, dryrun.SourceOptions{HistoryPath: o.HistoryPath})
	if err != nil {
		return nil, err
	}
	logf("dry-run from history: %s", rep.Source.Detail)
	logf("run 2 (actual)")
	actual, err := realRun(ctx, plan, tb, nil)
	if err != nil {
		return nil, err
	}
	return &EvalResult{Rows: CompareRuns(plan, rep, actual), Source: rep.Source, Report: rep}, nil
}

// realRun runs plan against the testbed as `loadshaper run` does
// (runtime.Run: the metrics read, the real shaper chain, the history
// recorded into store when it is not nil). Beside it, it measures each
// tick's outcome: the instruction's rate, the testbed's utilisation, p99,
// throughput and drops.
func realRun(ctx context.Context, plan *lang.Plan, tb *testbed.Server, store *history.Store) ([]RunTick, error) {
	interval := plan.Settings.Tick
	if interval <= 0 {
		interval = time.Second
	}
	o := runtime.Options{NoHistory: true, Seed: 1}
	if store != nil {
		rec, err := store.Begin(history.Run{Plan: plan.Name, Start: time.Now()})
		if err != nil {
			return nil, err
		}
		o.Recorder = rec
	}
	classes := tick.RequestClasses(plan)
	var (
		mu    sync.Mutex
		ticks []RunTick
		scr   = &scraper{url: tb.URL + "/metrics"}
	)
	scr.read() // the counter's starting point
	o.OnTick = []func(*runtime.Tick){func(ts *runtime.Tick) {
		cpu := scr.read()
		mu.Lock()
		defer mu.Unlock()
		if ts.Span < interval/2 {
			// The short closing tick of a phase: too little to read a rate
			// from, but the engine counts the phase's drops in it.
			if n := len(ticks); n > 0 && ticks[n-1].Phase == ts.Phase {
				ticks[n-1].Dropped += float64(ts.Dropped)
			}
			return
		}
		ticks = append(ticks, RunTick{At: ts.Elapsed.Seconds(), Phase: ts.Phase, Rate: shapers.EffectiveRate(ts.Instruction, classes),
			CPU: cpu, P99: ts.Latency.P99 / 1000, Served: ts.Throughput, Dropped: float64(ts.Dropped)})
	}}
	res, err := runtime.Run(ctx, plan, o)
	if err != nil {
		return nil, err
	}
	sum := res.Summary
	if o.Recorder != nil {
		if err := o.Recorder.Finish(sum.Outcome, time.Now()); err != nil {
			return nil, err
		}
	}
	if sum.Outcome != engine.OutcomeCompleted {
		return nil, fmt.Errorf("eval run %s: %s", sum.Outcome, sum.Reason)
	}
	return ticks, nil
}

// scraper reads the testbed's utilisation from its /metrics: requests
// served per second since the last read, over its capacity.
type scraper struct {
	url    string
	last   float64
	lastAt time.Time
}

func (s *scraper) read() float64 {
	resp, err := http.Get(s.url)
	if err != nil {
		return math.NaN()
	}
	defer resp.Body.Close()
	var served, capacity float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch name {
		case `testbed_requests_total{code="200"}`:
			served = v
		case "testbed_capacity_rps":
			capacity = v
		}
	}
	now := time.Now()
	util := math.NaN()
	if !s.lastAt.IsZero() && capacity > 0 {
		util = math.Min((served-s.last)/now.Sub(s.lastAt).Seconds()/capacity, 1)
	}
	s.last, s.lastAt = served, now
	return util
}
