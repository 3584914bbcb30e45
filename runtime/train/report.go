package train

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// WriteText prints the training's report: what it trained on, the reward
// curve as a terminal chart, the policy's weights and the held-out
// comparison with predictive_rate_limit.
func WriteText(w io.Writer, r *Report) error {
	fmt.Fprintf(w, "Trained shaper %q of plan %q (seed %d): %d episodes against %s.\n", r.Shaper, r.Plan, r.Seed, r.Episodes, r.Source.Kind)
	if r.Source.Detail != "" {
		fmt.Fprintf(w, "  simulated target: %s\n", r.Source.Detail)
	}
	fmt.Fprintf(w, "  reward = served/allowed − %g × seconds above the envelope/episode − %g × mean |Δrate|/rate\n\n", r.OverPenalty, r.OscillationPenalty)
	for _, l := range curveChart(r.Curve, 60, 8) {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintf(w, "\npolicy: %s\n\n", r.Policy.Describe())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "held out (%d scenarios never trained on)\treward\tserved/allowed\ts above\toscillation\t\n", heldOut)
	for _, s := range r.Summary {
		fmt.Fprintf(tw, "  %s\t%.3f\t%.2f\t%.1f\t%.3f\t\n", s.Strategy, s.Reward, s.Served, s.SecondsOver, s.Oscillation)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Summary) >= 2 {
		l, p := r.Summary[0], r.Summary[1]
		verdict := "the learned policy scores higher than predictive_rate_limit"
		if l.Reward <= p.Reward {
			verdict = "the learned policy does NOT beat predictive_rate_limit"
		}
		fmt.Fprintf(w, "\n%s on the held-out scenarios (%.3f vs %.3f).\n", verdict, l.Reward, p.Reward)
	}
	return nil
}

// curveChart draws the reward per iteration: '●' the mean policy, '▲' the
// best candidate, on rows from the lowest to the highest reward.
func curveChart(pts []Point, width, height int) []string {
	if len(pts) == 0 {
		return nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		lo, hi = math.Min(lo, math.Min(p.Policy, p.Best)), math.Max(hi, math.Max(p.Policy, p.Best))
	}
	if hi-lo < 1e-9 {
		hi = lo + 1
	}
	width = min(width, len(pts))
	grid := make([][]rune, height)
	for r := range grid {
		grid[r] = []rune(strings.Repeat(" ", width))
	}
	row := func(v float64) int { return min(height-1, int((v-lo)/(hi-lo)*float64(height-1)+0.5)) }
	for c := 0; c < width; c++ {
		p := pts[c*len(pts)/width]
		grid[row(p.Best)][c] = '▲'
		grid[row(p.Policy)][c] = '●'
	}
	lines := []string{"reward per iteration: ● the policy, ▲ the best candidate"}
	for r := height - 1; r >= 0; r-- {
		label := ""
		switch r {
		case height - 1:
			label = fmt.Sprintf("%.3f", hi)
		case 0:
			label = fmt.Sprintf("%.3f", lo)
		}
		lines = append(lines, fmt.Sprintf("%9s │%s", label, string(grid[r])))
	}
	lines = append(lines, fmt.Sprintf("%9s └%s", "", strings.Repeat("─", width)))
	lines = append(lines, fmt.Sprintf("%9s  1%s%d", "", strings.Repeat(" ", max(width-len(fmt.Sprint(len(pts)))-1, 1)), len(pts)))
	return lines
}

// WriteJSON writes the report as JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteHTML writes a self-contained page with the reward curve (SVG) and
// the held-out comparison.
func WriteHTML(w io.Writer, r *Report) error {
	const wd, ht, pad = 720.0, 260.0, 40.0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range r.Curve {
		lo, hi = math.Min(lo, math.Min(p.Policy, p.Mean)), math.Max(hi, math.Max(p.Policy, p.Best))
	}
	if hi-lo < 1e-9 {
		hi = lo + 1
	}
	n := max(len(r.Curve)-1, 1)
	line := func(val func(Point) float64) string {
		var b strings.Builder
		for i, p := range r.Curve {
			fmt.Fprintf(&b, "%.1f,%.1f ", pad+float64(i)/float64(n)*(wd-2*pad), ht-pad-(val(p)-lo)/(hi-lo)*(ht-2*pad))
		}
		return b.String()
	}
	data := map[string]any{
		"R":      r,
		"Policy": template.HTMLAttr(`points="` + line(func(p Point) float64 { return p.Policy }) + `"`),
		"Best":   template.HTMLAttr(`points="` + line(func(p Point) float64 { return p.Best }) + `"`),
		"Mean":   template.HTMLAttr(`points="` + line(func(p Point) float64 { return p.Mean }) + `"`),
		"Hi":     fmt.Sprintf("%.3f", hi), "Lo": fmt.Sprintf("%.3f", lo),
		"Describe": r.Policy.Describe(),
	}
	return trainPage.Execute(w, data)
}

var trainPage = template.Must(template.New("train").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>loadshaper train: {{.R.Plan}}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:right}th:first-child,td:first-child{text-align:left}</style>
</head><body>
<h1>Training of shaper {{printf "%q" .R.Shaper}} (plan {{.R.Plan}})</h1>
<p>{{.R.Episodes}} episodes against {{.R.Source.Kind}}, seed {{.R.Seed}}. Reward = served/allowed − {{.R.OverPenalty}} × seconds above the envelope/episode − {{.R.OscillationPenalty}} × mean |Δrate|/rate.</p>
<svg width="720" height="260" role="img" aria-label="reward per iteration">
<text x="4" y="44" font-size="11">{{.Hi}}</text><text x="4" y="222" font-size="11">{{.Lo}}</text>
<polyline {{.Mean}} fill="none" stroke="#bbb" stroke-width="1"><title>mean of the candidates</title></polyline>
<polyline {{.Best}} fill="none" stroke="#e08a2c" stroke-width="1.5"><title>best candidate</title></polyline>
<polyline {{.Policy}} fill="none" stroke="#2c6fe0" stroke-width="2"><title>the policy (mean of the search)</title></polyline>
</svg>
<p>blue: the policy; orange: the best candidate; grey: the mean of the candidates, per iteration.</p>
<p>Policy: <code>{{.Describe}}</code></p>
<h2>Held-out scenarios</h2>
<table><tr><th>strategy</th><th>reward</th><th>served/allowed</th><th>s above</th><th>oscillation</th></tr>
{{range .R.Summary}}<tr><td>{{.Strategy}}</td><td>{{printf "%.3f" .Reward}}</td><td>{{printf "%.2f" .Served}}</td><td>{{printf "%.1f" .SecondsOver}}</td><td>{{printf "%.3f" .Oscillation}}</td></tr>
{{end}}</table>
<h3>Every held-out episode</h3>
<table><tr><th>scenario</th><th>strategy</th><th>reward</th><th>served/allowed</th><th>s above</th></tr>
{{range .R.HeldOut}}<tr><td>{{.Scenario}}</td><td>{{.Strategy}}</td><td>{{printf "%.3f" .Reward}}</td><td>{{printf "%.2f" .Served}}</td><td>{{printf "%.1f" .SecondsOver}}</td></tr>
{{end}}</table>
</body></html>
`))
