package predictors

import "math"

// Robust location and scale: medians by quickselect, in place, so the
// online detectors can use them on scratch buffers without allocating.

// medianMAD returns the median and the median absolute deviation of s,
// reordering and overwriting s.
func medianMAD(s []float64) (med, mad float64) {
	med = median(s)
	for i := range s {
		s[i] = math.Abs(s[i] - med)
	}
	return med, median(s)
}

// median reorders v (quickselect) and returns its median.
func median(v []float64) float64 {
	n := len(v)
	if n == 0 {
		return 0
	}
	m := selectK(v, n/2)
	if n%2 == 1 {
		return m
	}
	// The largest of the lower half.
	lo := v[0]
	for _, x := range v[:n/2] {
		lo = math.Max(lo, x)
	}
	return (lo + m) / 2
}

// selectK partially sorts v so that v[k] is the k-th smallest, and
// returns it (Hoare's quickselect with a median-of-three pivot).
func selectK(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		p := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		if k <= j {
			hi = j
		} else if k >= i {
			lo = i
		} else {
			return v[k]
		}
	}
	return v[k]
}
