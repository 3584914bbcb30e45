package history

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/loadshaper/loadshaper/lang"
)

// WriteList prints runs as a table, newest last.
func WriteList(w io.Writer, runs []Run) error {
	if len(runs) == 0 {
		_, err := fmt.Fprintln(w, "no runs recorded")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tKIND\tPLAN\tSTART\tDURATION\tTICKS\tOUTCOME\tCOMMIT")
	for _, r := range runs {
		dur := "-"
		if !r.End.IsZero() && r.Kind == KindRun {
			dur = r.End.Sub(r.Start).Round(time.Second).String()
		}
		ticks := "-"
		if r.Ticks > 0 {
			ticks = fmt.Sprint(r.Ticks)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.Plan,
			r.Start.Format("2006-01-02 15:04:05"), dur, ticks, r.Status(), shortCommit(r))
	}
	return tw.Flush()
}

func shortCommit(r Run) string {
	if r.GitCommit == "" {
		return "-"
	}
	c := r.GitCommit
	if len(c) > 12 {
		c = c[:12]
	}
	if r.GitDirty {
		c += "+dirty"
	}
	return c
}

// WriteShow prints one run: its record and what its ticks add up to.
func (s *Store) WriteShow(w io.Writer, id int) error {
	r, err := s.Run(id)
	if err != nil {
		return err
	}
	sum, err := s.Summarise(id)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "run %d (%s) of %s: %s\n", r.ID, r.Kind, r.Plan, r.Status())
	fmt.Fprintf(w, "  started   %s\n", r.Start.Format(time.RFC3339))
	if !r.End.IsZero() {
		fmt.Fprintf(w, "  ended     %s\n", r.End.Format(time.RFC3339))
	}
	if r.Source != "" {
		fmt.Fprintf(w, "  source    %s\n", r.Source)
	}
	if r.PlanHash != "" {
		fmt.Fprintf(w, "  plan hash %s\n", r.PlanHash[:min(16, len(r.PlanHash))])
	}
	if r.GitCommit != "" {
		fmt.Fprintf(w, "  commit    %s (%s)\n", shortCommit(r), r.GitRoot)
	}
	if len(r.Variables) > 0 {
		names := make([]string, 0, len(r.Variables))
		for n := range r.Variables {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  var       %s = %s\n", n, r.Variables[n])
		}
	}
	fmt.Fprintf(w, "  ticks     %d", sum.Ticks)
	if sum.Ticks > 0 {
		fmt.Fprintf(w, " from %s to %s", sum.First.Format(time.RFC3339), sum.Last.Format(time.RFC3339))
	}
	fmt.Fprintln(w)
	if sum.Rate.Count > 0 {
		fmt.Fprintf(w, "  rate      mean %s  max %s  last %s\n", num(sum.Rate.Mean), num(sum.Rate.Max), num(sum.Rate.Last))
	}
	if len(sum.Series) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SERIES\tCOUNT\tMIN\tMEAN\tP95\tMAX\tLAST\tSTALE")
		for _, k := range slices.Sorted(maps.Keys(sum.Series)) {
			st := sum.Series[k]
			f := r.formatter(k)
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\n", k, st.Count, f(st.Min), f(st.Mean), f(st.P95), f(st.Max), f(st.Last), sum.StaleTicks[k])
		}
		tw.Flush()
	}
	for _, f := range sum.Fallbacks {
		fmt.Fprintf(w, "\nshaper %q FAILED in %d of its %d ticks (first at %s); the safe built-in shaped those ticks. Last error:\n",
			f.Shaper, f.Failed, f.Ticks, f.First.Format(time.RFC3339))
		for _, l := range strings.Split(strings.TrimRight(f.LastError, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
	if sum.Decisions > 0 {
		fmt.Fprintf(w, "\n%d decision(s) changed the instruction; the last ones:\n", sum.Decisions)
		for _, d := range sum.LastChanges {
			fmt.Fprintf(w, "  %s: %s (%s)\n", d.Shaper, d.Changed, d.Reason)
		}
	}
	return nil
}

// formatter is how show and diff print a series' values: the generators'
// latencies (recorded in seconds) in milliseconds, as every other view
// prints them; the rest compactly. An imported series is printed as given.
func (r Run) formatter(key string) func(float64) string {
	metric := key[strings.LastIndexByte(key, '/')+1:]
	if r.Kind == KindImport || lang.BuiltinMetrics[metric] != lang.UnitSeconds {
		return num
	}
	return func(v float64) string {
		ms := v * 1000
		switch {
		case ms == 0:
			return "0ms"
		case math.Abs(ms) >= 100:
			return fmt.Sprintf("%.0fms", ms)
		case math.Abs(ms) >= 10:
			return fmt.Sprintf("%.1fms", ms)
		}
		return fmt.Sprintf("%.2fms", ms)
	}
}

// num prints a figure compactly but without losing small values.
func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.4g", v)
}

// WriteDiff compares two runs: what changed in the plan between them (the
// files' hash, the commits and, when both commits are in the same
// repository, `git diff --stat` over the plan's files) and how each
// series, the rate and the outcome moved.
func (s *Store) WriteDiff(w io.Writer, idA, idB int) error {
	a, err := s.Run(idA)
	if err != nil {
		return err
	}
	b, err := s.Run(idB)
	if err != nil {
		return err
	}
	sa, err := s.Summarise(idA)
	if err != nil {
		return err
	}
	sb, err := s.Summarise(idB)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "run %d (%s, %s) -> run %d (%s, %s)\n", a.ID, a.Plan, a.Status(), b.ID, b.Plan, b.Status())
	if a.Plan != b.Plan {
		fmt.Fprintf(w, "note: different plans (%q and %q)\n", a.Plan, b.Plan)
	}
	fmt.Fprintln(w, "\nplan:")
	switch {
	case a.PlanHash == "" || b.PlanHash == "":
		fmt.Fprintln(w, "  no plan hash recorded for one of the runs")
	case a.PlanHash == b.PlanHash:
		fmt.Fprintf(w, "  files unchanged (hash %s)\n", a.PlanHash[:16])
	default:
		fmt.Fprintf(w, "  files changed (hash %s -> %s)\n", a.PlanHash[:16], b.PlanHash[:16])
	}
	switch {
	case a.GitCommit == "" || b.GitCommit == "":
		fmt.Fprintln(w, "  commits: not recorded for both runs (plan outside a git repository?)")
	case a.GitCommit == b.GitCommit:
		fmt.Fprintf(w, "  same commit %s\n", shortCommit(a))
		if a.GitDirty || b.GitDirty {
			fmt.Fprintln(w, "  (uncommitted changes in at least one run: the hash above is what tells them apart)")
		}
	default:
		fmt.Fprintf(w, "  commit %s -> %s\n", shortCommit(a), shortCommit(b))
		if a.GitRoot != "" && a.GitRoot == b.GitRoot {
			paths := relPaths(a.GitRoot, append(append([]string(nil), a.Files...), b.Files...))
			stat, err := GitDiffStat(a.GitRoot, a.GitCommit, b.GitCommit, dedupe(paths)...)
			switch {
			case err != nil:
				fmt.Fprintf(w, "  git diff unavailable: %v\n", err)
			case stat == "":
				fmt.Fprintln(w, "  the plan's files are identical in both commits")
			default:
				for _, l := range strings.Split(stat, "\n") {
					fmt.Fprintf(w, "  %s\n", l)
				}
			}
		}
	}
	fmt.Fprintln(w, "\nresults:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SERIES\tMEAN A\tMEAN B\tCHANGE\tP95 A\tP95 B\tMAX A\tMAX B")
	row := func(name string, x, y Stats) {
		f := b.formatter(name)
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, statNum(x, x.Mean, f), statNum(y, y.Mean, f), change(x, y),
			statNum(x, x.P95, f), statNum(y, y.P95, f), statNum(x, x.Max, f), statNum(y, y.Max, f))
	}
	fmt.Fprintf(tw, "  ticks\t%d\t%d\t\t\t\t\t\n", sa.Ticks, sb.Ticks)
	if sa.Rate.Count > 0 || sb.Rate.Count > 0 {
		row("rate", sa.Rate, sb.Rate)
	}
	keys := map[string]bool{}
	for k := range sa.Series {
		keys[k] = true
	}
	for k := range sb.Series {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		row(k, sa.Series[k], sb.Series[k])
	}
	tw.Flush()
	if sa.Decisions > 0 || sb.Decisions > 0 {
		fmt.Fprintf(w, "\ndecisions that changed the instruction: %d -> %d\n", sa.Decisions, sb.Decisions)
	}
	return nil
}

func statNum(st Stats, v float64, f func(float64) string) string {
	if st.Count == 0 {
		return "-"
	}
	return f(v)
}

func change(a, b Stats) string {
	if a.Count == 0 || b.Count == 0 {
		return "-"
	}
	if a.Mean == 0 {
		if b.Mean == 0 {
			return "0%"
		}
		return "new"
	}
	return fmt.Sprintf("%+.1f%%", (b.Mean-a.Mean)/math.Abs(a.Mean)*100)
}

func dedupe(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
