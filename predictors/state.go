package predictors

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Model state that can be saved and restored: every online model the
// shapers and the runtime keep has a plain state struct — numbers, strings
// and slices, versioned, JSON-serialisable — with Export and Restore.
// Restoring an exported state and going on gives exactly the numbers the
// model would have given had it never stopped (JSON keeps every float64:
// encoding/json writes the shortest decimal that reads back the same).
//
// A state's Version says which layout it has; Restore refuses another
// (ErrStateVersion), so a model store written by another version of
// loadshaper is read as "no model", never misread.

// ErrStateVersion is returned when a state was written in another layout.
var ErrStateVersion = errors.New("model state of another version")

// Versions of the state layouts.
const (
	ResponseLineStateVersion  = 1
	ResidualTrendStateVersion = 1
	LagStateVersion           = 1
	ClassCostsStateVersion    = 1
	ForecasterStateVersion    = 1
	CapacityVersion           = 1
)

func checkVersion(what string, got, want int) error {
	if got != want {
		return fmt.Errorf("%s state version %d, this loadshaper reads %d: %w", what, got, want, ErrStateVersion)
	}
	return nil
}

// Number is a float64 that survives JSON: NaN is null, ±Inf are the strings
// "+Inf" and "-Inf". States use it where a value may be missing (a gap in a
// series, a rate not yet known).
type Number float64

// MarshalJSON implements json.Marshaler.
func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	switch {
	case math.IsNaN(f):
		return []byte("null"), nil
	case math.IsInf(f, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Number) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "null":
		*n = Number(math.NaN())
		return nil
	case `"+Inf"`:
		*n = Number(math.Inf(1))
		return nil
	case `"-Inf"`:
		*n = Number(math.Inf(-1))
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("want a number, null, \"+Inf\" or \"-Inf\": %w", err)
	}
	*n = Number(f)
	return nil
}

// Numbers converts a slice for a state.
func Numbers(v []float64) []Number {
	if v == nil {
		return nil
	}
	out := make([]Number, len(v))
	for i, x := range v {
		out[i] = Number(x)
	}
	return out
}

