package predictors

import (
	"math"
	"sort"
)

// ClassCosts learns what each request class costs in one metric:
//
//	metric ≈ base + Σ cost_c · rate_c
//
// over the per-class rates (requests/s of each class, lag-aligned with the
// metric as for ResponseLine), by recursive least squares with a
// forgetting factor: it keeps the exponentially weighted sums of the
// regressors and the metric, which is exactly what RLS with forgetting
// estimates, and solves the small normal equations when asked. So when the
// mix changes the prediction follows (each class at its own cost), and a
// shaper can shed the class that frees the most of the metric per shed
// request.
//
// A class's cost is identified only when its rate moves independently of
// the others: with a fixed mix, only the cost of the mix is. The fit keeps
// a faint ridge (10⁻⁶ of each rate's own spread, so it changes nothing
// that the data says) to stay solvable, and the standard error of a cost
// that the data does not pin down stays large: read Cost.StdErr.
//
// Observe does not allocate; Fit, Costs and Predict solve a system of the
// number of classes. A ClassCosts is not safe for concurrent use.
type ClassCosts struct {
	classes []string
	forget  float64

	w        float64   // discounted sample count
	n        int       // samples ever used
	sx       []float64 // Σ r
	sxx      []float64 // Σ r rᵀ, row-major k×k
	sxy      []float64 // Σ r y
	sy, syy  float64
	fitted   bool // the solution below is of the sums as they are
	fit      classFit
	scratchK []float64
}

// classFit is the solved model.
type classFit struct {
	ok       bool
	beta     []float64 // costs
	base     float64
	sigma    float64   // residual standard deviation
	inv      []float64 // (centred Σ r rᵀ + ridge)⁻¹, row-major
	mean     []float64 // weighted mean rates
	baseVar  float64   // variance of base (÷σ²)
	variance []float64 // var of each cost (÷σ²)
}

// NewClassCosts returns an empty model of the named classes with forgetting
// factor forget per sample (in (0, 1]; 1 never forgets).
func NewClassCosts(classes []string, forget float64) (*ClassCosts, error) {
	if len(classes) == 0 {
		return nil, badParam("class costs need at least one class")
	}
	if !(forget > 0 && forget <= 1) {
		return nil, badParam("forget %v outside (0, 1]", forget)
	}
	seen := map[string]bool{}
	for _, c := range classes {
		if seen[c] {
			return nil, badParam("class %q given twice", c)
		}
		seen[c] = true
	}
	k := len(classes)
	return &ClassCosts{
		classes: append([]string(nil), classes...), forget: forget,
		sx: make([]float64, k), sxx: make([]float64, k*k), sxy: make([]float64, k),
		scratchK: make([]float64, k),
	}, nil
}

// Classes are the classes, in the order rates are given.
func (m *ClassCosts) Classes() []string { return append([]string(nil), m.classes...) }

// Weight is the discounted number of samples the fit rests on.
func (m *ClassCosts) Weight() float64 { return m.w }

// Samples is how many samples were ever used.
func (m *ClassCosts) Samples() int { return m.n }

// Observe folds in one sample: the rate of each class (in Classes order)
// and the metric seen. Samples with a non-finite or negative rate or a
// non-finite metric are ignored.
func (m *ClassCosts) Observe(rates []float64, y float64) {
	k := len(m.classes)
	if len(rates) != k || !isFinite(y) {
		return
	}
	for _, r := range rates {
		if !isFinite(r) || r < 0 {
			return
		}
	}
	l := m.forget
	m.w = l*m.w + 1
	m.sy = l*m.sy + y
	m.syy = l*m.syy + y*y
	for i, ri := range rates {
		m.sx[i] = l*m.sx[i] + ri
		m.sxy[i] = l*m.sxy[i] + ri*y
		row := m.sxx[i*k : (i+1)*k]
		for j, rj := range rates {
			row[j] = l*row[j] + ri*rj
		}
	}
	m.n++
	m.fitted = false
}

