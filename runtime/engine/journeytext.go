package engine

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// writeJourneys prints the checks (k6-style: `✓ NAME ...... 99.8%`) and
// the flows, with each step's latency, of the summary's overall figures.
func writeJourneys(w io.Writer, st *Stats) {
	if c := st.Checks; c != nil {
		fmt.Fprintf(w, "checks: %.2f%% passed (%d passed, %d failed)\n", 100*c.Rate, c.Passed, c.Failed)
		width := 0
		for _, k := range c.ByCheck {
			width = max(width, utf8.RuneCountInString(checkLabel(k)))
		}
		for _, k := range c.ByCheck {
			label := checkLabel(k)
			dots := strings.Repeat(".", width-utf8.RuneCountInString(label)+3)
			switch {
			case k.Passed+k.Failed == 0:
				fmt.Fprintf(w, "  - %s %s not run (no response reached it)\n", label, dots)
			case k.Failed > 0:
				fmt.Fprintf(w, "  ✗ %s %s %6.2f%%  ✓ %d  ✗ %d\n", label, dots, 100*k.Rate, k.Passed, k.Failed)
			default:
				fmt.Fprintf(w, "  ✓ %s %s %6.2f%%  ✓ %d  ✗ %d\n", label, dots, 100*k.Rate, k.Passed, k.Failed)
			}
		}
	}
	for _, name := range sortedKeys(st.Flows) {
		f := st.Flows[name]
		fmt.Fprintf(w, "flow %s: %d started (%.1f/s), %d completed, %d aborted, %d interrupted", name, f.Started, f.StartRate,
			f.Completed, f.Aborted, f.Interrupted)
		if f.DataExhausted > 0 {
			fmt.Fprintf(w, ", %d not started (data exhausted)", f.DataExhausted)
		}
		fmt.Fprintln(w)
		for _, s := range f.Steps {
			fmt.Fprintf(w, "  step %-20s %6d requests  p50 %s  p95 %s  p99 %s  errors %d\n", s.Name, s.Requests,
				ms(s.Latency.P50), ms(s.Latency.P95), ms(s.Latency.P99), s.Errors)
		}
	}
}

func checkLabel(k CheckStat) string { return k.Request + ": " + k.Name }

// journeyTick is the live view's part for checks and flows over a tick.
func journeyTick(st *Stats) string {
	var b strings.Builder
	if c := st.Checks; c != nil && c.Passed+c.Failed > 0 {
		fmt.Fprintf(&b, "  checks %.1f%%", 100*c.Rate)
	}
	var started, done, aborted int64
	for _, f := range st.Flows {
		started += f.Started
		done += f.Completed
		aborted += f.Aborted + f.Interrupted
	}
	if len(st.Flows) > 0 {
		fmt.Fprintf(&b, "  flows +%d ✓%d ✗%d", started, done, aborted)
	}
	return b.String()
}
