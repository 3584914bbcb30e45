package history

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/loadshaper/loadshaper/predictors"
)

// WriteModelList prints models as a table, oldest id first.
func WriteModelList(w io.Writer, models []Model, now time.Time) error {
	if len(models) == 0 {
		_, err := fmt.Fprintln(w, "no models stored")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tTARGET\tHOST\tCONFIG\tMIX\tAGE\tTICKS\tFIT_ERROR\tRUNS\tSTATUS")
	for _, m := range models {
		status := "ok"
		if m.Demoted != "" {
			status = "demoted"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%.3f\t%s\t%s\n", m.ID, orDash(m.Key.Target), orDash(m.Key.Host), orDash(m.Key.Config),
			mixSummary(m.Key.Mix, 32), roundAge(m.Age(now)), m.Ticks, m.FitError, runList(m.Runs), status)
	}
	return tw.Flush()
}

// modelSummary is a model's record without its states, for list --format json.
type modelSummary struct {
	Model
	State *ModelState `json:"state,omitempty"`
	Parts []string    `json:"parts"` // what it holds: shaper:<name>, class_costs:<metric>, forecaster:<name>, capacity:<metric>
}

// WriteModelListJSON prints the models' records (without their states).
func WriteModelListJSON(w io.Writer, models []Model) error {
	out := make([]modelSummary, 0, len(models))
	for _, m := range models {
		out = append(out, modelSummary{Model: m, Parts: m.parts()})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func (m Model) parts() []string {
	var p []string
	for _, n := range sortedKeys(m.State.Shapers) {
		p = append(p, "shaper:"+n)
	}
	for _, n := range sortedKeys(m.State.ClassCosts) {
		p = append(p, "class_costs:"+n)
	}
	for _, n := range sortedKeys(m.State.Forecasters) {
		p = append(p, "forecaster:"+n)
	}
	for _, n := range sortedKeys(m.State.Capacity) {
		p = append(p, "capacity:"+n)
	}
	if p == nil {
		p = []string{}
	}
	return p
}

// WriteModelShow prints one model: its key and record, then what each
// part learnt — lines with their noise and lag, capacities with their
// band, per-class costs with their standard errors, forecasters.
func WriteModelShow(w io.Writer, m Model, now time.Time) error {
	fmt.Fprintf(w, "model %d: %s at %s, config %s\n", m.ID, orDash(m.Key.Target), orDash(m.Key.Host), orDash(m.Key.Config))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  mix\t%s\n", mixSummary(m.Key.Mix, 0))
	if m.Key.Commit != "" {
		fmt.Fprintf(tw, "  commit\t%s\n", m.Key.Commit)
	}
	fmt.Fprintf(tw, "  created\t%s\n", m.Created.Format(time.RFC3339))
	fmt.Fprintf(tw, "  updated\t%s (%s ago)\n", m.Updated.Format(time.RFC3339), roundAge(m.Age(now)))
	fmt.Fprintf(tw, "  evidence\t%d ticks, fit error %.3f of the limit\n", m.Ticks, m.FitError)
	fmt.Fprintf(tw, "  runs\t%s\n", runList(m.Runs))
	if m.From > 0 {
		fmt.Fprintf(tw, "  from\tmodel %d\n", m.From)
	}
	if m.Demoted != "" {
		fmt.Fprintf(tw, "  demoted\t%s\n", m.Demoted)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, name := range sortedKeys(m.State.Shapers) {
		s := m.State.Shapers[name]
		lag := s.Learnt.Lag
		fmt.Fprintf(w, "shaper %s: lag %d tick(s), over %d\n", name, lag.D, lag.W)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, metric := range sortedKeys(s.Learnt.Lines) {
			fmt.Fprintf(tw, "  %s\t%s\n", metric, lineSummary(s.Learnt.Lines[metric]))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(m.State.Capacity) > 0 {
		fmt.Fprintln(w, "capacity:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, metric := range sortedKeys(m.State.Capacity) {
			c := m.State.Capacity[metric]
			fmt.Fprintf(tw, "  %s\treaches %.4g at %.4g rps (band %.4g – %.4g at %g σ), evidence %.1f\n", metric, c.Limit, c.Rate, c.Lower, c.Upper, c.Confidence, c.Evidence)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, metric := range sortedKeys(m.State.ClassCosts) {
		fmt.Fprintf(w, "class costs of %s:\n", metric)
		cc, err := predictors.RestoreClassCosts(m.State.ClassCosts[metric])
		if err != nil {
			fmt.Fprintf(w, "  (cannot be read: %v)\n", err)
			continue
		}
		base, costs, ok := cc.Costs()
		if !ok {
			fmt.Fprintf(w, "  not learnt yet (%d samples)\n", cc.Samples())
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  base\t%.4g\t± %.2g\n", base.Cost, base.StdErr)
		sort.SliceStable(costs, func(i, j int) bool { return costs[i].Cost > costs[j].Cost })
		for _, c := range costs {
			fmt.Fprintf(tw, "  %s\t%.4g\t± %.2g per request/s\n", c.Class, c.Cost, c.StdErr)
		}
		fmt.Fprintf(tw, "  noise\t%.4g\t(%d samples)\n", cc.Noise(), cc.Samples())
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(m.State.Forecasters) > 0 {
		fmt.Fprintln(w, "forecasters:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, name := range sortedKeys(m.State.Forecasters) {
			f := m.State.Forecasters[name]
			if f.Model == nil {
				fmt.Fprintf(tw, "  %s\t%s/%s, not fitted yet (%d readings)\n", name, f.Target, f.Metric, len(f.Readings))
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s/%s: %s → %s, fitted on %d values, %d since\n", name, f.Target, f.Metric, f.Model.Spec.Model, orDash(f.Model.Name), len(f.Model.Fit), len(f.Model.Since))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// lineSummary says what a saved line has learnt.
func lineSummary(s predictors.ResponseLineState) string {
	l, err := predictors.RestoreResponseLine(s)
	if err != nil {
		return "(cannot be read: " + err.Error() + ")"
	}
	a, b, sigma, _, ok := l.Fit()
	if !ok {
		return fmt.Sprintf("not identified yet (%d samples)", s.N)
	}
	y := "y"
	if s.Inverse {
		y = "−1/y"
	}
	return fmt.Sprintf("%s ≈ %.4g + %.4g·rate, σ %.3g, weight %.1f of %d samples", y, a, b, sigma, l.Weight(), s.N)
}

func mixSummary(mix map[string]float64, max int) string {
	if len(mix) == 0 {
		return "-"
	}
	names := sortedKeys(mix)
	sort.SliceStable(names, func(i, j int) bool { return mix[names[i]] > mix[names[j]] })
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %.0f%%", n, 100*mix[n])
	}
	s := strings.Join(parts, ", ")
	if max > 0 && len(s) > max {
		return fmt.Sprintf("%d requests (%s)", len(mix), MixHash(mix)[:8])
	}
	return s
}

func runList(runs []int) string {
	if len(runs) == 0 {
		return "-"
	}
	parts := make([]string, len(runs))
	for i, r := range runs {
		parts[i] = fmt.Sprint(r)
	}
	return strings.Join(parts, ",")
}

func roundAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%.0fd", math.Floor(d.Hours()/24))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
