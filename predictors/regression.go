package predictors

import "math"

// Regression is a least-squares polynomial fit y ≈ c₀ + c₁x (+ c₂x² + c₃x³).
type Regression struct {
	Coef  []float64 // c₀, c₁[, c₂]
	Sigma float64   // residual standard deviation (n − k degrees of freedom)
	N     int
	inv   [4][4]float64 // (XᵀX)⁻¹ for prediction intervals
	scale float64       // x is divided by scale internally for conditioning
}

// LinearFit fits y ≈ a + b·x.
func LinearFit(x, y []float64) (*Regression, error) { return polyFit(x, y, 2) }

// QuadraticFit fits y ≈ a + b·x + c·x².
func QuadraticFit(x, y []float64) (*Regression, error) { return polyFit(x, y, 3) }

// PolyFit fits a polynomial of degree 1 to 3.
func PolyFit(x, y []float64, degree int) (*Regression, error) {
	if degree < 1 || degree > 3 {
		return nil, badParam("polynomial degree %d outside 1..3", degree)
	}
	return polyFit(x, y, degree+1)
}

func polyFit(x, y []float64, k int) (*Regression, error) {
	if len(x) != len(y) {
		return nil, badParam("x has %d values, y has %d", len(x), len(y))
	}
	scale := 0.0
	n := 0
	for i := range x {
		if isFinite(x[i]) && isFinite(y[i]) {
			scale = math.Max(scale, math.Abs(x[i]))
			n++
		}
	}
	if n < k+1 {
		return nil, ErrTooShort
	}
	if scale == 0 {
		scale = 1
	}
	var s [4][4]float64
	var b [4]float64
	var yy float64
	for i := range x {
		if !isFinite(x[i]) || !isFinite(y[i]) {
			continue
		}
		phi := features(x[i]/scale, k)
		for r := 0; r < k; r++ {
			for c := 0; c < k; c++ {
				s[r][c] += phi[r] * phi[c]
			}
			b[r] += phi[r] * y[i]
		}
		yy += y[i] * y[i]
	}
	inv, ok := invert(s, k)
	if !ok {
		return nil, badParam("x values are degenerate (all equal?)")
	}
	var th [4]float64
	for r := 0; r < k; r++ {
		for c := 0; c < k; c++ {
			th[r] += inv[r][c] * b[c]
		}
	}
	rss := 0.0
	for i := range x {
		if !isFinite(x[i]) || !isFinite(y[i]) {
			continue
		}
		phi := features(x[i]/scale, k)
		e := y[i] - dot(th, phi, k)
		rss += e * e
	}
	reg := &Regression{Coef: make([]float64, k), N: n, inv: inv, scale: scale}
	p := 1.0
	for r := 0; r < k; r++ {
		reg.Coef[r] = th[r] / p
		p *= scale
	}
	if n > k {
		reg.Sigma = math.Sqrt(rss / float64(n-k))
	}
	return reg, nil
}

// Predict returns the fitted value at x and the standard error of a new
// observation there (σ√(1 + φᵀ(XᵀX)⁻¹φ)).
func (r *Regression) Predict(x float64) (mean, se float64) {
	k := len(r.Coef)
	p := 1.0
	for i := 0; i < k; i++ {
		mean += r.Coef[i] * p
		p *= x
	}
	phi := features(x/r.scale, k)
	return mean, r.Sigma * math.Sqrt(1+quad(r.inv, phi, k))
}

func features(x float64, k int) [4]float64 {
	var f [4]float64
	f[0] = 1
	if k > 1 {
		f[1] = x
	}
	if k > 2 {
		f[2] = x * x
	}
	if k > 3 {
		f[3] = x * x * x
	}
	return f
}

func dot(a, b [4]float64, k int) float64 {
	s := 0.0
	for i := 0; i < k; i++ {
		s += a[i] * b[i]
	}
	return s
}

func quad(m [4][4]float64, v [4]float64, k int) float64 {
	s := 0.0
	for r := 0; r < k; r++ {
		for c := 0; c < k; c++ {
			s += v[r] * m[r][c] * v[c]
		}
	}
	return s
}

// invert inverts the leading k×k block of a symmetric matrix by Gauss–Jordan
// with partial pivoting; ok is false when it is (numerically) singular.
func invert(a [4][4]float64, k int) (inv [4][4]float64, ok bool) {
	for i := 0; i < k; i++ {
		inv[i][i] = 1
	}
	maxDiag := 0.0
	for i := 0; i < k; i++ {
		maxDiag = math.Max(maxDiag, math.Abs(a[i][i]))
	}
	if maxDiag == 0 {
		return inv, false
	}
	for c := 0; c < k; c++ {
		p := c
		for r := c + 1; r < k; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) <= 1e-12*maxDiag {
			return inv, false
		}
		a[c], a[p] = a[p], a[c]
		inv[c], inv[p] = inv[p], inv[c]
		d := a[c][c]
		for j := 0; j < k; j++ {
			a[c][j] /= d
			inv[c][j] /= d
		}
		for r := 0; r < k; r++ {
			if r == c {
				continue
			}
			f := a[r][c]
			for j := 0; j < k; j++ {
				a[r][j] -= f * a[c][j]
				inv[r][j] -= f * inv[c][j]
			}
		}
	}
	return inv, true
}
