package engine

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
)

// WriteHTML writes the summary as one self-contained HTML page (no script,
// stylesheet, font or image from elsewhere): the verdict, a table per
// phase, latency percentiles, status and error counts, thresholds, and
// inline SVG charts of the per-tick throughput and p99, so it can be
// attached to a CI run or a review.
func (s *Summary) WriteHTML(w io.Writer) error {
	rows := make([]htmlRow, 0, len(s.Phases)+1)
	// Shed and chaos columns only when something was shed or chaos acted
	// (warm-up phases included), to keep the table narrow.
	shed, chaos := s.Overall.Shed > 0, s.Overall.Aborted+s.Overall.SlowClient > 0
	for _, p := range s.Phases {
		shed = shed || p.Shed > 0
		chaos = chaos || p.Aborted+p.SlowClient > 0
	}
	for i := range s.Phases {
		p := &s.Phases[i]
		name := p.Name
		if p.Warmup {
			name += " (warm-up)"
		}
		dur := fmtSecs(p.DurationS)
		if p.EndedEarly {
			dur += fmt.Sprintf(" of %s (ended early: %s)", fmtSecs(p.PlannedS), p.EndReason)
		}
		load := p.Load
		for _, g := range p.Growth {
			load += "; " + g // the planned load the growth intents rehearsed
		}
		rows = append(rows, htmlRow{Name: name, Load: load, Model: p.Model, Duration: dur, St: &p.Stats})
	}
	rows = append(rows, htmlRow{Name: "overall", Duration: fmtSecs(s.Overall.DurationS), St: &s.Overall, Total: true})
	ths := make([]htmlThreshold, 0, len(s.Thresholds))
	for _, t := range s.Thresholds {
		h := htmlThreshold{Name: t.Name, Metric: t.Metric, Verdict: "PASS", Class: "ok", Scope: "run", Observed: "no data"}
		switch {
		case t.Skipped:
			h.Verdict, h.Class, h.Observed = "SKIP", "skip", "not measured by the load engine"
		case !t.Pass:
			h.Verdict, h.Class = "FAIL", "bad"
		}
		if t.Observed != nil {
			h.Observed = fmtMetric(t.Metric, *t.Observed)
		}
		if t.Max != nil {
			h.Bound += "max " + fmtMetric(t.Metric, *t.Max) + " "
		}
		if t.Min != nil {
			h.Bound += "min " + fmtMetric(t.Metric, *t.Min)
		}
		if t.Window > 0 {
			h.Scope = fmt.Sprintf("worst %gs window", t.Window)
		}
		if t.Phase != "" {
			h.Scope += " of phase " + t.Phase
		}
		if t.Aborted {
			h.Scope += " (aborted the run)"
		}
		ths = append(ths, h)
	}
	var charts []template.HTML
	if len(s.Timeline) > 0 {
		tp, p99, rate := make([]float64, len(s.Timeline)), make([]float64, len(s.Timeline)), make([]float64, len(s.Timeline))
		anyRate := false
		for i, p := range s.Timeline {
			tp[i], p99[i], rate[i] = p.Throughput, p.P99, p.Rate
			if p.Requests == 0 {
				p99[i] = math.NaN() // no request ended in the tick: no p99, a gap
			}
			anyRate = anyRate || p.Rate > 0
		}
		if !anyRate {
			rate = nil
		}
		charts = append(charts,
			template.HTML(s.svgChart("Throughput per tick (req/s)", tp, rate, "instructed rate (dashed) · completed, aborted excluded (solid)", fmtNum)),
			template.HTML(s.svgChart("p99 latency per tick (from the intended start)", p99, nil, "", func(v float64) string { return ms(v) })))
	}
	verdict, bad := s.Outcome, s.Outcome != OutcomeCompleted
	if s.Reason != "" {
		verdict += ": " + s.Reason
	}
	if !s.Passed() {
		verdict += " · thresholds failed"
		bad = true
	} else if len(s.Thresholds) > 0 {
		verdict += " · all thresholds held"
	}
	return htmlSummary.Execute(w, map[string]any{
		"S": s, "Rows": rows, "Shed": shed, "Chaos": chaos, "Thresholds": ths, "Charts": charts, "Verdict": verdict, "Bad": bad,
		"Started": s.Started.Format("2006-01-02 15:04:05 UTC"), "Duration": fmtSecs(s.DurationS),
		"Status": sortedCounts(s.Overall.Status), "Errors": sortedCounts(s.Overall.ErrorsByClass),
		"ByRequest": byRequestRows(s.Overall.ByRequest), "Classes": s.Overall.Classes,
	})
}

