package predictors

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Spec names a model and its parameters; zero values take defaults (and
// smoothing parameters left at 0 are fitted).
type Spec struct {
	Model  string  `json:"model"`
	Period int     `json:"period,omitempty"` // season length in steps; 0 = detect (seasonal models)
	Window int     `json:"window,omitempty"` // median/mean window, default 9; linear: 0 = all points
	Alpha  float64 `json:"alpha,omitempty"`
	Beta   float64 `json:"beta,omitempty"`
	Gamma  float64 `json:"gamma,omitempty"`
	Phi    float64 `json:"phi,omitempty"`
}

// ModelNames lists the models NewModel accepts, for flags and the spec.
var ModelNames = []string{"auto", "naive", "seasonal_naive", "median", "mean", "linear", "ewma", "holt", "holt_damped", "holt_winters", "holt_winters_mul"}

// NewModel builds an unfitted model from a Spec. Seasonal models with
// Period 0 detect the period when fitted.
func NewModel(s Spec) (Model, error) {
	w := s.Window
	if w == 0 {
		w = 9
	}
	switch s.Model {
	case "auto", "":
		return &Auto{Period: s.Period}, nil
	case "naive":
		return &Naive{}, nil
	case "seasonal_naive":
		return &detectPeriod{period: s.Period, build: func(p int) Model { return &SeasonalNaive{Period: p} }, name: s.Model}, nil
	case "median":
		return &RollingMedian{Window: w}, nil
	case "mean":
		return &RollingMean{Window: w}, nil
	case "linear":
		return &LinearTrend{Window: s.Window}, nil
	case "ewma":
		return &EWMA{Alpha: s.Alpha}, nil
	case "holt":
		return &Holt{Alpha: s.Alpha, Beta: s.Beta}, nil
	case "holt_damped":
		return &Holt{Alpha: s.Alpha, Beta: s.Beta, Damped: true, Phi: s.Phi}, nil
	case "holt_winters", "holt_winters_mul":
		mul := s.Model == "holt_winters_mul"
		return &detectPeriod{period: s.Period, name: s.Model, build: func(p int) Model {
			return &HoltWinters{Period: p, Alpha: s.Alpha, Beta: s.Beta, Gamma: s.Gamma, Multiplicative: mul}
		}}, nil
	}
	return nil, badParam("unknown model %q (known: %s)", s.Model, strings.Join(ModelNames, ", "))
}

// detectPeriod wraps a seasonal model whose period is found at Fit time.
// Without a detectable season it falls back to the naive forecast and
// says so in Name.
type detectPeriod struct {
	period int
	name   string
	build  func(p int) Model
	Model
}

func (d *detectPeriod) Fit(y []float64) error {
	p := d.period
	if p == 0 {
		c, err := Clean(y)
		if err != nil {
			return err
		}
		p = DetectPeriod(c, 2, len(c)/3)
	}
	if p < 2 {
		d.Model = &Naive{}
		return d.Model.Fit(y)
	}
	d.Model = d.build(p)
	if err := d.Model.Fit(y); err != nil {
		if d.period != 0 {
			return err
		}
		// A detected period that the model cannot use (too few seasons):
		// fall back rather than fail.
		d.Model = &Naive{}
		return d.Model.Fit(y)
	}
	return nil
}

func (d *detectPeriod) Name() string {
	if d.Model == nil {
		return d.name
	}
	if n := d.Model.Name(); n != d.name {
		return d.name + "→" + n
	}
	return d.name
}

func (d *detectPeriod) Update(y float64) {
	if d.Model != nil {
		d.Model.Update(y)
	}
}
func (d *detectPeriod) Point(dst []float64) {
	if d.Model != nil {
		d.Model.Point(dst)
	}
}
func (d *detectPeriod) Forecast(h int, level float64) Forecast {
	if d.Model == nil {
		return newForecast(max(h, 1), level)
	}
	return d.Model.Forecast(h, level)
}

// Auto picks a model per series by out-of-sample error. Fit holds out the
// tail of the series (a fifth, at least two horizons, at most 600 points),
// fits every candidate on the data before it, rolls through the tail
// forecasting Horizon steps ahead from evenly spaced origins (online
// Update between them), and keeps the candidate with the lowest mean
// absolute error, then refits it on the whole series. Naive is always a
// candidate, so on the tail Auto is never worse than naive; to keep it
// from chasing noise, a candidate must beat naive by 2% to be preferred.
//
// Candidates: naive; rolling medians of 5, 9, 17 and 33 points and a mean
// of 9 (robust levels for noisy series); EWMA and damped Holt (fitted);
// and with a detected (or given) Period: seasonal naive, additive
// Holt-Winters and a seasonal-naive/median blend.
type Auto struct {
	Period  int // season length; 0 = detect
	Horizon int // horizon the selection scores; default 12

	chosen Model
	scores []Score
	period int
}

// Score is one candidate's mean absolute error on Auto's holdout tail.
type Score struct {
	Model string  `json:"model"`
	MAE   float64 `json:"mae"`
}

// Name implements Model; it reports the chosen model after Fit.
func (a *Auto) Name() string {
	if a.chosen == nil {
		return "auto"
	}
	return "auto(" + a.chosen.Name() + ")"
}

// Chosen returns the selected model (nil before Fit).
func (a *Auto) Chosen() Model { return a.chosen }

// Scores returns the holdout errors of the candidates, best first.
func (a *Auto) Scores() []Score { return a.scores }

// DetectedPeriod is the season length Auto used (0: none).
func (a *Auto) DetectedPeriod() int { return a.period }

func (a *Auto) candidates(n int) []func() Model {
	c := []func() Model{
		func() Model { return &Naive{} },
		// Adaptive medians follow level shifts; plain ones ride out bursts.
		// The adaptive ones come first: on a tail without shifts the two
		// score the same, and the tie goes to the one that can follow a shift.
		func() Model { return &RollingMedian{Window: 17, Adaptive: true} },
		func() Model { return &RollingMedian{Window: 33, Adaptive: true} },
		func() Model { return &RollingMedian{Window: 5} },
		func() Model { return &RollingMedian{Window: 9} },
		func() Model { return &RollingMedian{Window: 17} },
		func() Model { return &RollingMedian{Window: 33} },
		func() Model { return &RollingMean{Window: 9} },
		func() Model { return &EWMA{} },
		func() Model { return &Holt{Damped: true} },
	}
	if p := a.period; p >= 2 && n >= 3*p {
		c = append(c,
			func() Model { return &SeasonalNaive{Period: p} },
			func() Model { return &HoltWinters{Period: p, NoTrend: true} },
			func() Model { return &Blend{A: &SeasonalNaive{Period: p}, B: &RollingMedian{Window: 9}} },
		)
	}
	return c
}

// Fit implements Model.
func (a *Auto) Fit(y []float64) error {
	y, err := Clean(y)
	if err != nil {
		return err
	}
	h := a.Horizon
	if h <= 0 {
		h = 12
	}
	a.period = a.Period
	if a.period == 0 {
		a.period = DetectPeriod(y, 2, len(y)/3)
	}
	n := len(y)
	tail := min(max(n/5, 2*h), 600)
	if n-tail < 10 {
		// Too short to select honestly: a robust level.
		a.chosen, a.scores = &RollingMedian{Window: 5}, nil
		return a.chosen.Fit(y)
	}
	train := y[:n-tail]
	cands := a.candidates(len(train))
	a.scores = a.scores[:0]
	best, bestIdx, naive := math.Inf(1), 0, math.Inf(1)
	buf := make([]float64, h)
	for i, mk := range cands {
		m := mk()
		if err := m.Fit(train); err != nil {
			continue
		}
		mae := holdoutMAE(m, y, n-tail, h, buf, 60)
		if !isFinite(mae) {
			continue
		}
		a.scores = append(a.scores, Score{Model: describe(m), MAE: mae})
		if i == 0 {
			naive = mae
		}
		if mae < best {
			best, bestIdx = mae, i
		}
	}
	if bestIdx != 0 && !(best < 0.98*naive) {
		bestIdx = 0
	}
	sort.SliceStable(a.scores, func(i, j int) bool { return a.scores[i].MAE < a.scores[j].MAE })
	a.chosen = cands[bestIdx]()
	if err := a.chosen.Fit(y); err != nil {
		a.chosen = &Naive{}
		return a.chosen.Fit(y)
	}
	return nil
}

func describe(m Model) string {
	switch v := m.(type) {
	case *RollingMedian:
		if v.Adaptive {
			return fmt.Sprintf("median(%d, adaptive)", v.Window)
		}
		return fmt.Sprintf("median(%d)", v.Window)
	case *RollingMean:
		return fmt.Sprintf("mean(%d)", v.Window)
	case *SeasonalNaive:
		return fmt.Sprintf("seasonal_naive(%d)", v.Period)
	case *HoltWinters:
		return fmt.Sprintf("%s(%d)", v.Name(), v.Period)
	}
	return m.Name()
}

// holdoutMAE rolls a fitted model through y[start:], forecasting h steps
// from up to maxOrigins evenly spaced origins, and returns the mean
// absolute error over all origins and steps.
func holdoutMAE(m Model, y []float64, start, h int, buf []float64, maxOrigins int) float64 {
	last := len(y) - h
	if last < start {
		h = len(y) - start
		last = start
		if h < 1 {
			return math.Inf(1)
		}
		buf = buf[:h]
	}
	stride := max(1, (last-start+1)/maxOrigins)
	sum, cnt := 0.0, 0
	for o := start; o <= last; o++ {
		if (o-start)%stride == 0 {
			m.Point(buf)
			for j := 0; j < h; j++ {
				sum += math.Abs(y[o+j] - buf[j])
				cnt++
			}
		}
		if o < len(y) {
			m.Update(y[o])
		}
	}
	if cnt == 0 {
		return math.Inf(1)
	}
	return sum / float64(cnt)
}

// Update implements Model.
func (a *Auto) Update(y float64) {
	if a.chosen != nil {
		a.chosen.Update(y)
	}
}

// Point implements Model.
func (a *Auto) Point(dst []float64) {
	if a.chosen != nil {
		a.chosen.Point(dst)
	}
}

// Forecast implements Model.
func (a *Auto) Forecast(h int, level float64) Forecast {
	if a.chosen == nil {
		return newForecast(max(h, 1), level)
	}
	return a.chosen.Forecast(h, level)
}

// Blend averages two models' point forecasts (a robust combination: the
// average of a seasonal and a level forecast beats either on series whose
// season is real but noisy). Its interval uses the averaged one-step σ.
type Blend struct {
	A, B Model
	tmp  [64]float64
}

// Name implements Model.
func (b *Blend) Name() string { return "blend(" + describe(b.A) + "," + describe(b.B) + ")" }

// Fit implements Model.
func (b *Blend) Fit(y []float64) error {
	if err := b.A.Fit(y); err != nil {
		return err
	}
	return b.B.Fit(y)
}

// Update implements Model.
func (b *Blend) Update(y float64) { b.A.Update(y); b.B.Update(y) }

// Point implements Model.
func (b *Blend) Point(dst []float64) {
	b.A.Point(dst)
	for off := 0; off < len(dst); off += len(b.tmp) {
		part := dst[off:min(len(dst), off+len(b.tmp))]
		t := b.tmp[:len(part)]
		// B's forecast for this chunk: compute the whole prefix once.
		if off == 0 {
			b.B.Point(t)
		} else {
			full := make([]float64, off+len(part))
			b.B.Point(full)
			copy(t, full[off:])
		}
		for i := range part {
			part[i] = (part[i] + t[i]) / 2
		}
	}
}

// Forecast implements Model.
func (b *Blend) Forecast(h int, level float64) Forecast {
	fa, fb := b.A.Forecast(h, level), b.B.Forecast(h, level)
	f := newForecast(len(fa.Mean), fa.Level)
	for i := range f.Mean {
		f.Mean[i] = (fa.Mean[i] + fb.Mean[i]) / 2
		f.Lower[i] = (fa.Lower[i] + fb.Lower[i]) / 2
		f.Upper[i] = (fa.Upper[i] + fb.Upper[i]) / 2
	}
	return f
}
