package engine

import (
	"fmt"
	"html/template"
	"math"
	"regexp"
	"sort"
	"strings"
)

// The shaping part of the HTML report, from the timeline's ShapingPoints:
// the planned against the shaped rate with each shaper's decisions marked,
// one chart per envelope metric (readings, the prediction band drawn at
// the time it predicts, the limit), safe-mode and fallback spans on both,
// hover values on every tick, and tables of the shapers and their
// decisions.

// shaperColors tell shapers apart on the charts, in chain order.
var shaperColors = []string{"#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"}

const maxChangeRows = 60

// numbers are the figures in a reason.
var numbers = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)

type htmlShaping struct {
	Shapers   []htmlShaper
	Changes   []htmlChange
	More      int // changes left out of the table
	SafeTicks int
	SafeFirst string
	SafeLast  string
}

type htmlShaper struct {
	Name, Strategy, Color, FirstAt, Contention, LastReason, LastError string
	FailedFirstAt                                                     string
	Acted, Fallbacks                                                  int
}

type htmlChange struct {
	At, Shaper, Color, Changed, Reason string
	Fallback                           bool
}

// change is a decision worth a mark: a shaper starts or stops acting, or
// acts for another reason than the tick before.
type change struct {
	i int
	d ShaperMark
}

// shapingSection builds the shaping charts (rate first) and tables; ok is
// false when the run had no control loop.
func (s *Summary) shapingSection() (charts []template.HTML, sec *htmlShaping, ok bool) {
	tl := s.Timeline
	has := false
	for _, p := range tl {
		has = has || p.Shaping != nil
	}
	if !has {
		return nil, nil, false
	}
	sec = &htmlShaping{}
	colors := map[string]string{}
	colorOf := func(name string) string {
		if c, ok := colors[name]; ok {
			return c
		}
		c := shaperColors[len(colors)%len(shaperColors)]
		colors[name] = c
		return c
	}
	// The shapers, in the order they first appear; their decision changes.
	byName := map[string]*htmlShaper{}
	var order []string
	last := map[string]string{} // shaper -> short reason of its last tick ("" = not acting)
	var changes []change
	for i, p := range tl {
		seen := map[string]bool{}
		for _, d := range shapingOf(p).Decisions {
			h := byName[d.Shaper]
			if h == nil {
				h = &htmlShaper{Name: d.Shaper, Strategy: d.Strategy, Color: colorOf(d.Shaper)}
				byName[d.Shaper] = h
				order = append(order, d.Shaper)
			}
			seen[d.Shaper] = true
			key := numbers.ReplaceAllString(ShortReason(d.Reason, 200), "#") // the same reason with new figures is no new decision
			if d.Fallback {
				h.Fallbacks++
				if h.Fallbacks == 1 {
					h.FailedFirstAt = fmtSecs(p.T)
				}
				h.LastError = d.Error
				key = "fallback: " + d.Error
			}
			if d.Changed != "" {
				if h.Acted == 0 {
					h.FirstAt = fmtSecs(p.T)
				}
				h.Acted++
				h.LastReason = d.Reason
			}
			if d.Contention != "" {
				h.Contention = d.Contention
			}
			if key != last[d.Shaper] {
				changes = append(changes, change{i, d})
			}
			last[d.Shaper] = key
		}
		for name := range last {
			if !seen[name] {
				last[name] = ""
			}
		}
		if sp := shapingOf(p); sp.SafeMode != "" {
			if sec.SafeTicks == 0 {
				sec.SafeFirst = fmtSecs(p.T)
			}
			sec.SafeTicks++
			sec.SafeLast = sp.SafeMode
		}
	}
	for _, n := range order {
		sec.Shapers = append(sec.Shapers, *byName[n])
	}
	for k, c := range changes {
		if k >= maxChangeRows {
			sec.More = len(changes) - k
			break
		}
		why := c.d.Reason
		if c.d.Fallback {
			why = c.d.Error
		}
		sec.Changes = append(sec.Changes, htmlChange{At: fmtSecs(tl[c.i].T), Shaper: c.d.Shaper, Color: colorOf(c.d.Shaper),
			Changed: c.d.Changed, Reason: why, Fallback: c.d.Fallback})
	}
	spans := shapingSpans(tl)
	var marks []mark
	for _, c := range changes {
		title := fmt.Sprintf("%s at %s: ", c.d.Shaper, fmtSecs(tl[c.i].T))
		switch {
		case c.d.Fallback:
			title += "FAILED: " + c.d.Error
		case c.d.Changed != "":
			title += c.d.Changed + " — " + c.d.Reason
		default:
			title += c.d.Reason
		}
		color := colorOf(c.d.Shaper)
		if c.d.Fallback {
			color = colorFallback
		}
		marks = append(marks, mark{t: tl[c.i].T, color: color, title: title})
	}
	var deciders []string // the shapers with marks of their own colour
	for _, n := range order {
		if byName[n].Acted > 0 {
			deciders = append(deciders, n)
		}
	}
	charts = append(charts, template.HTML(s.rateChart(spans, marks, deciders, colorOf)))
	for _, m := range envelopeMetrics(tl) {
		charts = append(charts, template.HTML(envelopeChart(tl, m, spans)))
	}
	return charts, sec, true
}

