package history

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/zclconf/go-cty/cty"
)

func gitCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// Two runs of a plan at two commits: the runs record hash, commit and dirty
// flag, and diff shows git's stat for the plan file and how results moved.
func TestRunFromPlanGitAndDiff(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	plan := filepath.Join(dir, "shop.lshcl")
	os.WriteFile(plan, []byte("phase \"a\" {\n  rate = 10\n}\n"), 0o644)
	gitCmd(t, dir, "init", "-q")
	gitCmd(t, dir, "add", ".")
	gitCmd(t, dir, "commit", "-q", "-m", "one")
	p := &lang.Plan{Name: "shop", Dir: dir, Files: []string{plan}, Variables: map[string]cty.Value{"base_url": cty.StringVal("http://127.0.0.1:8080")}}

	s := openTemp(t)
	record := func(start time.Time, cpu float64) Run {
		r, err := RunFromPlan(p, start)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := s.Begin(r)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			rec.Record(Tick{N: i, At: start.Add(time.Duration(i) * time.Second), Metrics: map[string]float64{"api/cpu": cpu}, Instruction: &InstructionRecord{Rate: 100}})
		}
		rec.Finish("passed", start.Add(5*time.Second))
		return rec.Run()
	}
	a := record(t0, 0.4)
	if a.GitCommit == "" || a.GitDirty || a.Variables["base_url"] != `"http://127.0.0.1:8080"` || len(a.PlanHash) != 64 {
		t.Fatalf("run a = %+v", a)
	}
	os.WriteFile(plan, []byte("phase \"a\" {\n  rate = 20\n  duration = \"1m\"\n}\n"), 0o644)
	dirty := record(t0.Add(time.Minute), 0.5)
	if !dirty.GitDirty || dirty.GitCommit != a.GitCommit || dirty.PlanHash == a.PlanHash {
		t.Fatalf("dirty run = %+v", dirty)
	}
	gitCmd(t, dir, "commit", "-q", "-am", "two")
	b := record(t0.Add(2*time.Minute), 0.6)
	if b.GitDirty || b.GitCommit == a.GitCommit || b.PlanHash != dirty.PlanHash {
		t.Fatalf("run b = %+v", b)
	}
	var out bytes.Buffer
	if err := s.WriteDiff(&out, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"files changed", "shop.lshcl | 3 ++-", "1 file changed, 2 insertions(+), 1 deletion(-)", "api/cpu", "+50.0%"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("diff lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunFromPlanOutsideGit(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "p.lshcl")
	os.WriteFile(plan, []byte("x"), 0o644)
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(dir))
	r, err := RunFromPlan(&lang.Plan{Name: "p", Dir: dir, Files: []string{plan}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if r.GitCommit != "" || r.GitRoot != "" || r.PlanHash == "" {
		t.Errorf("run outside git = %+v", r)
	}
	if _, err := RunFromPlan(&lang.Plan{Name: "p", Dir: dir, Files: []string{filepath.Join(dir, "missing")}}, t0); err == nil {
		t.Error("hashing a missing plan file succeeded")
	}
}
