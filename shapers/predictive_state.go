package shapers

import (
	"fmt"
	"maps"
	"time"

	"github.com/loadshaper/loadshaper/predictors"
)

// PredictiveStateVersion is the layout of PredictiveState.
const PredictiveStateVersion = 1

// PredictiveState is everything a predictive_rate_limit shaper keeps, as
// plain values: what it has learnt of the target (Learnt) and what it
// remembers of the run so far (the rest). State and Restore carry all of
// it, so a restored shaper goes on exactly as if it had never stopped;
// WarmStart takes only Learnt, so a new run starts from what an earlier
// run learnt but with its own history.
type PredictiveState struct {
	Version int              `json:"version"`
	Learnt  PredictiveLearnt `json:"learnt"`

	SentPrev []predictors.Number            `json:"sent_prev,omitempty"` // rate of the tick before each call (NaN: none)
	Readings map[string][]predictors.Number `json:"readings,omitempty"`  // readings at each call, per metric (NaN: none)
	Calls    int                            `json:"calls,omitempty"`
	ErrEWMA  float64                        `json:"err_ewma,omitempty"` // smoothed model error, as a fraction of the limit
	Reactive bool                           `json:"reactive,omitempty"` // in the reactive fallback
	Shifts   map[string]int                 `json:"shifts,omitempty"`   // consecutive large residuals
	Skip     map[string]int                 `json:"skip,omitempty"`     // readings not to learn from after a shift
	Settled  int                            `json:"settled,omitempty"`  // ticks the fit has been identified and accurate
	Relearn  map[string]int                 `json:"relearn,omitempty"`  // ticks left of relearning after a level shift
	Knees    map[string]KneeState           `json:"knees,omitempty"`    // the last unforeseen crossing of each limit
	Distrust map[string]bool                `json:"distrust,omitempty"` // the line contradicted the evidence last tick
}

// PredictiveLearnt is what the shaper has learnt of the target, per
// envelope metric: the load-response line (its sums: coefficients,
// covariance and noise follow), the drift of its residuals, its recent
// one-step errors (the band's noise), the recent reading/rate ratios (the
// model-free bound's noise), and the lag between the rate sent and the
// readings.
type PredictiveLearnt struct {
	Lines    map[string]predictors.ResponseLineState  `json:"lines,omitempty"`
	Drift    map[string]predictors.ResidualTrendState `json:"drift,omitempty"`
	Residual map[string][]float64                     `json:"residuals,omitempty"`
	Ratios   map[string][]float64                     `json:"ratios,omitempty"`
	Lag      predictors.LagState                      `json:"lag"`
	Hinted   bool                                     `json:"hinted,omitempty"` // the lag's first guess came from the readings' Age and Window
}

// KneeState is a knee: the rate at which a metric crossed its limit
// unforeseen, how many more ticks the rate is held under it, and when
// (run time) it was seen.
type KneeState struct {
	Rate predictors.Number `json:"rate"`
	TTL  int               `json:"ttl"`
	At   time.Duration     `json:"at"`
}

// Learner is a shaper whose learnt state can be saved and restored; the
// runtime keeps it in the model store between runs. predictive_rate_limit
// is one.
type Learner interface {
	Shaper
	// State returns everything the shaper keeps.
	State() PredictiveState
	// Restore replaces the shaper's state with s: it then goes on exactly
	// as the shaper that exported s would have.
	Restore(s PredictiveState) error
	// WarmStart starts the shaper from what s learnt of the target — the
	// lines, their noise and drift, the lag — with a fresh history of its
	// own (no rates sent, no knees, not reactive). Call it before the
	// first tick. The shaper's own settings (forgetting, a fixed lag) win
	// over the saved ones.
	WarmStart(s PredictiveState) error
}

// Learners returns the chain's shapers that are Learners, by link name.
func Learners(c *Chain) map[string]Learner {
	out := map[string]Learner{}
	for _, l := range c.Links() {
		if lr, ok := l.Shaper.(Learner); ok {
			out[l.Name] = lr
		}
	}
	return out
}

var _ Learner = (*predictive)(nil)

// State implements Learner.
func (pr *predictive) State() PredictiveState {
	s := PredictiveState{
		Version: PredictiveStateVersion,
		Learnt: PredictiveLearnt{
			Lines: map[string]predictors.ResponseLineState{}, Drift: map[string]predictors.ResidualTrendState{},
			Residual: cloneSeries(pr.resid), Ratios: cloneSeries(pr.ratios), Lag: pr.lag.Export(), Hinted: pr.hinted,
		},
		SentPrev: predictors.Numbers(pr.sentPrev), Calls: pr.calls, ErrEWMA: pr.errEWMA, Reactive: pr.reactive,
		Shifts: maps.Clone(pr.shifts), Skip: maps.Clone(pr.skip), Settled: pr.settled, Relearn: maps.Clone(pr.relearn),
		Distrust: maps.Clone(pr.distrust),
	}
	for m, l := range pr.models {
		s.Learnt.Lines[m] = l.Export()
	}
	for m, d := range pr.drift {
		s.Learnt.Drift[m] = d.Export()
	}
	if len(pr.ys) > 0 {
		s.Readings = map[string][]predictors.Number{}
		for m, ys := range pr.ys {
			s.Readings[m] = predictors.Numbers(ys)
		}
	}
	if len(pr.knee) > 0 {
		s.Knees = map[string]KneeState{}
		for m, k := range pr.knee {
			s.Knees[m] = KneeState{Rate: predictors.Number(k.rate), TTL: k.ttl, At: k.at}
		}
	}
	return s
}

