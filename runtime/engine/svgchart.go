package engine

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// chart is one inline SVG chart of the report over the run's timeline:
// series (filled, solid, dashed, or a band between two bounds), a limit
// line, shaded spans, marks above the plot, and a hover column per tick
// whose <title> lists that tick's values (browsers show it as a tooltip).
type chart struct {
	title  string
	legend []legendItem
	format func(float64) string
	series []series
	limit  float64 // drawn as a red dashed line when > 0
	spans  []span
	marks  []mark
	hover  func(i int) string // the text of tick i's tooltip; nil = none
}

type legendItem struct{ label, color, style string }

// series is one line of a chart. X defaults to the ticks' times; a band
// gives its lower bound in Lower and may have its own X (a prediction is
// drawn at the time it is for).
type series struct {
	vals, lower, x []float64
	style          string // "area", "line", "dashed" or "band"
	color          string
}

// span shades [from, to) seconds of the run, with a tooltip.
type span struct {
	from, to float64
	color    string
	title    string
}

// mark is a small triangle above the plot at t seconds, with a tooltip.
type mark struct {
	t     float64
	color string
	title string
}

const (
	chartW, chartH                                  = 940.0, 230.0
	chartLeft, chartRight, chartTop, chartBottom    = 64.0, 12.0, 22.0, 28.0
	colorLimit, colorBand, colorFallback, colorSafe = "#d62728", "#ff7f0e", "#d62728", "#e8a33d"
)

