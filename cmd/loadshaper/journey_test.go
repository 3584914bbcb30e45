package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/runtime/testbed"
)

// A threshold on the checks decides the exit code like any other: 0 when
// they pass, 3 when too few do.
func TestRunChecksExitCode(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	tb, err := testbed.Start(testbed.Config{Capacity: 20000, Workers: 64, Cost: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	dir := t.TempDir()
	plan := func(password string) string {
		p := filepath.Join(dir, password+".lshcl")
		src := `variable "base_url" { default = "http://127.0.0.1:1" }
target "shop" { url = var.base_url }
flow "login" {
  request "login" {
    method = "POST"
    path   = "/shop/login"
    body   = jsonencode({ user = "ann", password = "` + password + `" })
    check "logged in" { status = 200 }
  }
}
phase "p" {
  duration = "1s"
  rate     = 20
}
threshold "checks" { min = 0.99 }
`
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		password string
		want     int
	}{{"ann-pw", ExitOK}, {"wrong", ExitThresholds}} {
		var out, errb bytes.Buffer
		if got := run([]string{"run", "--quiet", plan(c.password), "--var", "base_url=" + tb.URL}, &out, &errb); got != c.want {
			t.Errorf("password %q: exit %d, want %d\n%s%s", c.password, got, c.want, out.String(), errb.String())
		}
	}
}
