package predictors

import "math"

// golden minimises a unimodal f on [lo, hi] by golden-section search.
func golden(f func(float64) float64, lo, hi float64, iters int) float64 {
	const g = 0.6180339887498949
	a, b := lo, hi
	c, d := b-g*(b-a), a+g*(b-a)
	fc, fd := f(c), f(d)
	for i := 0; i < iters; i++ {
		if fc < fd {
			b, d, fd = d, c, fc
			c = b - g*(b-a)
			fc = f(c)
		} else {
			a, c, fc = c, d, fd
			d = a + g*(b-a)
			fd = f(d)
		}
	}
	return (a + b) / 2
}

// nelderMead minimises f from x0 with the given initial step per
// coordinate, keeping every coordinate in [lo, hi] (points are clamped, so
// the box is respected without a transform). It stops after maxEval
// evaluations or when the simplex's spread in f falls below a relative 1e-10.
// Deterministic: no random restarts.
func nelderMead(f func([]float64) float64, x0, step []float64, lo, hi float64, maxEval int) []float64 {
	n := len(x0)
	pts := make([][]float64, n+1)
	vals := make([]float64, n+1)
	eval := func(x []float64) float64 {
		for i := range x {
			x[i] = clamp(x[i], lo, hi)
		}
		v := f(x)
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	for i := range pts {
		p := append([]float64(nil), x0...)
		if i > 0 {
			p[i-1] += step[i-1]
			if p[i-1] > hi {
				p[i-1] = x0[i-1] - step[i-1]
			}
		}
		pts[i] = p
		vals[i] = eval(p)
	}
	evals := n + 1
	cen := make([]float64, n)
	xr := make([]float64, n)
	xe := make([]float64, n)
	xc := make([]float64, n)
	for evals < maxEval {
		// order: best first
		for i := 1; i <= n; i++ {
			for j := i; j > 0 && vals[j] < vals[j-1]; j-- {
				vals[j], vals[j-1] = vals[j-1], vals[j]
				pts[j], pts[j-1] = pts[j-1], pts[j]
			}
		}
		if math.Abs(vals[n]-vals[0]) <= 1e-10*(math.Abs(vals[0])+1e-20) {
			break
		}
		for j := range cen {
			cen[j] = 0
			for i := 0; i < n; i++ {
				cen[j] += pts[i][j]
			}
			cen[j] /= float64(n)
		}
		for j := range xr {
			xr[j] = cen[j] + (cen[j] - pts[n][j])
		}
		fr := eval(xr)
		evals++
		switch {
		case fr < vals[0]:
			for j := range xe {
				xe[j] = cen[j] + 2*(cen[j]-pts[n][j])
			}
			fe := eval(xe)
			evals++
			if fe < fr {
				copy(pts[n], xe)
				vals[n] = fe
			} else {
				copy(pts[n], xr)
				vals[n] = fr
			}
		case fr < vals[n-1]:
			copy(pts[n], xr)
			vals[n] = fr
		default:
			if fr < vals[n] {
				for j := range xc {
					xc[j] = cen[j] + 0.5*(xr[j]-cen[j])
				}
			} else {
				for j := range xc {
					xc[j] = cen[j] + 0.5*(pts[n][j]-cen[j])
				}
			}
			fc := eval(xc)
			evals++
			if fc < math.Min(fr, vals[n]) {
				copy(pts[n], xc)
				vals[n] = fc
			} else {
				for i := 1; i <= n; i++ {
					for j := range pts[i] {
						pts[i][j] = pts[0][j] + 0.5*(pts[i][j]-pts[0][j])
					}
					vals[i] = eval(pts[i])
					evals++
				}
			}
		}
	}
	best := 0
	for i := range vals {
		if vals[i] < vals[best] {
			best = i
		}
	}
	return pts[best]
}
