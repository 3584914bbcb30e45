package eval

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The truth readers are checked here, quickly and without load: a wrong
// parser would score every run wrongly.

func TestParseAccess(t *testing.T) {
	var lines []string
	for i := 0; i < 97; i++ {
		lines = append(lines, "1795807456.488 200 0.001")
	}
	lines = append(lines, "1795807456.690 200 0.185", "1795807456.694 503 0.000", "1795807456.720 503 0.000", "garbage", "1 x 0.1")
	a := parseAccess(lines)
	if a.n != 100 || a.malformed != 2 {
		t.Fatalf("n %d malformed %d, want 100 and 2", a.n, a.malformed)
	}
	if math.Abs(a.share503-0.02) > 1e-9 {
		t.Errorf("share of 503s %v, want 0.02", a.share503)
	}
	// Nearest rank: the 99th of 100 sorted times is the largest but one.
	if a.p99 != 0.001 {
		t.Errorf("p99 %v, want 0.001 (the one slow request is the 100th)", a.p99)
	}
	if b := parseAccess(append(lines, "1795807456.999 200 0.300")); b.p99 != 0.185 {
		t.Errorf("p99 of 101 times %v, want 0.185", b.p99)
	}
	if z := parseAccess(nil); z.n != 0 || z.p99 != 0 || z.share503 != 0 {
		t.Errorf("no lines: %+v", z)
	}
}

func TestLogTailKeepsPartialLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(p, []byte("old 200 0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lt, err := newLogTail(p)
	if err != nil {
		t.Fatal(err)
	}
	defer lt.f.Close()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, _ = f.WriteString("1 200 0.1\n2 503 0.0")
	ls, _ := lt.lines()
	if strings.Join(ls, "|") != "1 200 0.1" {
		t.Fatalf("first read %q, want only the complete new line", ls)
	}
	_, _ = f.WriteString("02\n")
	ls, _ = lt.lines()
	if strings.Join(ls, "|") != "2 503 0.002" {
		t.Fatalf("second read %q, want the completed line", ls)
	}
}

func TestParseProcStatCPU(t *testing.T) {
	// A command name with spaces and a parenthesis; utime 250, stime 50.
	line := "4242 (my (odd) srv) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 50 0 0 20 0 7 0 100 1000000 500 18446744073709551615"
	got, err := parseProcStatCPU(line)
	if err != nil || got != 3.0 {
		t.Fatalf("got %v, %v; want 3 s", got, err)
	}
	if _, err := parseProcStatCPU("4242 (x) S 1 2"); err == nil {
		t.Error("a short line parsed without error")
	}
	c, err := procCPU(os.Getpid())
	if err != nil || c < 0 {
		t.Errorf("own CPU time %v, %v", c, err)
	}
}

// TestNginxConfValid asks nginx itself whether the evaluation's
// configuration is valid (nginx -t), when nginx is installed.
func TestNginxConfValid(t *testing.T) {
	bin, err := nginxBinary()
	if err != nil {
		t.Skip("nginx is not installed")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(dir, "127.0.0.1:1", 200)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}
