package engine

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
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
	var shaping *htmlShaping
	if len(s.Timeline) > 0 {
		var ok bool
		if charts, shaping, ok = s.shapingSection(); !ok {
			charts = append(charts, template.HTML(s.throughputChart()))
		}
		charts = append(charts, template.HTML(s.p99Chart()))
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
		"S": s, "Rows": rows, "Shed": shed, "Chaos": chaos, "Thresholds": ths, "Charts": charts, "Shaping": shaping, "Failures": shaping.failureNotes(),
		"Verdict": verdict, "Bad": bad,
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

// throughputChart is the completed throughput against the instructed
// rate, for a run without a control loop (attack).
func (s *Summary) throughputChart() string {
	tl := s.Timeline
	tp, rate := make([]float64, len(tl)), make([]float64, len(tl))
	anyRate := false
	for i, p := range tl {
		tp[i], rate[i] = p.Throughput, p.Rate
		anyRate = anyRate || p.Rate > 0
	}
	c := &chart{title: "Throughput per tick (req/s)", format: fmtNum, series: []series{{vals: tp, style: "area", color: "#4a7fd6"}},
		legend: []legendItem{{"completed (aborted excluded)", "#4a7fd6", "area"}}}
	if anyRate {
		c.series = append(c.series, series{vals: rate, style: "dashed", color: "#777"})
		c.legend = append(c.legend, legendItem{"instructed rate", "#777", "dashed"})
	}
	c.hover = func(i int) string {
		return fmt.Sprintf("%s · %s\ninstructed %s/s · completed %s/s", fmtSecs(tl[i].T), tl[i].Phase, fmtNum(tl[i].Rate), fmtNum(tl[i].Throughput))
	}
	return c.render(tl)
}

// p99Chart is the p99 latency per tick; a tick without a response is a gap.
func (s *Summary) p99Chart() string {
	tl := s.Timeline
	p99 := make([]float64, len(tl))
	for i, p := range tl {
		p99[i] = p.P99
		if p.Requests == 0 {
			p99[i] = math.NaN()
		}
	}
	c := &chart{title: "p99 latency per tick (from the intended start)", format: ms, series: []series{{vals: p99, style: "area", color: "#4a7fd6"}}}
	c.hover = func(i int) string {
		if tl[i].Requests == 0 {
			return fmt.Sprintf("%s · %s\nno response", fmtSecs(tl[i].T), tl[i].Phase)
		}
		return fmt.Sprintf("%s · %s\np99 %s over %d requests, %d errors", fmtSecs(tl[i].T), tl[i].Phase, ms(tl[i].P99), tl[i].Requests, tl[i].Errors)
	}
	return c.render(tl)
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
svg rect.hov{fill:#000;fill-opacity:0} svg rect.hov:hover{fill-opacity:.07}
.legend{font-size:12px;color:#444;margin:.2em 0 .3em} .legend span{margin-right:1.1em;white-space:nowrap}
.legend i{display:inline-block;width:18px;height:0;margin-right:.35em;vertical-align:middle;border-top:2px solid}
.legend i.dashed{border-top-style:dashed} .legend i.band,.legend i.span,.legend i.area{height:9px;border:1px solid;opacity:.45}
.legend i.mark{width:0;height:0;border-left:5px solid transparent !important;border-right:5px solid transparent !important;border-top:9px solid;background:none !important}
i.sw{display:inline-block;width:9px;height:9px;margin-right:.4em;border-radius:2px}
tr.failed td{background:#fde8e8} td.err{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap;text-align:left;color:#b11}
td.reason{text-align:left;white-space:normal;max-width:560px}
.note{color:#555;font-size:.9em} .wide{overflow-x:auto}
</style></head><body>
<h1>Run of plan “{{.S.Plan}}”</h1>
<div>started {{.Started}} · {{.Duration}} · seed {{.S.Seed}}</div>
<div class="verdict {{if .Bad}}bad{{else}}ok{{end}}">Outcome: {{.Verdict}}</div>
{{range .S.Warnings}}<div class="verdict skip">warning: {{.}}</div>
{{end}}{{range .Failures}}<div class="verdict bad">{{.}}</div>
{{end}}<h2>Phases</h2>
<div class="wide"><table>
<tr><th class="l">phase</th><th class="l">load</th><th>duration</th><th>requests</th><th>req/s</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th><th>errors</th><th>late</th><th>dropped</th>{{if .Shed}}<th>shed</th>{{end}}{{if .Chaos}}<th>aborted</th><th>slow client</th>{{end}}</tr>
{{range .Rows}}<tr{{if .Total}} class="total"{{end}}><td class="l">{{.Name}}</td><td class="l">{{.Load}}</td><td>{{.Duration}}</td><td>{{.St.Requests}}</td><td>{{f1 .St.Throughput}}</td><td>{{ms .St.Latency.P50}}</td><td>{{ms .St.Latency.P90}}</td><td>{{ms .St.Latency.P95}}</td><td>{{ms .St.Latency.P99}}</td><td>{{ms .St.Latency.P999}}</td><td>{{ms .St.Latency.Max}}</td><td>{{.St.Errors}} ({{pct .St.ErrorRate}})</td><td>{{.St.Late}}</td><td>{{.St.Dropped}}</td>{{if $.Shed}}<td>{{.St.Shed}}</td>{{end}}{{if $.Chaos}}<td>{{.St.Aborted}}</td><td>{{.St.SlowClient}}</td>{{end}}</tr>
{{end}}</table></div>
<p class="note">Latency is from each request's intended start (coordinated omission corrected). Warm-up phases are left out of overall.</p>
{{range .Charts}}{{.}}
{{end}}{{with .Shaping}}<h2>Shaping</h2>
<p class="note">Hover a chart for each tick's values; the triangles above the rate chart mark where a shaper started, stopped or changed its reason to act.</p>
<div class="wide"><table>
<tr><th class="l">shaper</th><th class="l">strategy</th><th>ticks it changed the instruction</th><th>first at</th><th class="l">contention</th><th>ticks it failed</th><th class="l">last reason or error</th></tr>
{{range .Shapers}}<tr{{if .Fallbacks}} class="failed"{{end}}><td class="l"><i class="sw" style="background:{{.Color}}"></i>{{.Name}}</td><td class="l">{{.Strategy}}</td><td>{{.Acted}}</td><td>{{.FirstAt}}</td><td class="l">{{.Contention}}</td><td>{{.Fallbacks}}</td>{{if .LastError}}<td class="err">FAILED: {{.LastError}}</td>{{else}}<td class="reason">{{.LastReason}}</td>{{end}}</tr>
{{end}}</table></div>
{{if .SafeTicks}}<p>Safe mode: {{.SafeTicks}} ticks, first at {{.SafeFirst}}; last: {{.SafeLast}}.</p>
{{end}}{{if .Changes}}<h2>Shaper decisions</h2>
<div class="wide"><table>
<tr><th>at</th><th class="l">shaper</th><th class="l">changed</th><th class="l">why</th></tr>
{{range .Changes}}<tr{{if .Fallback}} class="failed"{{end}}><td>{{.At}}</td><td class="l"><i class="sw" style="background:{{.Color}}"></i>{{.Shaper}}</td><td class="l">{{.Changed}}</td>{{if .Fallback}}<td class="err">FAILED: {{.Reason}}</td>{{else}}<td class="reason">{{.Reason}}</td>{{end}}</tr>
{{end}}</table></div>
{{if .More}}<p class="note">… and {{.More}} more changes (history show and history export have every tick's decisions).</p>
{{end}}{{end}}{{end}}<h2>Latency percentiles (overall)</h2>
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
