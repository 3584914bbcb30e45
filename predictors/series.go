package predictors

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Errors callers can test for with errors.Is.
var (
	// ErrEmpty: the series has no finite value at all.
	ErrEmpty = errors.New("predictors: series has no finite values")
	// ErrTooShort: the model needs more points than the series has.
	ErrTooShort = errors.New("predictors: series too short")
	// ErrBadParam: a parameter is out of its range.
	ErrBadParam = errors.New("predictors: bad parameter")
)

// MaxWindow bounds windows and periods (values kept in memory by one model).
const MaxWindow = 1 << 20

func checkWindow(what string, w int) error {
	if w > MaxWindow {
		return badParam("%s %d is larger than %d", what, w, MaxWindow)
	}
	return nil
}

func badParam(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadParam}, args...)...)
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Clean returns a copy of y with gaps (NaN, ±Inf) filled by carrying the last
// finite value forward; leading gaps take the first finite value. Metric
// scrapes miss samples, and a forward fill is the least surprising repair
// for a forecaster (it reads as "no change"). It returns ErrEmpty when no
// value is finite.
func Clean(y []float64) ([]float64, error) {
	first := -1
	for i, v := range y {
		if isFinite(v) {
			first = i
			break
		}
	}
	if first < 0 {
		return nil, ErrEmpty
	}
	out := make([]float64, len(y))
	last := y[first]
	for i, v := range y {
		if isFinite(v) {
			last = v
		}
		out[i] = last
	}
	return out, nil
}

// Forecast is a point forecast with a prediction interval per step ahead:
// Mean[h-1] is the forecast h steps ahead; Lower/Upper bound the central
// interval at Level (e.g. 0.95).
type Forecast struct {
	Mean  []float64 `json:"mean"`
	Lower []float64 `json:"lower"`
	Upper []float64 `json:"upper"`
	Level float64   `json:"level"`
}

func newForecast(h int, level float64) Forecast {
	return Forecast{Mean: make([]float64, h), Lower: make([]float64, h), Upper: make([]float64, h), Level: level}
}

// Z returns the two-sided standard normal quantile for a central interval
// of the given level (0 < level < 1), e.g. Z(0.95) ≈ 1.96.
func Z(level float64) float64 {
	if !(level > 0 && level < 1) {
		level = 0.95
	}
	return normQuantile(0.5 + level/2)
}

// normQuantile is Acklam's rational approximation of the inverse normal CDF
// (relative error < 1.2e-9), enough for interval widths.
func normQuantile(p float64) float64 {
	const (
		a1, a2, a3, a4, a5, a6 = -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00
		b1, b2, b3, b4, b5     = -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01
		c1, c2, c3, c4, c5, c6 = -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00
		d1, d2, d3, d4         = 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00
		plow                   = 0.02425
	)
	switch {
	case p <= 0:
		return math.Inf(-1)
	case p >= 1:
		return math.Inf(1)
	case p < plow:
		q := math.Sqrt(-2 * math.Log(p))
		return (((((c1*q+c2)*q+c3)*q+c4)*q+c5)*q + c6) / ((((d1*q+d2)*q+d3)*q+d4)*q + 1)
	case p <= 1-plow:
		q := p - 0.5
		r := q * q
		return (((((a1*r+a2)*r+a3)*r+a4)*r+a5)*r + a6) * q / (((((b1*r+b2)*r+b3)*r+b4)*r+b5)*r + 1)
	default:
		q := math.Sqrt(-2 * math.Log(1-p))
		return -(((((c1*q+c2)*q+c3)*q+c4)*q+c5)*q + c6) / ((((d1*q+d2)*q+d3)*q+d4)*q + 1)
	}
}

// Descriptive statistics. Each skips NaN/Inf values and returns ErrEmpty
// when nothing finite is left, so a gap in a metric never turns into a NaN
// decision.

func finite(y []float64) []float64 {
	out := make([]float64, 0, len(y))
	for _, v := range y {
		if isFinite(v) {
			out = append(out, v)
		}
	}
	return out
}

// Mean is the arithmetic mean of the finite values of y.
func Mean(y []float64) (float64, error) {
	s, n := 0.0, 0
	for _, v := range y {
		if isFinite(v) {
			s += v
			n++
		}
	}
	if n == 0 {
		return 0, ErrEmpty
	}
	return s / float64(n), nil
}

// Stddev is the sample standard deviation (n−1) of the finite values of y;
// a single value has deviation 0.
func Stddev(y []float64) (float64, error) {
	m, err := Mean(y)
	if err != nil {
		return 0, err
	}
	s, n := 0.0, 0
	for _, v := range y {
		if isFinite(v) {
			s += (v - m) * (v - m)
			n++
		}
	}
	if n < 2 {
		return 0, nil
	}
	return math.Sqrt(s / float64(n-1)), nil
}

// Min is the smallest finite value of y.
func Min(y []float64) (float64, error) {
	f := finite(y)
	if len(f) == 0 {
		return 0, ErrEmpty
	}
	m := f[0]
	for _, v := range f[1:] {
		m = math.Min(m, v)
	}
	return m, nil
}

// Max is the largest finite value of y.
func Max(y []float64) (float64, error) {
	f := finite(y)
	if len(f) == 0 {
		return 0, ErrEmpty
	}
	m := f[0]
	for _, v := range f[1:] {
		m = math.Max(m, v)
	}
	return m, nil
}

// Percentile returns the p-th percentile (0 ≤ p ≤ 100) of the finite values
// of y, linearly interpolated between order statistics (the R-7 / NumPy
// default definition).
func Percentile(y []float64, p float64) (float64, error) {
	if !(p >= 0 && p <= 100) {
		return 0, badParam("percentile %v outside [0, 100]", p)
	}
	f := finite(y)
	if len(f) == 0 {
		return 0, ErrEmpty
	}
	sort.Float64s(f)
	return quantileSorted(f, p/100), nil
}

func quantileSorted(s []float64, q float64) float64 {
	if len(s) == 1 {
		return s[0]
	}
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	frac := pos - float64(lo)
	return s[lo] + frac*(s[lo+1]-s[lo])
}

// Median is the 50th percentile of the finite values of y.
func Median(y []float64) (float64, error) { return Percentile(y, 50) }

// MAD is the median absolute deviation from the median (unscaled; multiply
// by 1.4826 for a normal-consistent estimate of σ).
func MAD(y []float64) (float64, error) {
	med, err := Median(y)
	if err != nil {
		return 0, err
	}
	f := finite(y)
	for i := range f {
		f[i] = math.Abs(f[i] - med)
	}
	return Median(f)
}
