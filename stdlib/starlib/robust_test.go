package starlib

import (
	"fmt"
	"testing"
)

// Odd arguments give a value or a Starlark error, never a panic or a NaN.
func TestModulesSurviveOddInput(t *testing.T) {
	series := []string{"[]", "[None]", "[1]", "[1, 2]", "[0] * 30", "[-5.0, 1e100, -1e100, 7]", "[1e-300] * 50",
		"[i % 7 for i in range(200)]", "[float('nan'), 1, 2, float('inf')]"}
	calls := []string{
		"forecast.ewma(%s, horizon = 5)", "forecast.holt(%s, horizon = 5, damped = True)",
		"forecast.holt_winters(%s, horizon = 5, period = 7)", "forecast.holt_winters(%s, horizon = 3, multiplicative = True, period = 3)",
		"forecast.auto(%s, horizon = 5)", "forecast.naive(%s)", "forecast.seasonal_naive(%s, period = 1000000000)",
		"forecast.median(%s, window = 1000000000)", "forecast.interval(%s, model = 'linear', horizon = 4)",
		"forecast.period(%s)", "forecast.anomalies(%s, window = 1000000000)",
		"stats.percentile(%s, 99)", "stats.stddev(%s)",
		"envelope.predict(%s, %s, 10)", "envelope.safe_rate(%s, %s, limit = 1, max_rate = 100)", "envelope.usl(%s, %s)",
	}
	for _, c := range calls {
		for _, s := range series {
			var src string
			switch n := countVerbs(c); n {
			case 1:
				src = fmt.Sprintf(c, s)
			default:
				src = fmt.Sprintf(c, s, s)
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s panicked: %v", src, r)
					}
				}()
				g, err := exec(t, "r = "+src, Limits{})
				if err != nil {
					return
				}
				if v := g["r"].String(); containsNaN(v) {
					t.Errorf("%s = %s", src, v)
				}
			}()
		}
	}
}

func countVerbs(s string) int {
	n := 0
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '%' && s[i+1] == 's' {
			n++
		}
	}
	return n
}

func containsNaN(s string) bool {
	for i := 0; i+3 <= len(s); i++ {
		if s[i:i+3] == "nan" || s[i:i+3] == "inf" {
			return true
		}
	}
	return false
}