// WriteHTMLFile writes the HTML report to path, creating its directory.
func (s *Summary) WriteHTMLFile(path string) error {
	return writeFile(path, s.WriteHTML)
}

type htmlRow struct {
	Name, Load, Model, Duration string
	St                          *Stats
	Total                       bool
}

type htmlThreshold struct {
	Name, Metric, Verdict, Class, Observed, Bound, Scope string
}

type countRow struct {
	Key string
	N   int64
}

func sortedCounts(m map[string]int64) []countRow {
	out := make([]countRow, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, countRow{k, m[k]})
	}
	return out
}

type reqRow struct {
	Name string
	ReqStat
}

func byRequestRows(m map[string]ReqStat) []reqRow {
	out := make([]reqRow, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, reqRow{k, m[k]})
	}
	return out
}

func fmtSecs(s float64) string { return strconv.FormatFloat(s, 'f', 1, 64) + "s" }

func fmtNum(v float64) string {
	switch {
	case v >= 10000:
		return strconv.FormatFloat(v/1000, 'f', 1, 64) + "k"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// svgChart draws one per-tick series as inline SVG: the series as a
// filled line, an optional second series dashed, the phases as labelled
// vertical rules.
func (s *Summary) svgChart(title string, vals, dashed []float64, legend string, format func(float64) string) string {
	const W, H, left, right, top, bottom = 940.0, 220.0, 64.0, 12.0, 14.0, 28.0
	pw, ph := W-left-right, H-top-bottom
	tl := s.Timeline
	n := len(tl)
	maxV := 0.0
	for i, v := range vals {
		if !math.IsNaN(v) {
			maxV = math.Max(maxV, v)
		}
		if dashed != nil && !math.IsNaN(dashed[i]) {
			maxV = math.Max(maxV, dashed[i])
		}
	}
	if maxV <= 0 || math.IsInf(maxV, 0) {
		maxV = 1
	}
	maxV *= 1.15 // room for the legend above a flat line
	total := math.Max(tl[n-1].T, 1e-3)
	x := func(t float64) float64 { return left + pw*t/total }
	y := func(v float64) float64 { return top + ph*(1-v/maxV) }
	// A tick's point sits at its end; the first tick starts at 0.
	b := &strings.Builder{}
	fmt.Fprintf(b, `<figure><figcaption>%s</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img">`,
		template.HTMLEscapeString(title), W, H)
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#fafafa" stroke="#ccc"/>`, left, top, pw, ph)
	for _, frac := range []float64{0, 0.5, 1} {
		v := maxV * frac
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, left-6, y(v)+4, template.HTMLEscapeString(format(v)))
		if frac > 0 && frac < 1 {
			fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, left, left+pw, y(v), y(v))
		}
	}
	prevT, prevPhase := 0.0, ""
	for _, p := range tl {
		if p.Phase != prevPhase {
			fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#bbb" stroke-dasharray="2,3"/>`, x(prevT), x(prevT), top, top+ph)
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s</text>`, x(prevT)+3, top+ph+14, template.HTMLEscapeString(p.Phase))
			prevPhase = p.Phase
		}
		prevT = p.T
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, left+pw, top+ph+26, fmtSecs(total))
	// runs splits a series into its stretches without gaps (NaN); a
	// series' first point is drawn from 0 s.
	runs := func(vs []float64) [][]string {
		var out [][]string
		var cur []string
		for i, v := range vs {
			if math.IsNaN(v) {
				if len(cur) > 0 {
					out, cur = append(out, cur), nil
				}
				continue
			}
			if i == 0 {
				cur = append(cur, fmt.Sprintf("%.1f,%.1f", x(0), y(v)))
			}
			cur = append(cur, fmt.Sprintf("%.1f,%.1f", x(tl[i].T), y(v)))
		}
		if len(cur) > 0 {
			out = append(out, cur)
		}
		return out
	}
	for _, r := range runs(vals) {
		first, last := r[0][:strings.IndexByte(r[0], ',')], r[len(r)-1][:strings.IndexByte(r[len(r)-1], ',')]
		fmt.Fprintf(b, `<polygon points="%s,%.1f %s %s,%.1f" fill="#4a7fd6" fill-opacity="0.18" stroke="none"/>`, first, y(0), strings.Join(r, " "), last, y(0))
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="#2a5db0" stroke-width="1.6"/>`, strings.Join(r, " "))
	}
	if dashed != nil {
		for _, r := range runs(dashed) {
			fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="#888" stroke-width="1.2" stroke-dasharray="5,4"/>`, strings.Join(r, " "))
		}
	}
	if legend != "" {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="#666">%s</text>`, left+6, top+12, template.HTMLEscapeString(legend))
	}
	b.WriteString(`</svg></figure>`)
	return b.String()
}