// Floats converts a state's slice back.
func Floats(v []Number) []float64 {
	if v == nil {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// ResponseLineState is a ResponseLine: its forgetting, its transform and
// its weighted sums (from which the coefficients, their covariance and the
// noise follow; see Fit).
type ResponseLineState struct {
	Version  int     `json:"version"`
	Forget   float64 `json:"forget"`
	Inverse  bool    `json:"inverse,omitempty"`
	W        float64 `json:"w"`
	SX       float64 `json:"sx"`
	SY       float64 `json:"sy"`
	SXX      float64 `json:"sxx"`
	SXY      float64 `json:"sxy"`
	SYY      float64 `json:"syy"`
	N        int     `json:"n"`
	NoiseCap float64 `json:"noise_cap,omitempty"`
}

// Export returns the line's state.
func (m *ResponseLine) Export() ResponseLineState {
	return ResponseLineState{Version: ResponseLineStateVersion, Forget: m.lambda, Inverse: m.inverse,
		W: m.w, SX: m.sx, SY: m.sy, SXX: m.sxx, SXY: m.sxy, SYY: m.syy, N: m.n, NoiseCap: m.noiseCap}
}

// RestoreResponseLine rebuilds a line from its state.
func RestoreResponseLine(s ResponseLineState) (*ResponseLine, error) {
	if err := checkVersion("response line", s.Version, ResponseLineStateVersion); err != nil {
		return nil, err
	}
	if !(s.Forget > 0 && s.Forget <= 1) {
		return nil, badParam("response line state: forget %v outside (0, 1]", s.Forget)
	}
	for _, v := range []float64{s.W, s.SX, s.SY, s.SXX, s.SXY, s.SYY, s.NoiseCap} {
		if !isFinite(v) {
			return nil, badParam("response line state: a sum is not finite")
		}
	}
	return &ResponseLine{lambda: s.Forget, inverse: s.Inverse, w: s.W, sx: s.SX, sy: s.SY, sxx: s.SXX, sxy: s.SXY, syy: s.SYY, n: s.N, noiseCap: s.NoiseCap}, nil
}

// ResidualTrendState is a ResidualTrend.
type ResidualTrendState struct {
	Version int     `json:"version"`
	Alpha   float64 `json:"alpha"`
	Beta    float64 `json:"beta"`
	Level   float64 `json:"level"`
	Trend   float64 `json:"trend"`
	N       int     `json:"n"`
}

// Export returns the smoother's state.
func (h *ResidualTrend) Export() ResidualTrendState {
	return ResidualTrendState{Version: ResidualTrendStateVersion, Alpha: h.Alpha, Beta: h.Beta, Level: h.level, Trend: h.trend, N: h.n}
}

// RestoreResidualTrend rebuilds a smoother from its state.
func RestoreResidualTrend(s ResidualTrendState) (*ResidualTrend, error) {
	if err := checkVersion("residual trend", s.Version, ResidualTrendStateVersion); err != nil {
		return nil, err
	}
	if !isFinite(s.Level) || !isFinite(s.Trend) {
		return nil, badParam("residual trend state: level or trend not finite")
	}
	return &ResidualTrend{Alpha: s.Alpha, Beta: s.Beta, level: s.Level, trend: s.Trend, n: s.N}, nil
}

// LagState is a LagEstimator (its fields are all its state).
type LagState struct {
	Version int  `json:"version"`
	D       int  `json:"d"`
	W       int  `json:"w"`
	MaxLag  int  `json:"max_lag"`
	Window  int  `json:"window"`
	Fixed   bool `json:"fixed,omitempty"`
}

// Export returns the estimator's state.
func (l LagEstimator) Export() LagState {
	return LagState{Version: LagStateVersion, D: l.D, W: l.W, MaxLag: l.MaxLag, Window: l.Window, Fixed: l.Fixed}
}

// RestoreLag rebuilds an estimator from its state.
func RestoreLag(s LagState) (LagEstimator, error) {
	if err := checkVersion("lag", s.Version, LagStateVersion); err != nil {
		return LagEstimator{}, err
	}
	if s.D < 0 || s.W < 1 || s.MaxLag < 1 {
		return LagEstimator{}, badParam("lag state: d %d, w %d, max lag %d", s.D, s.W, s.MaxLag)
	}
	return LagEstimator{D: s.D, W: s.W, MaxLag: s.MaxLag, Window: s.Window, Fixed: s.Fixed}, nil
}

// ClassCostsState is a ClassCosts model: its classes, forgetting and
// weighted sums (row-major Σrrᵀ).
type ClassCostsState struct {
	Version int       `json:"version"`
	Classes []string  `json:"classes"`
	Forget  float64   `json:"forget"`
	W       float64   `json:"w"`
	N       int       `json:"n"`
	SX      []float64 `json:"sx"`
	SXX     []float64 `json:"sxx"`
	SXY     []float64 `json:"sxy"`
	SY      float64   `json:"sy"`
	SYY     float64   `json:"syy"`
}

// Export returns the model's state.
func (m *ClassCosts) Export() ClassCostsState {
	return ClassCostsState{Version: ClassCostsStateVersion, Classes: m.Classes(), Forget: m.forget, W: m.w, N: m.n,
		SX: append([]float64(nil), m.sx...), SXX: append([]float64(nil), m.sxx...), SXY: append([]float64(nil), m.sxy...), SY: m.sy, SYY: m.syy}
}

// RestoreClassCosts rebuilds a model from its state.
func RestoreClassCosts(s ClassCostsState) (*ClassCosts, error) {
	if err := checkVersion("class costs", s.Version, ClassCostsStateVersion); err != nil {
		return nil, err
	}
	m, err := NewClassCosts(s.Classes, s.Forget)
	if err != nil {
		return nil, err
	}
	k := len(s.Classes)
	if len(s.SX) != k || len(s.SXY) != k || len(s.SXX) != k*k {
		return nil, badParam("class costs state: sums of the wrong size for %d classes", k)
	}
	copy(m.sx, s.SX)
	copy(m.sxx, s.SXX)
	copy(m.sxy, s.SXY)
	m.w, m.n, m.sy, m.syy = s.W, s.N, s.SY, s.SYY
	return m, nil
}

// Forecaster is a time-series Model that remembers what it was fitted on
// and what it was updated with since, so that it can be saved and
// restored exactly: a fitted model is its Spec, the series of its last Fit
// and the values since (Fit is deterministic). Its state grows with the
// updates between fits; refit now and then (the runtime does every 10
// ticks).
type Forecaster struct {
	Spec  Spec
	Model Model
	fit   []float64
	since []float64
}

// NewForecaster returns an unfitted forecaster of spec.
func NewForecaster(spec Spec) (*Forecaster, error) {
	m, err := NewModel(spec)
	if err != nil {
		return nil, err
	}
	return &Forecaster{Spec: spec, Model: m}, nil
}

// Fit fits the model on y from scratch.
func (f *Forecaster) Fit(y []float64) error {
	m, err := NewModel(f.Spec)
	if err != nil {
		return err
	}
	if err := m.Fit(y); err != nil {
		return err
	}
	f.Model, f.fit, f.since = m, append([]float64(nil), y...), f.since[:0]
	return nil
}

// Update folds in one value.
func (f *Forecaster) Update(y float64) {
	f.Model.Update(y)
	f.since = append(f.since, y)
}

// Fitted reports whether Fit has succeeded.
func (f *Forecaster) Fitted() bool { return f.fit != nil }

// ForecasterState is a Forecaster: the spec, the values of its last fit
// and those since (NaN gaps as null).
type ForecasterState struct {
	Version int      `json:"version"`
	Spec    Spec     `json:"spec"`
	Name    string   `json:"name,omitempty"` // the model's name when saved (auto says what it chose); informative
	Fit     []Number `json:"fit,omitempty"`
	Since   []Number `json:"since,omitempty"`
}

// Export returns the forecaster's state.
func (f *Forecaster) Export() ForecasterState {
	s := ForecasterState{Version: ForecasterStateVersion, Spec: f.Spec, Fit: Numbers(f.fit), Since: Numbers(f.since)}
	if f.Fitted() {
		s.Name = f.Model.Name()
	}
	return s
}

// RestoreForecaster rebuilds a forecaster from its state by fitting it on
// the same values and replaying the updates.
func RestoreForecaster(s ForecasterState) (*Forecaster, error) {
	if err := checkVersion("forecaster", s.Version, ForecasterStateVersion); err != nil {
		return nil, err
	}
	f, err := NewForecaster(s.Spec)
	if err != nil {
		return nil, err
	}
	if s.Fit == nil {
		return f, nil
	}
	if err := f.Fit(Floats(s.Fit)); err != nil {
		return nil, fmt.Errorf("forecaster state: %w", err)
	}
	for _, v := range s.Since {
		f.Update(float64(v))
	}
	return f, nil
}

// Capacity is what a load-response line says of the rate at which a
// metric reaches its limit: where the line's mean reaches it (Rate), and
// the band around it — Lower where the line's upper prediction bound (z
// standard errors) reaches it, Upper where the lower bound does. Evidence
// is the discounted number of samples behind the line.
type Capacity struct {
	Version    int     `json:"version"`
	Metric     string  `json:"metric"`
	Limit      float64 `json:"limit"`
	Rate       float64 `json:"rate"`
	Lower      float64 `json:"lower"`
	Upper      float64 `json:"upper"`
	Confidence float64 `json:"confidence"` // z
	Evidence   float64 `json:"evidence"`
}

// EstimateCapacity inverts a line at limit: the rates (at most hi) at
// which its mean, its upper and its lower bound reach the limit. ok is
// false while the line is not identified or does not rise with the rate.
func EstimateCapacity(m *ResponseLine, metric string, limit, z, hi float64) (Capacity, bool) {
	a, b, _, _, ok := m.Fit()
	if !ok || b <= 0 || !(hi > 0) {
		return Capacity{}, false
	}
	zl := m.fwd(limit)
	if math.IsInf(zl, 0) || math.IsNaN(zl) {
		return Capacity{}, false
	}
	c := Capacity{Version: CapacityVersion, Metric: metric, Limit: limit, Confidence: z, Evidence: m.Weight()}
	c.Rate = clamp((zl-a)/b, 0, hi)
	c.Lower, _ = LineSafeRate(m, limit, z, 0, hi)
	c.Upper = lineReach(m, limit, z, hi)
	return c, true
}

// lineReach is the largest rate (at most hi) whose lower prediction bound
// stays under limit: beyond it, the metric is over the limit even at the
// optimistic end of the band.
func lineReach(m *ResponseLine, limit, z, hi float64) float64 {
	under := func(x float64) bool {
		mean, up, _ := m.Predict(x, z, 0)
		return m.back(2*m.fwd(mean)-m.fwd(up)) <= limit
	}
	if under(hi) {
		return hi
	}
	lo := 0.0
	if !under(lo) {
		return 0
	}
	for i := 0; i < 60 && hi-lo > 1e-6*math.Max(hi, 1); i++ {
		mid := (lo + hi) / 2
		if under(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// RestoreCapacity checks a saved estimate (a Capacity is a plain value:
// EstimateCapacity makes it, JSON keeps it).
func RestoreCapacity(c Capacity) (Capacity, error) {
	if err := checkVersion("capacity", c.Version, CapacityVersion); err != nil {
		return Capacity{}, err
	}
	return c, nil
}
