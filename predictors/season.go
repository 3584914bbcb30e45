package predictors

import "math"

// ACF returns the sample autocorrelation of y at lags 0..maxLag (after
// removing a least-squares line, so a trend does not read as a season).
func ACF(y []float64, maxLag int) []float64 {
	n := len(y)
	if n < 3 || maxLag < 0 {
		return nil
	}
	maxLag = min(maxLag, n-1)
	d := detrend(y)
	var v0 float64
	for _, v := range d {
		v0 += v * v
	}
	acf := make([]float64, maxLag+1)
	if v0 == 0 {
		return acf
	}
	for k := 0; k <= maxLag; k++ {
		s := 0.0
		for i := k; i < n; i++ {
			s += d[i] * d[i-k]
		}
		acf[k] = s / v0
	}
	return acf
}

// detrend returns y minus its least-squares line.
func detrend(y []float64) []float64 {
	n := len(y)
	var sx, sy, sxx, sxy float64
	for i, v := range y {
		x := float64(i)
		sx += x
		sy += v
		sxx += x * x
		sxy += x * v
	}
	fn := float64(n)
	den := fn*sxx - sx*sx
	b := 0.0
	if den != 0 {
		b = (fn*sxy - sx*sy) / den
	}
	a := (sy - b*sx) / fn
	d := make([]float64, n)
	for i, v := range y {
		d[i] = v - a - b*float64(i)
	}
	return d
}

// DetectPeriod finds a seasonal period in y from its autocorrelation: the
// lag of the highest ACF peak in [minLag, maxLag] that is a local maximum,
// reaches at least 0.3, and stands at least 0.1 above the lowest ACF value
// before it (a real dip then rise, not the slow decay of a persistent
// series). It needs two full periods of data; it returns 0 when there is
// no convincing season. maxLag ≤ 0 means len(y)/2.
func DetectPeriod(y []float64, minLag, maxLag int) int {
	y, err := Clean(y)
	if err != nil {
		return 0
	}
	if minLag < 2 {
		minLag = 2
	}
	if maxLag <= 0 || maxLag > len(y)/2 {
		maxLag = len(y) / 2
	}
	if maxLag <= minLag {
		return 0
	}
	acf := ACF(y, maxLag+1)
	if acf == nil {
		return 0
	}
	d := detrend(y)
	best, bestLag := 0.3, 0
	low := math.Inf(1)
	for k := 1; k <= maxLag; k++ {
		low = math.Min(low, acf[k])
		if k < minLag || k+1 >= len(acf) {
			continue
		}
		if acf[k] >= acf[k-1] && acf[k] >= acf[k+1] && acf[k] > best && acf[k]-low >= 0.1 {
			best, bestLag = acf[k], k
		}
	}
	// A peak at 2p can beat the one at p; prefer the fundamental when it is
	// nearly as strong.
	if bestLag > 0 {
		for div := 4; div >= 2; div-- {
			if bestLag%div != 0 {
				continue
			}
			k := bestLag / div
			for _, c := range []int{k - 1, k, k + 1} {
				if c >= minLag && c < len(acf) && acf[c] >= 0.8*best && acf[c] >= 0.3 {
					return refine(d, c)
				}
			}
		}
	}
	return refine(d, bestLag)
}

// refine chooses among k−2..k+2 the period whose folded seasonal profile
// explains most of the variance. Near a broad ACF peak noise decides
// between neighbouring lags; folding the whole series by a wrong period
// smears the profile a little more every cycle, so it tells them apart.
func refine(y []float64, k int) int {
	if k == 0 {
		return 0
	}
	best, bestK := math.Inf(-1), k
	sum := make([]float64, k+3)
	cnt := make([]float64, k+3)
	for _, c := range []int{k, k - 1, k + 1, k - 2, k + 2} {
		if c < 2 || 2*c > len(y) {
			continue
		}
		clear(sum[:c])
		clear(cnt[:c])
		for i, v := range y {
			sum[i%c] += v
			cnt[i%c]++
		}
		ssb := 0.0
		for j := 0; j < c; j++ {
			ssb += sum[j] * sum[j] / cnt[j]
		}
		if ssb > best*(1+1e-12) {
			best, bestK = ssb, c
		}
	}
	return bestK
}