var htmlSummary = template.Must(template.New("summary").Funcs(template.FuncMap{
	"ms":  ms,
	"pct": func(v float64) string { return strconv.FormatFloat(v*100, 'f', 2, 64) + "%" },
	"f1":  func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>loadshaper run: {{.S.Plan}}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.4em;margin-bottom:.2em} h2{font-size:1.1em;margin-top:1.6em}
.verdict{padding:.6em 1em;border-radius:6px;margin:1em 0}
.ok{background:#e6f4ea;border:1px solid #8bc79b}.bad{background:#fde8e8;border:1px solid #e08c8c}.skip{background:#f1f1f1}
table{border-collapse:collapse;font-size:13px;margin:.4em 0}
th,td{padding:.3em .45em;border-bottom:1px solid #e4e4e4;text-align:right;white-space:nowrap}
th{background:#f6f8fa} td.l,th.l{text-align:left} tr.total td{font-weight:600;border-top:2px solid #ccc}
td.ok{color:#17692b;font-weight:600;background:none;border:none;border-bottom:1px solid #e4e4e4}
td.bad{color:#b11;font-weight:600;background:none;border:none;border-bottom:1px solid #e4e4e4}
td.skip{color:#777;background:none}
figure{margin:1.2em 0} figcaption{font-weight:600;margin-bottom:.3em;font-size:.95em}
svg text{font-family:system-ui,sans-serif;font-size:11px;fill:#444}
.note{color:#555;font-size:.9em} .wide{overflow-x:auto}
</style></head><body>
<h1>Run of plan “{{.S.Plan}}”</h1>
<div>started {{.Started}} · {{.Duration}} · seed {{.S.Seed}}</div>
<div class="verdict {{if .Bad}}bad{{else}}ok{{end}}">Outcome: {{.Verdict}}</div>
{{range .S.Warnings}}<div class="verdict skip">warning: {{.}}</div>
{{end}}<h2>Phases</h2>
<div class="wide"><table>
<tr><th class="l">phase</th><th class="l">load</th><th>duration</th><th>requests</th><th>req/s</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th><th>errors</th><th>late</th><th>dropped</th>{{if .Shed}}<th>shed</th>{{end}}{{if .Chaos}}<th>aborted</th><th>slow client</th>{{end}}</tr>
{{range .Rows}}<tr{{if .Total}} class="total"{{end}}><td class="l">{{.Name}}</td><td class="l">{{.Load}}</td><td>{{.Duration}}</td><td>{{.St.Requests}}</td><td>{{f1 .St.Throughput}}</td><td>{{ms .St.Latency.P50}}</td><td>{{ms .St.Latency.P90}}</td><td>{{ms .St.Latency.P95}}</td><td>{{ms .St.Latency.P99}}</td><td>{{ms .St.Latency.P999}}</td><td>{{ms .St.Latency.Max}}</td><td>{{.St.Errors}} ({{pct .St.ErrorRate}})</td><td>{{.St.Late}}</td><td>{{.St.Dropped}}</td>{{if $.Shed}}<td>{{.St.Shed}}</td>{{end}}{{if $.Chaos}}<td>{{.St.Aborted}}</td><td>{{.St.SlowClient}}</td>{{end}}</tr>
{{end}}</table></div>
<p class="note">Latency is from each request's intended start (coordinated omission corrected). Warm-up phases are left out of overall.</p>
{{range .Charts}}{{.}}
{{end}}<h2>Latency percentiles (overall)</h2>
<table>
<tr><th class="l"></th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr>
{{with .S.Overall.Latency}}<tr><td class="l">latency (from the intended start)</td><td>{{ms .P50}}</td><td>{{ms .P90}}</td><td>{{ms .P95}}</td><td>{{ms .P99}}</td><td>{{ms .P999}}</td><td>{{ms .Max}}</td><td>{{ms .Mean}}</td></tr>{{end}}
{{with .S.Overall.Service}}<tr><td class="l">service time (from the actual send)</td><td>{{ms .P50}}</td><td>{{ms .P90}}</td><td>{{ms .P95}}</td><td>{{ms .P99}}</td><td>{{ms .P999}}</td><td>{{ms .Max}}</td><td>{{ms .Mean}}</td></tr>{{end}}
{{with .S.Overall.SendLag}}<tr><td class="l">send lag</td><td>{{ms .P50}}</td><td>{{ms .P90}}</td><td>{{ms .P95}}</td><td>{{ms .P99}}</td><td>{{ms .P999}}</td><td>{{ms .Max}}</td><td>{{ms .Mean}}</td></tr>{{end}}
</table>
{{if .ByRequest}}<h2>Requests</h2>
<table>
<tr><th class="l">request</th><th>requests</th><th>errors</th><th>p50</th><th>p99</th><th>max</th></tr>
{{range .ByRequest}}<tr><td class="l">{{.Name}}</td><td>{{.Requests}}</td><td>{{.Errors}}</td><td>{{ms .Latency.P50}}</td><td>{{ms .Latency.P99}}</td><td>{{ms .Latency.Max}}</td></tr>
{{end}}</table>
{{end}}{{with .S.Overall.Checks}}<h2>Checks (overall)</h2>
<p class="note">{{pct .Rate}} passed: {{.Passed}} passed, {{.Failed}} failed.</p>
<table>
<tr><th class="l">check</th><th class="l">request</th><th>passed</th><th>failed</th><th>rate</th></tr>
{{range .ByCheck}}<tr><td class="l">{{if .Failed}}✗{{else}}✓{{end}} {{.Name}}</td><td class="l">{{.Request}}</td><td>{{.Passed}}</td><td>{{.Failed}}</td><td>{{pct .Rate}}</td></tr>
{{end}}</table>
{{end}}{{range $name, $f := .S.Overall.Flows}}<h2>Flow {{$name}}</h2>
<p class="note">{{$f.Started}} started ({{f1 $f.StartRate}}/s), {{$f.Completed}} completed, {{$f.Aborted}} aborted, {{$f.Interrupted}} interrupted{{if $f.DataExhausted}}, {{$f.DataExhausted}} not started (data exhausted){{end}}.</p>
<table>
<tr><th class="l">step</th><th>requests</th><th>errors</th><th>p50</th><th>p95</th><th>p99</th></tr>
{{range $f.Steps}}<tr><td class="l">{{.Name}}</td><td>{{.Requests}}</td><td>{{.Errors}}</td><td>{{ms .Latency.P50}}</td><td>{{ms .Latency.P95}}</td><td>{{ms .Latency.P99}}</td></tr>
{{end}}</table>
{{end}}<h2>Status codes and errors (overall)</h2>
<table>
<tr><th class="l">status</th><th>count</th></tr>
{{range .Status}}<tr><td class="l">{{if eq .Key "0"}}no response{{else}}{{.Key}}{{end}}</td><td>{{.N}}</td></tr>
{{end}}</table>
<table>
<tr><th class="l">error class</th><th>count</th></tr>
{{range .Errors}}<tr><td class="l">{{.Key}}</td><td>{{.N}}</td></tr>
{{else}}<tr><td class="l">none</td><td>0</td></tr>
{{end}}</table>
{{if .Classes}}<h2>Priority classes (overall)</h2>
<table>
<tr><th class="l">class</th><th>sent</th><th>shed</th><th>errors</th></tr>
{{range $k, $c := .Classes}}<tr><td class="l">{{$k}}</td><td>{{$c.Sent}}</td><td>{{$c.Shed}}</td><td>{{$c.Errors}}</td></tr>
{{end}}</table>
{{end}}<h2>Thresholds</h2>
{{if .Thresholds}}<table>
<tr><th class="l">threshold</th><th class="l">metric</th><th class="l">observed</th><th class="l">bound</th><th class="l">over</th><th class="l">result</th></tr>
{{range .Thresholds}}<tr><td class="l">{{.Name}}</td><td class="l">{{.Metric}}</td><td class="l">{{.Observed}}</td><td class="l">{{.Bound}}</td><td class="l">{{.Scope}}</td><td class="l {{.Class}}">{{.Verdict}}</td></tr>
{{end}}</table>{{else}}<p class="note">The plan has no threshold.</p>{{end}}
</body></html>
`))
