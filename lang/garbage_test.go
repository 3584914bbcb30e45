package lang

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadFile(t *testing.T, name string, src []byte) Diagnostics {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	plan, d := LoadWithFiles([]string{p}, LoadOptions{})
	if plan != nil {
		t.Fatalf("garbage loaded as a plan")
	}
	return d
}

func wantSummary(t *testing.T, d Diagnostics, want string) {
	t.Helper()
	for _, diag := range d.Diags {
		if strings.Contains(diag.Summary, want) {
			var b strings.Builder
			if err := d.WriteText(&b, 0, false); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Errorf("no %q among %v", want, d.Diags)
}

func TestBinaryFileIsRefused(t *testing.T) {
	src := []byte("target \"a\" {\x00\x01\x02\xff\xfe}")
	wantSummary(t, loadFile(t, "bin.lshcl", src), "not a text file")
}

func TestInvalidUTF8IsRefused(t *testing.T) {
	wantSummary(t, loadFile(t, "latin1.lshcl", []byte("# caf\xe9\n")), "not a text file")
}

func TestHugePlanIsRefused(t *testing.T) {
	line := []byte("# padding padding padding padding padding padding padding padding\n")
	src := bytes.Repeat(line, (10<<20)/len(line)+1)
	d := loadFile(t, "huge.lshcl", src)
	wantSummary(t, d, "too large")
	if !strings.Contains(d.Diags[0].Detail, "10.0 MiB") {
		t.Errorf("detail = %q", d.Diags[0].Detail)
	}
	_, d2 := LoadSource("huge.lshcl", src, LoadOptions{})
	wantSummary(t, d2, "too large")
}

func TestDeepNestingIsRefused(t *testing.T) {
	for name, src := range map[string]string{
		"parens":   "locals {\n  x = " + strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000) + "\n}\n",
		"lists":    "locals {\n  x = " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n}\n",
		"template": "locals {\n  x = \"" + strings.Repeat("${\"", 2000) + strings.Repeat("\"}", 2000) + "\"\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, d := LoadSource("deep.lshcl", []byte(src), LoadOptions{})
			wantSummary(t, d, "nested too deeply")
		})
	}
	// Brackets inside strings and comments do not count.
	ok := "locals {\n  x = \"" + strings.Repeat("(", 500) + "\" # " + strings.Repeat("[", 500) + "\n}\n"
	_, d := LoadSource("ok.lshcl", []byte(ok), LoadOptions{})
	for _, diag := range d.Diags {
		if strings.Contains(diag.Summary, "nested") {
			t.Errorf("string content counted as nesting: %s", diag.Detail)
		}
	}
}

func TestScriptInfiniteLoopHitsBudget(t *testing.T) {
	dir := t.TempDir()
	plan := "target \"a\" { url = \"http://127.0.0.1:1\" }\nrequest \"r\" {}\nshaper \"s\" { script = \"loop.star\" }\nphase \"p\" {\n  duration = \"1s\"\n  rate = 1\n  shapers = [shaper.s]\n}\n"
	script := "def spin():\n    for i in range(1 << 62):\n        pass\nspin()\ndef shape(ctx):\n    return None\n"
	_ = os.WriteFile(filepath.Join(dir, "p.lshcl"), []byte(plan), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "loop.star"), []byte(script), 0o644)
	_, d := LoadWithFiles([]string{filepath.Join(dir, "p.lshcl")}, LoadOptions{})
	wantSummary(t, d, "runs too long")
	for _, diag := range d.Diags {
		if strings.Contains(diag.Summary, "runs too long") && diag.Subject.Start.Line != 2 {
			t.Errorf("reported at line %d, want 2 (inside spin)", diag.Subject.Start.Line)
		}
	}
}

func TestBinaryScriptIsRefused(t *testing.T) {
	dir := t.TempDir()
	plan := "target \"a\" { url = \"http://127.0.0.1:1\" }\nrequest \"r\" {}\nshaper \"s\" { script = \"b.star\" }\nphase \"p\" {\n  duration = \"1s\"\n  rate = 1\n}\n"
	_ = os.WriteFile(filepath.Join(dir, "p.lshcl"), []byte(plan), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "b.star"), []byte{0x7f, 'E', 'L', 'F', 0, 0}, 0o644)
	_, d := LoadWithFiles([]string{filepath.Join(dir, "p.lshcl")}, LoadOptions{})
	wantSummary(t, d, "not a text file")
}

func TestScriptEndlessBuiltinIsCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the script deadline (about 1.5s)")
	}
	dir := t.TempDir()
	plan := "target \"a\" { url = \"http://127.0.0.1:1\" }\nrequest \"r\" {}\nshaper \"s\" { script = \"big.star\" }\nphase \"p\" {\n  duration = \"1s\"\n  rate = 1\n}\n"
	_ = os.WriteFile(filepath.Join(dir, "p.lshcl"), []byte(plan), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "big.star"), []byte("x = max(range(1 << 40))\ndef shape(ctx):\n    return None\n"), 0o644)
	_, d := LoadWithFiles([]string{filepath.Join(dir, "p.lshcl")}, LoadOptions{})
	wantSummary(t, d, "runs too long")
}