func shapingOf(p TickPoint) *ShapingPoint {
	if p.Shaping == nil {
		return &ShapingPoint{}
	}
	return p.Shaping
}

// shapingSpans are the stretches of ticks in safe mode and those in which a
// shaper failed, as shaded spans with what happened.
func shapingSpans(tl []TickPoint) []span {
	var out []span
	add := func(kind, color string, on func(sp *ShapingPoint) string) {
		start, what := -1, ""
		flush := func(end int) {
			if start >= 0 {
				from := 0.0
				if start > 0 {
					from = tl[start-1].T
				}
				out = append(out, span{from: from, to: tl[end].T, color: color,
					title: fmt.Sprintf("%s from %s to %s: %s", kind, fmtSecs(from), fmtSecs(tl[end].T), what)})
			}
			start = -1
		}
		for i, p := range tl {
			w := on(shapingOf(p))
			if w != "" && start < 0 {
				start, what = i, w
			}
			if w == "" && start >= 0 {
				flush(i - 1)
			}
		}
		if start >= 0 {
			flush(len(tl) - 1)
		}
	}
	add("safe mode", colorSafe, func(sp *ShapingPoint) string { return sp.SafeMode })
	add("shaper failed", colorFallback, func(sp *ShapingPoint) string {
		var w []string
		for _, f := range sp.Fallbacks() {
			w = append(w, f.Shaper+": "+f.Error)
		}
		return strings.Join(w, "; ")
	})
	return out
}

// rateChart is the throughput against the planned and the shaped rate,
// with the shapers' decisions marked above it.
func (s *Summary) rateChart(spans []span, marks []mark, shapers []string, colorOf func(string) string) string {
	tl := s.Timeline
	tp, rate, planned := make([]float64, len(tl)), make([]float64, len(tl)), make([]float64, len(tl))
	for i, p := range tl {
		tp[i], rate[i], planned[i] = p.Throughput, p.Rate, math.NaN()
		if p.Shaping != nil {
			planned[i] = p.Shaping.Planned
		}
	}
	c := &chart{title: "Throughput per tick (req/s), with the planned and the shaped rate", format: fmtNum, spans: spans, marks: marks,
		series: []series{{vals: tp, style: "area", color: "#4a7fd6"}, {vals: planned, style: "dashed", color: "#777"}, {vals: rate, style: "line", color: "#173f82"}},
		legend: []legendItem{{"planned rate", "#777", "dashed"}, {"shaped rate (after the shapers and max_rate)", "#173f82", "line"},
			{"completed (aborted excluded)", "#4a7fd6", "area"}}}
	for _, n := range shapers {
		c.legend = append(c.legend, legendItem{n + " decided", colorOf(n), "mark"})
	}
	c.legend = append(c.legend, spanLegend(spans)...)
	c.hover = func(i int) string {
		p := tl[i]
		var b strings.Builder
		fmt.Fprintf(&b, "%s · %s\n", fmtSecs(p.T), p.Phase)
		if p.Shaping != nil {
			fmt.Fprintf(&b, "planned %s/s · ", fmtNum(p.Shaping.Planned))
		}
		fmt.Fprintf(&b, "shaped %s/s · completed %s/s", fmtNum(p.Rate), fmtNum(p.Throughput))
		if sp := p.Shaping; sp != nil {
			if d := sp.Binding(); d != nil {
				fmt.Fprintf(&b, "\n%s: %s", d.Shaper, ShortReason(d.Reason, 100))
			}
			for _, f := range sp.Fallbacks() {
				fmt.Fprintf(&b, "\n%s FAILED: %s", f.Shaper, f.Error)
			}
			if sp.SafeMode != "" {
				b.WriteString("\n" + sp.SafeMode)
			}
		}
		return b.String()
	}
	return c.render(tl)
}