// Forget multiplies the weight of everything seen so far by keep (0 starts
// over): after a deploy the old samples describe another system.
func (m *ClassCosts) Forget(keep float64) {
	m.w *= keep
	m.sy *= keep
	m.syy *= keep
	for i := range m.sx {
		m.sx[i] *= keep
		m.sxy[i] *= keep
	}
	for i := range m.sxx {
		m.sxx[i] *= keep
	}
	m.fitted = false
}

// minClassWeight is the discounted sample count below which the model
// says nothing: a line needs a few more points than it has unknowns.
func (m *ClassCosts) minWeight() float64 { return float64(len(m.classes)) + 5 }

func (m *ClassCosts) solve() *classFit {
	if m.fitted {
		return &m.fit
	}
	m.fitted = true
	k := len(m.classes)
	f := &m.fit
	f.ok = false
	if m.w < m.minWeight() {
		return f
	}
	if f.beta == nil {
		f.beta, f.inv, f.mean, f.variance = make([]float64, k), make([]float64, k*k), make([]float64, k), make([]float64, k)
	}
	w := m.w
	ym := m.sy / w
	for i := range f.mean {
		f.mean[i] = m.sx[i] / w
	}
	// Centred sums, with the faint ridge on the diagonal.
	c := make([]float64, k*k)
	cy := make([]float64, k)
	maxDiag := 0.0
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			c[i*k+j] = m.sxx[i*k+j] - w*f.mean[i]*f.mean[j]
		}
		cy[i] = m.sxy[i] - w*f.mean[i]*ym
		maxDiag = math.Max(maxDiag, c[i*k+i])
	}
	for i := 0; i < k; i++ {
		c[i*k+i] = math.Max(c[i*k+i], 0)*(1+1e-6) + 1e-12*(maxDiag+1)
	}
	if !invertSPD(c, f.inv, k) {
		return f
	}
	sse := m.syy - w*ym*ym
	for i := 0; i < k; i++ {
		b := 0.0
		for j := 0; j < k; j++ {
			b += f.inv[i*k+j] * cy[j]
		}
		f.beta[i] = b
		sse -= b * cy[i]
	}
	f.base = ym
	for i := 0; i < k; i++ {
		f.base -= f.beta[i] * f.mean[i]
	}
	dof := math.Max(w-float64(k+1), 1)
	f.sigma = math.Sqrt(math.Max(sse, 0) / dof)
	f.baseVar = 1 / w
	for i := 0; i < k; i++ {
		f.variance[i] = f.inv[i*k+i]
		for j := 0; j < k; j++ {
			f.baseVar += f.mean[i] * f.inv[i*k+j] * f.mean[j]
		}
	}
	f.ok = true
	return f
}

// Cost is one class's learned cost per request/s, in the metric's unit.
type Cost struct {
	Class  string  `json:"class"`
	Cost   float64 `json:"cost"`
	StdErr float64 `json:"stderr"`
}

// Costs returns the base (the metric at zero load) and each class's cost,
// with their standard errors; ok is false until the fit rests on more
// samples than it has unknowns (plus five).
func (m *ClassCosts) Costs() (base Cost, costs []Cost, ok bool) {
	f := m.solve()
	if !f.ok {
		return Cost{}, nil, false
	}
	base = Cost{Class: "base", Cost: f.base, StdErr: f.sigma * math.Sqrt(f.baseVar)}
	costs = make([]Cost, len(m.classes))
	for i, c := range m.classes {
		costs[i] = Cost{Class: c, Cost: f.beta[i], StdErr: f.sigma * math.Sqrt(f.variance[i])}
	}
	return base, costs, true
}

// Noise is the residual standard deviation of the fit (0 until it is ok).
func (m *ClassCosts) Noise() float64 {
	if f := m.solve(); f.ok {
		return f.sigma
	}
	return 0
}