// render draws the chart as a <figure> with inline SVG, over the timeline
// tl (one point per tick).
func (c *chart) render(tl []TickPoint) string {
	pw, ph := chartW-chartLeft-chartRight, chartH-chartTop-chartBottom
	n := len(tl)
	maxV := c.limit
	for _, s := range c.series {
		for i, v := range s.vals {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				maxV = math.Max(maxV, v)
			}
			if s.lower != nil && !math.IsNaN(s.lower[i]) && !math.IsInf(s.lower[i], 0) {
				maxV = math.Max(maxV, s.lower[i])
			}
		}
	}
	if maxV <= 0 || math.IsInf(maxV, 0) || math.IsNaN(maxV) {
		maxV = 1
	}
	maxV *= 1.15 // room above the highest line
	total := math.Max(tl[n-1].T, 1e-3)
	x := func(t float64) float64 { return chartLeft + pw*math.Min(math.Max(t, 0), total)/total }
	y := func(v float64) float64 { return chartTop + ph*(1-math.Max(v, 0)/maxV) }
	b := &strings.Builder{}
	fmt.Fprintf(b, `<figure><figcaption>%s</figcaption>`, template.HTMLEscapeString(c.title))
	if len(c.legend) > 0 {
		b.WriteString(`<div class="legend">`)
		for _, l := range c.legend {
			fmt.Fprintf(b, `<span><i class="%s" style="border-color:%s;background:%s"></i>%s</span>`,
				l.style, l.color, legendFill(l), template.HTMLEscapeString(l.label))
		}
		b.WriteString(`</div>`)
	}
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img">`, chartW, chartH)
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#fafafa" stroke="#ccc"/>`, chartLeft, chartTop, pw, ph)
	for _, frac := range []float64{0, 0.5, 1} {
		v := maxV * frac
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, chartLeft-6, y(v)+4, template.HTMLEscapeString(c.format(v)))
		if frac > 0 && frac < 1 {
			fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, chartLeft, chartLeft+pw, y(v), y(v))
		}
	}
	for _, s := range c.spans {
		fmt.Fprintf(b, `<rect class="span" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="0.22"><title>%s</title></rect>`,
			x(s.from), chartTop, math.Max(x(s.to)-x(s.from), 1.5), ph, s.color, template.HTMLEscapeString(s.title))
	}
	prevT, prevPhase := 0.0, ""
	for _, p := range tl {
		if p.Phase != prevPhase {
			fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#bbb" stroke-dasharray="2,3"/>`, x(prevT), x(prevT), chartTop, chartTop+ph)
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s</text>`, x(prevT)+3, chartTop+ph+14, template.HTMLEscapeString(p.Phase))
			prevPhase = p.Phase
		}
		prevT = p.T
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, chartLeft+pw, chartTop+ph+26, fmtSecs(total))
	xOf := func(s series, i int) float64 {
		if s.x != nil {
			return s.x[i]
		}
		return tl[i].T
	}
	for _, s := range c.series {
		for _, r := range runs(s.vals, s.lower) {
			pts := make([]string, 0, len(r)+2)
			// A tick's point sits at its end; a series' first point is drawn from 0 s.
			if r[0] == 0 && s.x == nil {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(0), y(s.vals[0])))
			}
			for _, i := range r {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(xOf(s, i)), y(s.vals[i])))
			}
			line := strings.Join(pts, " ")
			x0 := x(xOf(s, r[0]))
			if r[0] == 0 && s.x == nil {
				x0 = x(0)
			}
			switch s.style {
			case "area":
				fmt.Fprintf(b, `<polygon points="%.1f,%.1f %s %.1f,%.1f" fill="%s" fill-opacity="0.18" stroke="none"/>`,
					x0, y(0), line, x(xOf(s, r[len(r)-1])), y(0), s.color)
				fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.6"/>`, line, s.color)
			case "band":
				low := make([]string, 0, len(r))
				for k := len(r) - 1; k >= 0; k-- {
					i := r[k]
					low = append(low, fmt.Sprintf("%.1f,%.1f", x(xOf(s, i)), y(s.lower[i])))
				}
				fmt.Fprintf(b, `<polygon class="band" points="%s %s" fill="%s" fill-opacity="0.28" stroke="%s" stroke-opacity="0.6" stroke-width="0.8"/>`,
					line, strings.Join(low, " "), s.color, s.color)
			case "dashed":
				fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.3" stroke-dasharray="5,4"/>`, line, s.color)
			default:
				fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.8"/>`, line, s.color)
			}
		}
	}
	if c.limit > 0 {
		fmt.Fprintf(b, `<line class="limit" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1.6" stroke-dasharray="7,4"/>`,
			chartLeft, chartLeft+pw, y(c.limit), y(c.limit), colorLimit)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="%s">limit %s</text>`, chartLeft+pw-4, y(c.limit)-4, colorLimit,
			template.HTMLEscapeString(c.format(c.limit)))
	}
	for _, m := range c.marks {
		mx := x(m.t)
		fmt.Fprintf(b, `<path class="mark" d="M%.1f,%.1f l-4,-8 h8 z" fill="%s"><title>%s</title></path>`,
			mx, chartTop-1, m.color, template.HTMLEscapeString(m.title))
	}
	if c.hover != nil {
		prev := 0.0
		for i, p := range tl {
			fmt.Fprintf(b, `<rect class="hov" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
				x(prev), chartTop, math.Max(x(p.T)-x(prev), 0.5), ph, template.HTMLEscapeString(c.hover(i)))
			prev = p.T
		}
	}
	b.WriteString(`</svg></figure>`)
	return b.String()
}

// runs splits a series into its stretches without gaps (NaN in vals, or in
// lower for a band), as index lists.
func runs(vals, lower []float64) [][]int {
	var out [][]int
	var cur []int
	for i, v := range vals {
		bad := math.IsNaN(v) || math.IsInf(v, 0) || (lower != nil && (math.IsNaN(lower[i]) || math.IsInf(lower[i], 0)))
		if bad {
			if len(cur) > 0 {
				out, cur = append(out, cur), nil
			}
			continue
		}
		cur = append(cur, i)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func legendFill(l legendItem) string {
	if l.style == "band" || l.style == "span" || l.style == "area" {
		return l.color
	}
	return "transparent"
}