// restore rebuilds the lines and drift, each line with forgetting forget
// (0: as saved).
func (l PredictiveLearnt) restore(forget float64) (map[string]*predictors.ResponseLine, map[string]*predictors.ResidualTrend, error) {
	models := map[string]*predictors.ResponseLine{}
	drift := map[string]*predictors.ResidualTrend{}
	for m, ls := range l.Lines {
		if forget > 0 {
			ls.Forget = forget
		}
		if ls.Inverse != predictors.IsLatencyMetric(m) {
			return nil, nil, fmt.Errorf("predictive_rate_limit state: the %s line is fitted on the wrong scale", m)
		}
		line, err := predictors.RestoreResponseLine(ls)
		if err != nil {
			return nil, nil, fmt.Errorf("predictive_rate_limit state: %s: %w", m, err)
		}
		models[m] = line
		ds, ok := l.Drift[m]
		if !ok {
			drift[m] = &predictors.ResidualTrend{Alpha: 0.3, Beta: 0.1}
			continue
		}
		d, err := predictors.RestoreResidualTrend(ds)
		if err != nil {
			return nil, nil, fmt.Errorf("predictive_rate_limit state: %s: %w", m, err)
		}
		drift[m] = d
	}
	return models, drift, nil
}

func checkPredictiveVersion(s PredictiveState) error {
	if s.Version != PredictiveStateVersion {
		return fmt.Errorf("predictive_rate_limit state version %d, this loadshaper reads %d: %w", s.Version, PredictiveStateVersion, predictors.ErrStateVersion)
	}
	return nil
}

// Restore implements Learner.
func (pr *predictive) Restore(s PredictiveState) error {
	if err := checkPredictiveVersion(s); err != nil {
		return err
	}
	models, drift, err := s.Learnt.restore(0)
	if err != nil {
		return err
	}
	lag, err := predictors.RestoreLag(s.Learnt.Lag)
	if err != nil {
		return fmt.Errorf("predictive_rate_limit state: %w", err)
	}
	pr.models, pr.drift, pr.lag, pr.hinted = models, drift, lag, s.Learnt.Hinted
	pr.resid, pr.ratios = cloneSeries(s.Learnt.Residual), cloneSeries(s.Learnt.Ratios)
	pr.sentPrev = predictors.Floats(s.SentPrev)
	pr.ys = map[string][]float64{}
	for m, ys := range s.Readings {
		pr.ys[m] = predictors.Floats(ys)
	}
	pr.calls, pr.errEWMA, pr.reactive, pr.settled = s.Calls, s.ErrEWMA, s.Reactive, s.Settled
	pr.shifts, pr.skip, pr.relearn, pr.distrust = orEmpty(s.Shifts), orEmpty(s.Skip), orEmpty(s.Relearn), orEmpty(s.Distrust)
	pr.knee = map[string]knee{}
	for m, k := range s.Knees {
		pr.knee[m] = knee{rate: float64(k.Rate), ttl: k.TTL, at: k.At}
	}
	return nil
}

// WarmStart implements Learner.
func (pr *predictive) WarmStart(s PredictiveState) error {
	if err := checkPredictiveVersion(s); err != nil {
		return err
	}
	models, drift, err := s.Learnt.restore(pr.lambda)
	if err != nil {
		return err
	}
	if !pr.lag.Fixed {
		lag, err := predictors.RestoreLag(s.Learnt.Lag)
		if err != nil {
			return fmt.Errorf("predictive_rate_limit state: %w", err)
		}
		// The estimate, within this shaper's own bounds: the learnt lag
		// replaces the first guess from the readings' Age and Window.
		pr.lag.D = min(max(lag.D, 0), pr.lag.MaxLag)
		pr.lag.W = min(max(lag.W, 1), pr.lag.MaxLag-pr.lag.D+1)
		pr.hinted = true
	}
	pr.models, pr.drift = models, drift
	pr.resid, pr.ratios = cloneSeries(s.Learnt.Residual), cloneSeries(s.Learnt.Ratios)
	pr.sentPrev, pr.ys, pr.calls = nil, map[string][]float64{}, 0
	pr.errEWMA, pr.reactive, pr.settled = 0, false, 0
	pr.shifts, pr.skip, pr.relearn, pr.distrust = map[string]int{}, map[string]int{}, map[string]int{}, map[string]bool{}
	pr.knee = map[string]knee{}
	return nil
}

func cloneSeries(m map[string][]float64) map[string][]float64 {
	if m == nil {
		return map[string][]float64{}
	}
	out := make(map[string][]float64, len(m))
	for k, v := range m {
		out[k] = append([]float64(nil), v...)
	}
	return out
}

func orEmpty[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return maps.Clone(m)
}
