package starlib

import (
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

func exec(t *testing.T, src string, l Limits) (starlark.StringDict, error) {
	t.Helper()
	th := NewThread("test", l, nil)
	stop := Guard(th, l)
	defer stop()
	return starlark.ExecFileOptions(FileOptions, th, "t.star", src, Universe())
}

func TestDecisionBuildsStruct(t *testing.T) {
	g, err := exec(t, `d = decision(rate = 12.5, reason = "why")`, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := g["d"].(*starlarkstruct.Struct)
	if !ok {
		t.Fatalf("decision returned %T", g["d"])
	}
	r, _ := s.Attr("rate")
	if f, _ := starlark.AsFloat(r); f != 12.5 {
		t.Errorf("rate = %v", r)
	}
	why, _ := s.Attr("reason")
	if why.(starlark.String) != "why" {
		t.Errorf("reason = %v", why)
	}
}

func TestDecisionRejectsBadValues(t *testing.T) {
	for _, src := range []string{
		`decision(rate = -1)`,
		`decision(rate = "fast")`,
		`decision(mix = [1])`,
		`decision(speed = 1)`,
	} {
		if _, err := exec(t, src, Limits{}); err == nil {
			t.Errorf("%s: no error", src)
		}
	}
}

func TestSandboxStopsInfiniteLoop(t *testing.T) {
	_, err := exec(t, "def f():\n    for i in range(1000000000):\n        pass\nf()\n", Limits{MaxSteps: 10000})
	if err == nil || !strings.Contains(err.Error(), "too many steps") {
		t.Fatalf("err = %v, want step budget exceeded", err)
	}
}

func TestSandboxRefusesLoad(t *testing.T) {
	_, err := exec(t, `load("os.star", "x")`, Limits{})
	if err == nil || !strings.Contains(err.Error(), "cannot load") {
		t.Fatalf("err = %v", err)
	}
}