// envelopeMetrics are the envelope metrics the timeline reports, sorted.
func envelopeMetrics(tl []TickPoint) []string {
	set := map[string]bool{}
	for _, p := range tl {
		for _, r := range shapingOf(p).Envelope {
			set[r.Metric] = true
		}
	}
	out := make([]string, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// envelopeChart is one envelope metric: its readings, the prediction band
// each tick acted on (drawn at the time it predicts, so a reading can be
// held against what was predicted for it), and the limit.
func envelopeChart(tl []TickPoint, metric string, spans []span) string {
	n := len(tl)
	vals, up, low, bx := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	limit := 0.0
	by := ""
	readings := make([]*EnvelopeReading, n)
	for i, p := range tl {
		vals[i], up[i], low[i], bx[i] = math.NaN(), math.NaN(), math.NaN(), p.T
		for k := range shapingOf(p).Envelope {
			r := &shapingOf(p).Envelope[k]
			if r.Metric != metric {
				continue
			}
			readings[i] = r
			limit = r.Limit
			if !r.Missing && !r.Stale {
				vals[i] = r.Value
			}
			if b := r.Prediction; b != nil {
				up[i], low[i], bx[i] = b.Upper, b.Lower, p.T+b.HorizonS
				by = b.By
			}
		}
	}
	f := func(v float64) string { return fmtReading(metric, v, limit) }
	c := &chart{format: f, limit: limit, spans: spans,
		title:  fmt.Sprintf("%s against its limit (%s)", metric, f(limit)),
		series: []series{{vals: up, lower: low, x: bx, style: "band", color: colorBand}, {vals: vals, style: "line", color: "#173f82"}},
		legend: []legendItem{{"reading (gaps: stale or missing)", "#173f82", "line"}, {"limit", colorLimit, "dashed"}}}
	if by != "" {
		c.legend = append(c.legend, legendItem{"prediction band, drawn at the time it is for", colorBand, "band"})
	}
	c.legend = append(c.legend, spanLegend(spans)...)
	c.hover = func(i int) string {
		p, r := tl[i], readings[i]
		s := fmt.Sprintf("%s · %s\n", fmtSecs(p.T), p.Phase)
		switch {
		case r == nil || r.Missing:
			return s + metric + ": no reading"
		case r.Stale:
			s += fmt.Sprintf("%s %s (stale) of %s", metric, f(r.Value), f(r.Limit))
		default:
			s += fmt.Sprintf("%s %s of %s (%.0f%% of the limit)", metric, f(r.Value), f(r.Limit), 100*r.Value/r.Limit)
		}
		if b := r.Prediction; b != nil {
			s += fmt.Sprintf("\npredicted for %s by %s: %s", fmtSecs(p.T+b.HorizonS), b.By, f(b.Value))
			if b.Upper > b.Value {
				s += " (band " + f(b.Lower) + " – " + f(b.Upper) + ")"
			}
		}
		return s
	}
	return c.render(tl)
}

// spanLegend names the kinds of spans a chart shades.
func spanLegend(spans []span) []legendItem {
	var out []legendItem
	for _, k := range []legendItem{{"safe mode", colorSafe, "span"}, {"a shaper failed", colorFallback, "span"}} {
		for _, sp := range spans {
			if sp.color == k.color {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// failureNotes are the report's warnings about failing shapers: how many
// ticks each failed in, from when, and its error.
func (sec *htmlShaping) failureNotes() []string {
	if sec == nil {
		return nil
	}
	var out []string
	for _, h := range sec.Shapers {
		if h.Fallbacks > 0 {
			out = append(out, fmt.Sprintf("shaper %q failed on %d ticks (first at %s); the safe built-in took its place on those ticks: %s",
				h.Name, h.Fallbacks, h.FailedFirstAt, h.LastError))
		}
	}
	return out
}
