package lang

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLint checks that parsing, decoding and validating any input never
// panics and that every diagnostic it yields has a subject or a summary.
func FuzzLint(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/plans/*/*.lshcl")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(string(b))
		}
	}
	f.Add(`phase "p" { duration = "1m" rate = ramp(1, 2) }`)
	f.Add("locals {\n a = local.b\n b = local.a\n}\n")
	f.Add("variable \"x\" {\n type = number\n validation {\n condition = var.x > 0\n error_message = \"no\"\n }\n}\n")
	f.Add("target \"t\" {\n url = \"http://127.0.0.1\"\n metrics \"prometheus\" {\n endpoint = \"http://127.0.0.1:9090\"\n cpu = \"up\"\n }\n}\n")
	f.Add("target \"t\" { url = \"http://127.0.0.1\" }\nflow \"f\" {\n request \"a\" {\n path = \"/{{vars.x}}\"\n check \"c\" { json = \"$.a[0]\" min = 1 }\n extract \"x\" { regexp = \"(a)\" }\n }\n loop {\n while = \"vars.x\"\n think { duration = \"1s\" }\n }\n}\n")
	f.Fuzz(func(t *testing.T, src string) {
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				panic(fmt.Sprintf("lint of %q took more than 3s", src))
			}
		}()
		defer close(done)
		_, d := LoadSource("fuzz.lshcl", []byte(src), LoadOptions{Vars: map[string]string{}})
		for _, diag := range d.Diags {
			if strings.TrimSpace(diag.Summary) == "" {
				t.Fatalf("diagnostic without summary: %#v", diag)
			}
		}
		var b strings.Builder
		_ = d.WriteText(&b, 80, false)
		_ = d.WriteJSON(&b)
		_, _ = Format("fuzz.lshcl", []byte(src))
	})
}