// Predict is the metric expected at the given per-class rates and the
// standard error of a new reading there (the noise and the uncertainty of
// the fit at that mix, which grows the further the mix is from the ones
// seen); ok is false until Costs is.
func (m *ClassCosts) Predict(rates []float64) (mean, se float64, ok bool) {
	f := m.solve()
	k := len(m.classes)
	if !f.ok || len(rates) != k {
		return 0, 0, false
	}
	mean = f.base
	d := m.scratchK
	for i, r := range rates {
		mean += f.beta[i] * r
		d[i] = r - f.mean[i]
	}
	q := 1 + 1/m.w
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			q += d[i] * f.inv[i*k+j] * d[j]
		}
	}
	return mean, f.sigma * math.Sqrt(q), true
}

// ShedChoice is what shedding one request/s of a class is expected to free
// of the metric: the cost, and the cost less z standard errors (what it
// frees at least, at that confidence).
type ShedChoice struct {
	Class   string  `json:"class"`
	Frees   float64 `json:"frees"`
	AtLeast float64 `json:"at_least"`
}

// ShedOrder ranks the classes that may be shed by what one shed request/s
// frees of the metric, surest first: by the cost less z standard errors,
// so a class whose cost the data has not pinned down is not preferred on a
// guess. Classes not in the model are left out; ok is false until Costs is.
// The caller passes the model of the metric that binds (the contention
// point): that is the headroom that matters.
func (m *ClassCosts) ShedOrder(allowed []string, z float64) ([]ShedChoice, bool) {
	_, costs, ok := m.Costs()
	if !ok {
		return nil, false
	}
	byName := map[string]Cost{}
	for _, c := range costs {
		byName[c.Class] = c
	}
	var out []ShedChoice
	for _, a := range allowed {
		c, in := byName[a]
		if !in {
			continue
		}
		out = append(out, ShedChoice{Class: a, Frees: c.Cost, AtLeast: c.Cost - z*c.StdErr})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].AtLeast > out[j].AtLeast })
	return out, true
}

// MostHeadroomPerShed is the first of ShedOrder: the class whose shed
// requests free the most of the metric, surely; ok is false when no
// allowed class is known to free anything (its cost less z standard
// errors is not above 0).
func (m *ClassCosts) MostHeadroomPerShed(allowed []string, z float64) (ShedChoice, bool) {
	order, ok := m.ShedOrder(allowed, z)
	if !ok || len(order) == 0 || order[0].AtLeast <= 0 {
		return ShedChoice{}, false
	}
	return order[0], true
}

// invertSPD inverts a symmetric positive definite k×k matrix (row-major)
// by Cholesky; ok is false when it is not positive definite.
func invertSPD(a, inv []float64, k int) bool {
	l := make([]float64, k*k)
	for i := 0; i < k; i++ {
		for j := 0; j <= i; j++ {
			s := a[i*k+j]
			for p := 0; p < j; p++ {
				s -= l[i*k+p] * l[j*k+p]
			}
			if i == j {
				if s <= 0 {
					return false
				}
				l[i*k+i] = math.Sqrt(s)
			} else {
				l[i*k+j] = s / l[j*k+j]
			}
		}
	}
	// inv = (L Lᵀ)⁻¹: solve L Lᵀ x = e_c for each column c.
	col := make([]float64, k)
	for c := 0; c < k; c++ {
		for i := 0; i < k; i++ {
			s := 0.0
			if i == c {
				s = 1
			}
			for p := 0; p < i; p++ {
				s -= l[i*k+p] * col[p]
			}
			col[i] = s / l[i*k+i]
		}
		for i := k - 1; i >= 0; i-- {
			s := col[i]
			for p := i + 1; p < k; p++ {
				s -= l[p*k+i] * col[p]
			}
			col[i] = s / l[i*k+i]
		}
		for i := 0; i < k; i++ {
			inv[i*k+c] = col[i]
		}
	}
	return true
}
