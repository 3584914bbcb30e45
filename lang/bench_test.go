package lang

import (
	"fmt"
	"strings"
	"testing"
)

// genPlan writes a plan of about n lines using every block type.
func genPlan(n int) []byte {
	var b strings.Builder
	b.WriteString("variable \"base_url\" { default = \"http://127.0.0.1:8080\" }\n")
	b.WriteString("target \"api\" {\n  url = var.base_url\n  metrics \"prometheus\" {\n    endpoint = \"http://127.0.0.1:9090\"\n    cpu = \"rate(x[10s])\"\n  }\n}\n")
	b.WriteString("envelope \"safe\" {\n  cpu = 0.8\n  memory = \"1.5GiB\"\n  latency_p99 = \"250ms\"\n}\n")
	b.WriteString("shaper \"guard\" {\n  strategy = \"predictive_rate_limit\"\n  envelope = envelope.safe\n}\n")
	lines := strings.Count(b.String(), "\n")
	for i := 0; lines < n; i++ {
		fmt.Fprintf(&b, "locals {\n  rate_%d = %d * 10\n}\n", i, i+1)
		fmt.Fprintf(&b, "request \"r%d\" {\n  target = target.api\n  path = \"/items/%d\"\n  weight = %d\n  priority = \"normal\"\n}\n", i, i, i%5+1)
		fmt.Fprintf(&b, "phase \"p%d\" {\n  duration = \"1m\"\n  rate = ramp(local.rate_%d, %d)\n  shapers = [shaper.guard]\n  requests = [request.r%d]\n}\n", i, i, 100+i, i)
		fmt.Fprintf(&b, "threshold \"t%d\" {\n  metric = \"latency_p99\"\n  max = \"300ms\"\n  phase = phase.p%d\n}\n", i, i)
		lines = strings.Count(b.String(), "\n")
	}
	return []byte(b.String())
}

func TestGeneratedPlanIsValid(t *testing.T) {
	src := genPlan(1000)
	if n := strings.Count(string(src), "\n"); n < 1000 {
		t.Fatalf("generated %d lines", n)
	}
	p, d := LoadSource("gen.lshcl", src, LoadOptions{})
	if d.Diags.HasErrors() || p == nil {
		var b strings.Builder
		_ = d.WriteText(&b, 0, false)
		t.Fatal(b.String())
	}
	if len(p.Phases) < 40 {
		t.Errorf("only %d phases", len(p.Phases))
	}
}

// BenchmarkLint1000Lines measures a full lint (parse, decode, evaluate,
// validate) of a generated 1,000-line plan. Target: under 50ms per op.
func BenchmarkLint1000Lines(b *testing.B) {
	src := genPlan(1000)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		_, d := LoadSource("gen.lshcl", src, LoadOptions{})
		if d.Diags.HasErrors() {
			b.Fatal(d.Diags.Error())
		}
	}
}
