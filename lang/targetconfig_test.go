package lang

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadTarget(t *testing.T, body string) *Target {
	t.Helper()
	p := filepath.Join(t.TempDir(), "plan.lshcl")
	src := "target \"api\" {\n" + body + "\n}\nrequest \"r\" { path = \"/\" }\nphase \"p\" {\n  duration = \"1m\"\n  rate = 10\n}\n"
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return mustLoad(t, p).Targets[0]
}

// The fingerprint is the config when set, else the block's hash: an edit
// to what the block says of the system changes it, a changed secret or the
// block's formatting does not.
func TestTargetFingerprint(t *testing.T) {
	base := loadTarget(t, `url = "http://127.0.0.1:8080"
  headers = { Authorization = "Bearer one", X-Feature = "on" }
  metrics "prometheus" {
    endpoint = "http://127.0.0.1:9090"
    token    = "s3cret"
    cpu      = "rate(process_cpu_seconds_total[5s])"
  }`)
	same := loadTarget(t, `url     = "http://127.0.0.1:8080"   # reformatted, new secrets
  headers = { X-Feature = "on", Authorization = "Bearer two" }
  metrics "prometheus" {
    token    = "other"
    endpoint = "http://127.0.0.1:9090"
    cpu      = "rate(process_cpu_seconds_total[5s])"
  }`)
	if base.Hash() != same.Hash() {
		t.Errorf("formatting or secrets changed the hash")
	}
	// Each variant changes one thing of the same block.
	block := func(url, timeout, query string) string {
		return "url = \"" + url + "\"\ntimeout = \"" + timeout + "\"\nmetrics \"prometheus\" {\nendpoint = \"http://127.0.0.1:9090\"\ncpu = \"" + query + "\"\n}"
	}
	plain := loadTarget(t, block("http://127.0.0.1:8080", "10s", "rate(x[5s])")).Hash()
	for name, body := range map[string]string{
		"query":   block("http://127.0.0.1:8080", "10s", "rate(y[5s])"),
		"url":     block("http://127.0.0.1:8081", "10s", "rate(x[5s])"),
		"timeout": block("http://127.0.0.1:8080", "3s", "rate(x[5s])"),
	} {
		if loadTarget(t, body).Hash() == plain {
			t.Errorf("%s: a changed target block kept its hash", name)
		}
	}
	if fp := base.Fingerprint(); !strings.HasPrefix(fp, "block:") || len(fp) != len("block:")+16 || !strings.HasPrefix(base.Hash(), fp[6:]) {
		t.Errorf("fingerprint %q of hash %q", fp, base.Hash())
	}
	named := loadTarget(t, `url = "http://127.0.0.1:8080"`+"\n"+`config = "v2.3-4cores"`)
	if named.Fingerprint() != "v2.3-4cores" || named.Hash() != loadTarget(t, `url = "http://127.0.0.1:8080"`).Hash() {
		t.Errorf("config: fingerprint %q; the config must not enter the hash", named.Fingerprint())
	}
}
