package predictors

import "math"

// EvalOptions configures Evaluate.
type EvalOptions struct {
	Horizon    int     // steps ahead; default 12
	Holdout    float64 // fraction of the series whose points are forecast origins; default 0.2
	MaxOrigins int     // at most this many evenly spaced origins (each is a full refit); default 100; < 0 means all
}

// EvalResult is one model's accuracy on one series.
type EvalResult struct {
	Model   string  `json:"-"`
	MASE    float64 `json:"mase"`
	SMAPE   float64 `json:"smape"`
	Origins int     `json:"origins"`
	Err     string  `json:"error,omitempty"`
}

// Evaluate runs a rolling-origin evaluation of each model on y: origins
// lie in the last Holdout of the series; at each origin the model is
// fitted from scratch on the data before it only, and forecasts Horizon
// steps (fewer at the very end). MASE divides the mean absolute error by
// the in-sample mean absolute one-step naive error of the data before the
// first origin; sMAPE = 200/H·Σ|Y−F|/(|Y|+|F|) (0/0 counts as 0).
func Evaluate(y []float64, specs []Spec, o EvalOptions) ([]EvalResult, error) {
	y, err := Clean(y)
	if err != nil {
		return nil, err
	}
	if o.Horizon <= 0 {
		o.Horizon = 12
	}
	if !(o.Holdout > 0 && o.Holdout < 1) {
		o.Holdout = 0.2
	}
	if o.MaxOrigins == 0 {
		o.MaxOrigins = 100
	}
	n := len(y)
	first := n - int(math.Round(o.Holdout*float64(n)))
	if first < 8 || n-first < 1 {
		return nil, ErrTooShort
	}
	scale := 0.0
	for i := 1; i < first; i++ {
		scale += math.Abs(y[i] - y[i-1])
	}
	scale /= float64(first - 1)
	if scale == 0 {
		// A constant training part: scale by the series' magnitude so MASE
		// stays finite (and comparable between models).
		scale = math.Max(math.Abs(y[first-1])*1e-3, 1e-9)
	}
	last := n - 1
	var origins []int
	count := last - first + 1
	if o.MaxOrigins < 0 || count <= o.MaxOrigins {
		for t := first; t <= last; t++ {
			origins = append(origins, t)
		}
	} else {
		for i := 0; i < o.MaxOrigins; i++ {
			origins = append(origins, first+int(float64(i)*float64(count-1)/float64(o.MaxOrigins-1)))
		}
	}
	out := make([]EvalResult, 0, len(specs))
	buf := make([]float64, o.Horizon)
	for _, s := range specs {
		r := EvalResult{Model: s.Model}
		var sae, ssm float64
		var cnt int
		for _, t := range origins {
			m, err := NewModel(s)
			if err != nil {
				return nil, err
			}
			if a, ok := m.(*Auto); ok {
				a.Horizon = o.Horizon
			}
			if err := m.Fit(y[:t]); err != nil {
				r.Err = err.Error()
				break
			}
			h := min(o.Horizon, n-t)
			m.Point(buf[:h])
			for j := 0; j < h; j++ {
				e := math.Abs(y[t+j] - buf[j])
				sae += e
				if d := math.Abs(y[t+j]) + math.Abs(buf[j]); d > 0 {
					ssm += 200 * e / d
				}
				cnt++
			}
			r.Origins++
		}
		if r.Err == "" && cnt > 0 {
			r.MASE = sae / float64(cnt) / scale
			r.SMAPE = ssm / float64(cnt)
		}
		out = append(out, r)
	}
	return out, nil
}
