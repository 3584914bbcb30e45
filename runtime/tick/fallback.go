package tick

import (
	"fmt"
	"io"
	"strings"

	"github.com/loadshaper/loadshaper/shapers"
)

// A failing shaper is never hidden. On a failure the chain uses the safe
// built-in for that tick (it never crashes the run); then, per the
// shaper's on_error:
//   - "fallback" (the default): the run carries on. A shaper that failed on
//     every tick it ran shaped nothing of the run, so the run fails at the
//     end (Report.ShaperFailure, exit code 6) and the summary says so loudly;
//     one that failed on some ticks is a warning with its error.
//   - "fail": the first failure stops the run (Step's Result.Stop says
//     why; runtime.Run ends the run with it) and the run fails.

// onError is the named shaper's on_error ("fallback" when unset or not a
// plan's shaper: safe mode, limits, intent).
func (c *Controller) onError(name string) string {
	for _, s := range c.plan.Shapers {
		if s.Name == name && s.OnError != "" {
			return s.OnError
		}
	}
	return "fallback"
}

// failFast is why the run must stop at this tick: the first failure of a
// shaper whose on_error is "fail" ("" when none failed).
func (c *Controller) failFast(ds []shapers.Decision) string {
	for _, d := range ds {
		if d.Fallback && c.onError(d.Shaper) == "fail" {
			return fmt.Sprintf("shaper %q failed (on_error = \"fail\"): %s", d.Shaper, firstLine(d.Error))
		}
	}
	return ""
}

// ShaperFailure says why the run failed because of its shapers, "" when it
// did not: a shaper with on_error = "fail" failed, or a shaper failed on
// every tick it ran. The CLI exits 6 for it (spec/exit-codes.md).
func (r Report) ShaperFailure() string {
	var why []string
	for _, s := range r.Shapers {
		switch {
		case s.Fallbacks == 0:
		case s.OnError == "fail":
			why = append(why, fmt.Sprintf("shaper %q failed with on_error = \"fail\"", s.Shaper))
		case s.Fallbacks >= s.Ticks:
			why = append(why, fmt.Sprintf("shaper %q failed on every one of its %d ticks", s.Shaper, s.Ticks))
		}
	}
	return strings.Join(why, "; ")
}

// writeFailures prints every failing shaper with its whole error (a rule's
// file:line:col and backtrace): at the top of the shaping section, loudly
// when the run failed because of it.
func writeFailures(w io.Writer, r Report) {
	for _, s := range r.Shapers {
		if s.Fallbacks == 0 {
			continue
		}
		switch {
		case s.OnError == "fail":
			fmt.Fprintf(w, "  FAILED: shaper %q failed at %.0fs and on_error = \"fail\" stopped the run. Its error:\n", s.Shaper, s.FirstFallbackAt)
		case s.Fallbacks >= s.Ticks:
			fmt.Fprintf(w, "  FAILED: shaper %q failed on every one of its %d ticks: the safe built-in shaped the run in its place, so this run did not test it. Its error:\n", s.Shaper, s.Ticks)
		default:
			fmt.Fprintf(w, "  warning: shaper %q failed on %d of its %d ticks (first at %.0fs); the safe built-in took its place on those ticks. Last error:\n",
				s.Shaper, s.Fallbacks, s.Ticks, s.FirstFallbackAt)
		}
		for _, line := range strings.Split(strings.TrimRight(s.LastError, "\n"), "\n") {
			fmt.Fprintf(w, "      %s\n", line)
		}
	}
}
