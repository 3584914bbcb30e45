package eval

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/dryrun"
)

// The comparison of the dry-run's evaluation: how well does `loadshaper
// plan`, fitted to a plan's previous run, predict the plan's next real run?

// EvalRow compares one predicted figure with the real run.
type EvalRow struct {
	Name      string  `json:"name"`
	Predicted float64 `json:"predicted"`
	Actual    float64 `json:"actual"`
	Error     float64 `json:"error"` // in Unit: relative (fraction), absolute or seconds
	Bound     float64 `json:"bound"`
	Unit      string  `json:"unit"` // "relative" | "absolute" | "seconds" | "log2"
	OK        bool    `json:"ok"`
}

// EvalResult is the evaluation's outcome.
type EvalResult struct {
	Rows   []EvalRow
	Source dryrun.Source // the simulated target the dry-run fitted from run 1
	Report *dryrun.Report
}

// RunTick is what a real run showed in one tick.
type RunTick struct {
	At      float64 // seconds from the start of the run, end of the tick
	Phase   string
	Rate    float64 // instruction rate
	CPU     float64
	P99     float64
	Served  float64
	Dropped float64 // arrivals dropped (the phase's closing tick's are added to its last tick)
}

// dropBound is the bound on the relative error of the predicted drops. The
// burst's drops are its arrivals less what the target serves in the
// phase and the 1 s grace and what the pool holds (2400 − 5·300 − ~90 ≈ 800
// at the defaults): an error e in the fitted capacity moves them by about
// e·1500, so the 25% bound of the shaped rate would allow ~50%; the bound
// is set tighter at 35%.
const dropBound = 0.35

// CompareRuns puts the prediction beside the real run.
func CompareRuns(plan *lang.Plan, rep *dryrun.Report, actual []RunTick) []EvalRow {
	lim := 0.0
	for _, l := range rep.Limits {
		if l.Metric == "cpu" {
			lim = l.Max
		}
	}
	// Predicted: each tick's figures describe [T, T+tick); actual ticks are
	// stamped at their end.
	var pRate, pCPU []float64
	var pTicks []dryrun.Tick
	pFirst := math.NaN()
	for _, tk := range rep.Ticks {
		if tk.Phase == "guarded" {
			pRate = append(pRate, tk.Shaped)
			pCPU = append(pCPU, tk.CPU)
			pTicks = append(pTicks, tk)
		}
		if math.IsNaN(pFirst) && tk.CPU > lim {
			pFirst = tk.T + rep.TickSeconds
		}
	}
	var pDrop, aDrop float64
	for _, tk := range rep.Ticks {
		if tk.Phase == "burst" {
			pDrop += tk.Dropped
		}
	}
	var aRate, aCPU []float64
	var aTicks []dryrun.Tick
	aFirst := math.NaN()
	for _, tk := range actual {
		if tk.Phase == "burst" {
			aDrop += tk.Dropped
		}
		if tk.Phase == "guarded" {
			aRate = append(aRate, tk.Rate)
			aCPU = append(aCPU, tk.CPU)
			t := dryrun.Tick{Shaped: tk.Served}
			t.LatencyP99 = tk.P99
			aTicks = append(aTicks, t)
		}
		if math.IsNaN(aFirst) && tk.CPU > lim {
			aFirst = tk.At
		}
	}
	mean := func(x []float64) float64 {
		s := 0.0
		for _, v := range x {
			s += v
		}
		return s / math.Max(1, float64(len(x)))
	}
	peak := func(x []float64) float64 {
		p := 0.0
		for _, v := range x {
			p = math.Max(p, v)
		}
		return p
	}
	rel := func(p, a float64) float64 { return math.Abs(p-a) / math.Max(math.Abs(a), 1e-9) }
	rows := []EvalRow{
		{Name: "mean shaped rate, guarded phase (req/s)", Predicted: mean(pRate), Actual: mean(aRate), Bound: 0.25, Unit: "relative"},
		{Name: "peak cpu, guarded phase", Predicted: peak(pCPU), Actual: peak(aCPU), Bound: 0.15, Unit: "absolute"},
		{Name: "p99, guarded phase (s)", Predicted: dryrun.Aggregate("latency_p99", pTicks, rep.TickSeconds), Actual: dryrun.Aggregate("latency_p99", aTicks, rep.TickSeconds), Bound: 1, Unit: "log2"},
		{Name: fmt.Sprintf("first time cpu > %g (s)", lim), Predicted: pFirst, Actual: aFirst, Bound: 3, Unit: "seconds"},
		{Name: "dropped, burst phase (requests)", Predicted: pDrop, Actual: aDrop, Bound: dropBound, Unit: "relative"},
	}
	for i := range rows {
		r := &rows[i]
		switch r.Unit {
		case "relative":
			r.Error = rel(r.Predicted, r.Actual)
		case "absolute", "seconds":
			r.Error = math.Abs(r.Predicted - r.Actual)
		case "log2":
			r.Error = math.Abs(math.Log2(math.Max(r.Predicted, 1e-6) / math.Max(r.Actual, 1e-6)))
		}
		r.OK = !math.IsNaN(r.Error) && r.Error <= r.Bound
	}
	return rows
}

// WriteEvalTable prints the evaluation as a table.
func WriteEvalTable(w io.Writer, res *EvalResult) error {
	fmt.Fprintf(w, "Dry-run evaluation: prediction fitted to run 1 vs. run 2 of the same plan on the testbed\n")
	fmt.Fprintf(w, "simulated target: %s (%d run(s), %d ticks)\n", res.Source.Kind, res.Source.Runs, res.Source.Ticks)
	fmt.Fprintf(w, "  %s\n", res.Source.Detail)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  figure\tpredicted\tactual\terror\tbound\t")
	for _, r := range res.Rows {
		var e, b string
		switch r.Unit {
		case "relative":
			e, b = fmt.Sprintf("%.0f%%", 100*r.Error), fmt.Sprintf("%.0f%%", 100*r.Bound)
		case "log2":
			e, b = fmt.Sprintf("×%.2f", math.Exp2(r.Error)), fmt.Sprintf("×%.0f", math.Exp2(r.Bound))
		case "seconds":
			e, b = fmt.Sprintf("%.1fs", r.Error), fmt.Sprintf("%.0fs", r.Bound)
		default:
			e, b = fmt.Sprintf("%.3f", r.Error), fmt.Sprintf("%.2f", r.Bound)
		}
		status := "ok"
		if !r.OK {
			status = "OVER BOUND"
		}
		fmt.Fprintf(tw, "  %s\t%.3g\t%.3g\t%s\t%s\t%s\n", r.Name, r.Predicted, r.Actual, e, b, status)
	}
	return tw.Flush()
}
