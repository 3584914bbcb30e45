package dryrun

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestCheckoutRevisionReadsThePlanAsItWas(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	repo := t.TempDir()
	git(t, repo, "init", "-q")
	dir := filepath.Join(repo, "plans")
	plan, rule := filepath.Join(dir, "p.lshcl"), filepath.Join(dir, "rules", "r.star")
	os.MkdirAll(filepath.Dir(rule), 0o755)
	os.WriteFile(plan, []byte("old plan\n"), 0o644)
	os.WriteFile(rule, []byte("old rule\n"), 0o644)
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-qm", "one")
	os.WriteFile(plan, []byte("new plan\n"), 0o644)
	newRule := filepath.Join(dir, "rules", "added.star")
	os.WriteFile(newRule, []byte("added since\n"), 0o644)

	paths, cleanup, err := CheckoutRevision("HEAD", []string{plan, rule, newRule}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if len(paths) != 1 || filepath.Base(paths[0]) != "p.lshcl" {
		t.Fatalf("paths %v", paths)
	}
	if b, _ := os.ReadFile(paths[0]); string(b) != "old plan\n" {
		t.Fatalf("plan at HEAD = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(filepath.Dir(paths[0]), "rules", "r.star")); string(b) != "old rule\n" {
		t.Fatalf("rule at HEAD = %q (layout must be kept for relative script paths)", b)
	}
	tmp := filepath.Dir(paths[0])
	cleanup()
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatal("cleanup left the temporary directory")
	}

	for _, rev := range []string{"no-such-rev", "-x", ""} {
		if _, _, err := CheckoutRevision(rev, []string{plan}, dir); err == nil {
			t.Errorf("revision %q accepted", rev)
		}
	}
	// A plan file that did not exist at that revision.
	other := filepath.Join(dir, "q.lshcl")
	os.WriteFile(other, []byte("x"), 0o644)
	if _, _, err := CheckoutRevision("HEAD", []string{other}, dir); err == nil || !strings.Contains(err.Error(), "did not exist") {
		t.Errorf("new file: %v", err)
	}
	// Not a git work tree.
	if _, _, err := CheckoutRevision("HEAD", []string{plan}, t.TempDir()); err == nil {
		t.Error("outside git accepted")
	}
}

func TestCompareShowsTheChange(t *testing.T) {
	base := mustRun(t, samplePlan(), Options{Seed: 1})
	p := samplePlan()
	p.Phases[1].Rate = ramp{100, 700}
	head := mustRun(t, p, Options{Seed: 1})
	var b bytes.Buffer
	if err := WriteCompare(&b, "HEAD~1", "p.lshcl", base, head); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// 1493: the ramp 100→1500 over 100 s, mean over its last 1 s tick.
	for _, want := range []string{"peak planned rate", "1493", "safe.cpu at", "keeps the plan within its envelope", "verdict"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare lacks %q:\n%s", want, out)
		}
	}
}
