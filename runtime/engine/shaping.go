package engine

import (
	"strconv"
	"strings"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/tick"
)

// The per-tick shaping data (what the control tick saw and decided) is
// the control tick's own type; the engine keeps it per tick for the live
// view and the summary's timeline.
type (
	ShapingPoint    = tick.ShapingPoint
	EnvelopeReading = tick.EnvelopeReading
	Band            = tick.Band
	ShaperMark      = tick.ShaperMark
)

// ShortReason is the first clause of a reason ("cpu binds: predicted to
// reach 0.8 at 312 rps"), cut to n runes: what fits beside the rate in the
// live view.
func ShortReason(reason string, n int) string {
	r := reason
	if i := strings.Index(r, "; "); i >= 0 {
		r = r[:i]
	}
	if rs := []rune(r); len(rs) > n {
		r = string(rs[:n-1]) + "…"
	}
	return r
}

// shapingLine is the shaping part of the live view's tick line: every
// envelope metric against its limit (`cpu 0.74/0.80`; `!` over it, `?`
// stale, `-` no reading), then what bound the rate and why, or a failing
// shaper's error, which must not hide.
func shapingLine(p *ShapingPoint) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	for _, r := range p.Envelope {
		b.WriteString("  ")
		b.WriteString(r.Metric)
		b.WriteByte(' ')
		switch {
		case r.Missing:
			b.WriteString("-")
		default:
			b.WriteString(fmtReading(r.Metric, r.Value, r.Limit))
			if r.Stale {
				b.WriteString("?")
			} else if r.Value > r.Limit {
				b.WriteString("!")
			}
		}
		b.WriteString("/" + fmtReading(r.Metric, r.Limit, r.Limit))
	}
	for _, f := range p.Fallbacks() {
		b.WriteString("  [" + f.Shaper + " FAILED: " + ShortReason(f.Error, 90) + "]")
	}
	if d := p.Binding(); d != nil && !d.Fallback {
		b.WriteString("  " + d.Shaper + ": " + ShortReason(d.Reason, 70))
	}
	return b.String()
}

// fmtReading prints a reading in its metric's unit, with the precision its
// limit needs (an error rate under a 1% limit needs three decimals).
func fmtReading(metric string, v, limit float64) string {
	switch lang.MetricUnit(metric) {
	case lang.UnitSeconds:
		return ms(v * 1000)
	case lang.UnitBytes:
		return FormatBytes(v)
	case lang.UnitFraction:
		if limit < 0.1 {
			return strconv.FormatFloat(v, 'f', 3, 64)
		}
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// FormatBytes prints a size in the largest binary unit that keeps it at
// least 1, to three figures: 1.5GiB, 512MiB, 900B.
func FormatBytes(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v >= 100 || i == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64) + units[i]
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + units[i]
}
