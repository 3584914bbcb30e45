package dryrun

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// WriteHTML writes the report as one self-contained HTML page: the same
// summary as the terminal report and the charts as inline SVG, with no
// external asset, so it can be attached to a review or a CI run.
func WriteHTML(w io.Writer, r *Report) error {
	var text bytes.Buffer
	if err := WriteText(&text, r, TextOptions{Charts: false}); err != nil {
		return err
	}
	var charts []template.HTML
	for _, spec := range chartSpecs(r) {
		charts = append(charts, template.HTML(svgChart(spec, r)))
	}
	return htmlPage.Execute(w, map[string]any{
		"Report":  r,
		"Summary": text.String(),
		"Charts":  charts,
		"Verdict": verdictText(r),
		"Bad":     r.Verdict.Breach || r.Verdict.ThresholdFail,
	})
}

var htmlPage = template.Must(template.New("plan").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>loadshaper plan: {{.Report.Plan}}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:980px;color:#222;padding:0 1em}
h1{font-size:1.4em;margin-bottom:.2em} .verdict{padding:.6em 1em;border-radius:6px;margin:1em 0}
.ok{background:#e6f4ea;border:1px solid #8bc79b}.bad{background:#fde8e8;border:1px solid #e08c8c}
pre{background:#f6f8fa;padding:1em;overflow-x:auto;font-size:12px;line-height:1.35;border-radius:6px}
figure{margin:1.2em 0} figcaption{font-weight:600;margin-bottom:.3em;font-size:.95em}
svg text{font-family:system-ui,sans-serif;font-size:11px;fill:#444}
</style></head><body>
<h1>Dry-run of plan “{{.Report.Plan}}”</h1>
<div>seed {{.Report.Seed}} · simulated target: {{.Report.Source.Kind}} · no request was sent</div>
<div class="verdict {{if .Bad}}bad{{else}}ok{{end}}">Verdict: {{.Verdict}}</div>
{{range .Charts}}{{.}}
{{end}}<h2>Summary</h2>
<pre>{{.Summary}}</pre>
</body></html>
`))

// svgChart draws one chart as inline SVG: the series as a filled line,
// the planned rate dashed, the envelope limit as a red dashed line, the
// phases as labelled vertical rules.
func svgChart(spec chartSpec, r *Report) string {
	const W, H, left, right, top, bottom = 940.0, 220.0, 64.0, 12.0, 14.0, 28.0
	pw, ph := W-left-right, H-top-bottom
	n := len(spec.Values)
	maxV := spec.Limit * 1.15
	for i, v := range spec.Values {
		maxV = math.Max(maxV, v)
		if spec.Dots != nil {
			maxV = math.Max(maxV, spec.Dots[i])
		}
	}
	if maxV <= 0 || math.IsNaN(maxV) || math.IsInf(maxV, 0) {
		maxV = 1
	}
	total := math.Max(r.Duration, r.TickSeconds)
	x := func(t float64) float64 { return left + pw*t/total }
	y := func(v float64) float64 { return top + ph*(1-v/maxV) }
	b := &strings.Builder{}
	fmt.Fprintf(b, `<figure><figcaption>%s</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img">`, template.HTMLEscapeString(spec.Name), W, H)
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#fafafa" stroke="#ccc"/>`, left, top, pw, ph)
	for _, frac := range []float64{0, 0.5, 1} {
		v := maxV * frac
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, left-6, y(v)+4, template.HTMLEscapeString(spec.Format(v)))
		if frac > 0 && frac < 1 {
			fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, left, left+pw, y(v), y(v))
		}
	}
	for _, p := range r.Phases {
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#bbb" stroke-dasharray="2,3"/>`, x(p.Start), x(p.Start), top, top+ph)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s</text>`, x(p.Start)+3, top+ph+14, template.HTMLEscapeString(p.Name))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, left+pw, top+ph+26, fmtDur(r.Duration))
	if n > 0 {
		pts := func(vals []float64) string {
			s := &strings.Builder{}
			for i, v := range vals {
				fmt.Fprintf(s, "%.1f,%.1f ", x(r.Ticks[i].T), y(v))
			}
			fmt.Fprintf(s, "%.1f,%.1f", x(r.Ticks[n-1].T+r.Ticks[n-1].seconds(r.TickSeconds)), y(vals[n-1]))
			return s.String()
		}
		fmt.Fprintf(b, `<polygon points="%.1f,%.1f %s %.1f,%.1f" fill="#4a7fd6" fill-opacity="0.18" stroke="none"/>`, x(0), y(0), pts(spec.Values), x(r.Ticks[n-1].T+r.Ticks[n-1].seconds(r.TickSeconds)), y(0))
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="#2a5db0" stroke-width="1.6"/>`, pts(spec.Values))
		if spec.Dots != nil {
			fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="#888" stroke-width="1.2" stroke-dasharray="5,4"/>`, pts(spec.Dots))
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="#666">planned (dashed) · shaped (solid)</text>`, left+6, top+12)
		}
	}
	if spec.Limit > 0 {
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#d33" stroke-width="1.4" stroke-dasharray="6,4"/>`, left, left+pw, y(spec.Limit), y(spec.Limit))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="#d33" text-anchor="end">limit %s</text>`, left+pw-4, y(spec.Limit)-4, template.HTMLEscapeString(spec.Format(spec.Limit)))
		for i, v := range spec.Values {
			if v > spec.Limit {
				fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="4" fill="#d33"><title>first breach at %s</title></circle>`, x(r.Ticks[i].T), y(v), fmtDur(r.Ticks[i].T))
				break
			}
		}
	}
	b.WriteString(`</svg></figure>`)
	return b.String()
}
