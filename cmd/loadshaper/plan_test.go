package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The exit codes of `plan` are a contract with CI scripts (testscript
// checks only success or failure, so they are pinned here).
func TestPlanExitCodes(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	src, err := os.ReadFile("testdata/script/plan.txtar")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	// Pull the two plans out of the txtar archive.
	parts := strings.Split(string(src), "-- ")
	for _, p := range parts[1:] {
		name, body, _ := strings.Cut(p, " --\n")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	guarded, open := filepath.Join(dir, "guarded.lshcl"), filepath.Join(dir, "open.lshcl")
	bad := filepath.Join(dir, "bad.lshcl")
	os.WriteFile(bad, []byte("phase {"), 0o644)
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"plan", "--no-charts", guarded}, ExitOK},
		{[]string{"plan", "--no-charts", open}, ExitPredicted},
		{[]string{"plan", "--no-charts", "--fail-on", "never", open}, ExitOK},
		{[]string{"plan", "--no-charts", "--fail-on", "threshold", open}, ExitPredicted},
		{[]string{"plan", "--no-charts", "--fail-on", "threshold", guarded}, ExitOK},
		{[]string{"plan", "--fail-on", "sometimes", guarded}, ExitUsage},
		{[]string{"plan", "--seed", "x", guarded}, ExitUsage},
		{[]string{"plan"}, ExitUsage},
		{[]string{"plan", bad}, ExitError},
		{[]string{"plan", filepath.Join(dir, "missing.lshcl")}, ExitError},
		{[]string{"plan", "--compare", "no-such-rev", guarded}, ExitError},
	} {
		if got := run(c.args, io.Discard, io.Discard); got != c.want {
			t.Errorf("%v: exit %d, want %d", c.args, got, c.want)
		}
	}
}
