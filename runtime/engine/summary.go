package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Summary is the end-of-run report; its JSON form is specified in
// spec/summary-schema.md.
type Summary struct {
	Plan       string            `json:"plan"`
	Started    time.Time         `json:"started"`
	DurationS  float64           `json:"duration_s"`
	Outcome    string            `json:"outcome"` // completed | aborted | interrupted | stopped
	Reason     string            `json:"reason,omitempty"`
	Seed       uint64            `json:"seed"`
	Phases     []PhaseSummary    `json:"phases"`
	Overall    Stats             `json:"overall"` // every phase except warm-up phases
	Thresholds []ThresholdResult `json:"thresholds"`
	Warnings   []string          `json:"warnings,omitempty"` // parts of the plan the engine did not carry out
	Timeline   []TickPoint       `json:"timeline,omitempty"` // one point per control tick
}

// TickPoint is one control tick's figures in the summary: enough to chart
// the run (the HTML report does) without the full TickStats.
type TickPoint struct {
	T          float64 `json:"t_s"` // run time at the end of the tick, seconds
	Phase      string  `json:"phase"`
	Rate       float64 `json:"rate"` // the instructed arrival rate (open model; 0 in the closed model)
	Requests   int64   `json:"requests"`
	Throughput float64 `json:"throughput"`
	P99        float64 `json:"p99_ms"`
	Errors     int64   `json:"errors"`
	Aborted    int64   `json:"aborted,omitempty"`
	// Shaping is what the control loop saw and decided for the tick (nil
	// without one: attack, or a run without shapers' loop).
	Shaping *ShapingPoint `json:"shaping,omitempty"`
}

// PhaseSummary is one phase's figures.
type PhaseSummary struct {
	Name   string `json:"name"`
	Warmup bool   `json:"warmup"`
	Model  string `json:"model"` // open | closed
	Load   string `json:"load"`  // the phase's rate shape or users
	// PlannedS is the phase's planned duration; Stats.DurationS the actual
	// one, shorter when a shaper ended the phase early (EndedEarly, at
	// EndedAtS into the phase, for EndReason).
	PlannedS   float64 `json:"planned_s"`
	EndedEarly bool    `json:"ended_early,omitempty"`
	EndedAtS   float64 `json:"ended_at_s,omitempty"`
	EndReason  string  `json:"end_reason,omitempty"`
	// Growth lists the growth intents that changed the planned load during
	// the phase and from when (run time): `growth "sale" ×2 in force from 3.0s`.
	Growth []string `json:"growth,omitempty"`
	Stats
}

// Passed reports whether every threshold held.
func (s *Summary) Passed() bool {
	for _, t := range s.Thresholds {
		if !t.Pass {
			return false
		}
	}
	return true
}

// WriteJSON writes the summary as indented JSON to path, creating its directory.
func (s *Summary) WriteJSON(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// writeFile creates path (and its directory) and fills it with write; a
// failed write or close is the error.
func writeFile(path string, write func(io.Writer) error) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func ms(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + "s"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + "ms"
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "ms"
}

func fmtCounts(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// WriteText writes the end-of-run table.
func (s *Summary) WriteText(w io.Writer) {
	fmt.Fprintf(w, "\nplan %s: %s in %.1fs (seed %d)", s.Plan, s.Outcome, s.DurationS, s.Seed)
	if s.Reason != "" {
		fmt.Fprintf(w, ": %s", s.Reason)
	}
	fmt.Fprintln(w)
	for _, warn := range s.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tload\trequests\treq/s\tp50\tp90\tp95\tp99\tp99.9\tmax\terrors\tlate\tdropped\tshed\t")
	row := func(name, load string, st *Stats) {
		l := st.Latency
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%d (%.2f%%)\t%d\t%d\t%d\t\n", name, load, st.Requests, st.Throughput,
			ms(l.P50), ms(l.P90), ms(l.P95), ms(l.P99), ms(l.P999), ms(l.Max), st.Errors, st.ErrorRate*100, st.Late, st.Dropped, st.Shed)
	}
	for i := range s.Phases {
		p := &s.Phases[i]
		name := p.Name
		if p.Warmup {
			name += " (warm-up)"
		}
		row(name, p.Load, &p.Stats)
	}
	row("overall", "", &s.Overall)
	tw.Flush()
	for i := range s.Phases {
		for _, g := range s.Phases[i].Growth {
			fmt.Fprintf(w, "phase %s: %s (planned load × the growth)\n", s.Phases[i].Name, g)
		}
	}
	for i := range s.Phases {
		if p := &s.Phases[i]; p.EndedEarly {
			fmt.Fprintf(w, "phase %s ended early: ran %.1fs of %.0fs planned: %s\n", p.Name, p.DurationS, p.PlannedS, p.EndReason)
		}
	}
	fmt.Fprintf(w, "latency is from each request's intended start; service time (from the actual send) overall: p50 %s p99 %s max %s\n",
		ms(s.Overall.Service.P50), ms(s.Overall.Service.P99), ms(s.Overall.Service.Max))
	fmt.Fprintf(w, "status: %s   errors: %s\n", fmtCounts(s.Overall.Status), fmtCounts(s.Overall.ErrorsByClass))
	writeJourneys(w, &s.Overall)
	if s.Overall.Aborted > 0 || s.Overall.SlowClient > 0 {
		fmt.Fprintf(w, "chaos: %d requests aborted (reset mid-request, not counted as requests), %d sent as slow clients\n",
			s.Overall.Aborted, s.Overall.SlowClient)
	}
	if len(s.Overall.Classes) > 1 || s.Overall.Shed > 0 {
		names := make([]string, 0, len(s.Overall.Classes))
		for n := range s.Overall.Classes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			c := s.Overall.Classes[n]
			fmt.Fprintf(w, "class %s: sent %d, shed %d, errors %d\n", n, c.Sent, c.Shed, c.Errors)
		}
	}
	for _, t := range s.Thresholds {
		if t.Skipped {
			fmt.Fprintf(w, "threshold %-20s SKIP  %s is not measured by the load engine\n", t.Name, t.Metric)
			continue
		}
		mark := "PASS"
		if !t.Pass {
			mark = "FAIL"
		}
		obs := "no data"
		if t.Observed != nil {
			obs = fmtMetric(t.Metric, *t.Observed)
		}
		bound := ""
		if t.Max != nil {
			bound += " max " + fmtMetric(t.Metric, *t.Max)
		}
		if t.Min != nil {
			bound += " min " + fmtMetric(t.Metric, *t.Min)
		}
		scope := "run"
		if t.Window > 0 {
			scope = fmt.Sprintf("worst %gs window", t.Window)
		}
		if t.Phase != "" {
			scope += " of phase " + t.Phase
		}
		extra := ""
		if t.Aborted {
			extra = " (aborted the run)"
		}
		fmt.Fprintf(w, "threshold %-20s %s  %s = %s over %s;%s%s\n", t.Name, mark, t.Metric, obs, scope, bound, extra)
	}
}

// WriteTextFile writes the end-of-run table to path.
func (s *Summary) WriteTextFile(path string) error {
	return writeFile(path, func(w io.Writer) error { s.WriteText(w); return nil })
}
