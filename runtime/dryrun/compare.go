package dryrun

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// WriteCompare prints how the predicted outcome changes from base (the
// other plan, or the same plan at another revision) to head (this plan).
func WriteCompare(w io.Writer, baseName, headName string, base, head *Report) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "Predicted outcome: %s → %s (simulated target: %s → %s)\n", baseName, headName, base.Source.Kind, head.Source.Kind)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  \t%s\t%s\tchange\n", baseName, headName)
	row := func(name string, a, c float64, f func(float64) string) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", name, f(a), f(c), change(a, c))
	}
	row("duration", base.Duration, head.Duration, fmtDur)
	row("requests planned", base.PlannedRequests, head.PlannedRequests, fmtCount)
	row("requests shaped", base.ShapedRequests, head.ShapedRequests, fmtCount)
	row("peak planned rate", peakOf(base, func(t Tick) float64 { return t.Planned }), peakOf(head, func(t Tick) float64 { return t.Planned }), fmtNum)
	row("peak shaped rate", peakOf(base, func(t Tick) float64 { return t.Shaped }), peakOf(head, func(t Tick) float64 { return t.Shaped }), fmtNum)
	if base.Errors+base.Dropped+head.Errors+head.Dropped >= 0.5 {
		row("errors", base.Errors, head.Errors, fmtCount)
		row("dropped", base.Dropped, head.Dropped, fmtCount)
	}
	metrics := append([]string(nil), head.Metrics...)
	for _, m := range base.Metrics {
		if !contains(metrics, m) {
			metrics = append(metrics, m)
		}
	}
	for _, m := range metrics {
		get := func(t Tick) float64 { v, _ := t.Sample.Metric(m); return v }
		row("peak "+m, peakOf(base, get), peakOf(head, get), formatterFor(m))
	}
	fmt.Fprintf(tw, "  first limit reached\t%s\t%s\t\n", breachText(base.FirstBreach), breachText(head.FirstBreach))
	fmt.Fprintf(tw, "  first limit at planned rate\t%s\t%s\t\n", breachText(base.UnshapedFirstBreach), breachText(head.UnshapedFirstBreach))
	thNames := []string{}
	for _, r := range []*Report{base, head} {
		for _, t := range r.Thresholds {
			if !contains(thNames, t.Name) {
				thNames = append(thNames, t.Name)
			}
		}
	}
	for _, n := range thNames {
		fmt.Fprintf(tw, "  threshold %s\t%s\t%s\t\n", n, thresholdText(base, n), thresholdText(head, n))
	}
	fmt.Fprintf(tw, "  verdict\t%s\t%s\t\n", shortVerdict(base), shortVerdict(head))
	tw.Flush()
	switch {
	case sameOutcome(base, head):
		b.WriteString("No change in the predicted outcome.\n")
	case !base.Verdict.Breach && head.Verdict.Breach:
		b.WriteString("The change makes the plan breach its envelope.\n")
	case base.Verdict.Breach && !head.Verdict.Breach:
		b.WriteString("The change keeps the plan within its envelope, where it breached before.\n")
	}
	if !base.Verdict.ThresholdFail && head.Verdict.ThresholdFail {
		b.WriteString("The change makes a threshold fail.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sameOutcome is true when the two predictions agree tick for tick on
// the rate sent and every reported metric.
func sameOutcome(a, b *Report) bool {
	if len(a.Ticks) != len(b.Ticks) || a.Verdict != b.Verdict {
		return false
	}
	for i := range a.Ticks {
		if a.Ticks[i].Shaped != b.Ticks[i].Shaped || a.Ticks[i].Sample != b.Ticks[i].Sample {
			return false
		}
	}
	return true
}

func peakOf(r *Report, f func(Tick) float64) float64 {
	p := 0.0
	for _, t := range r.Ticks {
		p = math.Max(p, f(t))
	}
	return p
}

func change(a, b float64) string {
	switch {
	case a == b:
		return "="
	case a == 0:
		return "new"
	}
	return fmt.Sprintf("%+.0f%%", 100*(b-a)/a)
}

func breachText(b *Breach) string {
	if b == nil {
		return "none"
	}
	return fmt.Sprintf("%s.%s at %s", b.Envelope, b.Metric, fmtDur(b.At))
}

func thresholdText(r *Report, name string) string {
	for _, t := range r.Thresholds {
		if t.Name == name {
			if t.Status == "unknown" {
				return "unknown"
			}
			return fmt.Sprintf("%s (%s)", formatterFor(t.Metric)(t.Predicted), t.Status)
		}
	}
	return "-"
}

func shortVerdict(r *Report) string {
	var p []string
	if r.Verdict.Breach {
		p = append(p, "breach")
	}
	if r.Verdict.ThresholdFail {
		p = append(p, "threshold fails")
	}
	if len(p) == 0 {
		return "ok"
	}
	return strings.Join(p, ", ")
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// CheckoutRevision writes the plan's files as they were at git revision
// rev into a new temporary directory, keeping their layout relative to
// the plan's directory, and returns the paths to load (the .lshcl files
// among them, or the directory) and a cleanup function.
func CheckoutRevision(rev string, files []string, dir string) ([]string, func(), error) {
	if rev == "" || strings.HasPrefix(rev, "-") {
		return nil, nil, fmt.Errorf("--compare: %q is neither a plan file nor a git revision", rev)
	}
	top, err := gitOut(dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, nil, fmt.Errorf("--compare %s: the plan is not in a git work tree: %v", rev, err)
	}
	top = strings.TrimSpace(top)
	if _, err := gitOut(dir, "rev-parse", "--verify", "--quiet", rev+"^{commit}"); err != nil {
		return nil, nil, fmt.Errorf("--compare %s: no such file and no such git revision", rev)
	}
	tmp, err := os.MkdirTemp("", "loadshaper-compare-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	absDir, _ := filepath.Abs(dir)
	var out []string
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		real, err := filepath.EvalSymlinks(abs)
		if err == nil {
			abs = real
		}
		realTop, err := filepath.EvalSymlinks(top)
		if err != nil {
			realTop = top
		}
		rel, err := filepath.Rel(realTop, abs)
		if err != nil || strings.HasPrefix(rel, "..") {
			cleanup()
			return nil, nil, fmt.Errorf("--compare %s: %s is outside the git work tree", rev, f)
		}
		content, err := gitOut(top, "show", rev+":"+filepath.ToSlash(rel))
		if err != nil {
			if strings.HasSuffix(f, ".lshcl") {
				cleanup()
				return nil, nil, fmt.Errorf("--compare %s: %s did not exist at that revision", rev, rel)
			}
			continue // a script added since: the older plan cannot name it
		}
		realDir, err := filepath.EvalSymlinks(absDir)
		if err != nil {
			realDir = absDir
		}
		inDir, err := filepath.Rel(realDir, abs)
		if err != nil || strings.HasPrefix(inDir, "..") {
			inDir = filepath.Base(abs)
		}
		dst := filepath.Join(tmp, inDir)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			cleanup()
			return nil, nil, err
		}
		if err := os.WriteFile(dst, []byte(content), 0o644); err != nil {
			cleanup()
			return nil, nil, err
		}
		if strings.HasSuffix(dst, ".lshcl") {
			out = append(out, dst)
		}
	}
	if len(out) == 0 {
		cleanup()
		return nil, nil, fmt.Errorf("--compare %s: no plan file found at that revision", rev)
	}
	return out, cleanup, nil
}

func gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("%s", msg)
	}
	return stdout.String(), nil
}
