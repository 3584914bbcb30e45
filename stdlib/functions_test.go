package stdlib

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// functionExamples holds one call per plan function and what it must
// return (rendered with cty's GoString, or a rate shape's String). Every
// function in the table must have an example here.
var functionExamples = map[string]struct{ expr, want string }{
	"ramp":            {`ramp(100, 5000)`, "ramp(100, 5000)"},
	"steps":           {`steps(100, 500, 1000)`, "steps(100, 500, 1000)"},
	"stairs":          {`stairs(100, 1000, 4)`, "stairs(100, 1000, 4)"},
	"exponential":     {`exponential(10, 10000)`, "exponential(10, 10000)"},
	"sine":            {`sine(500, 300, "2m")`, `sine(500, 300, "2m")`},
	"duration":        {`duration("1m30s")`, "cty.NumberIntVal(90)"},
	"seconds":         {`seconds(90)`, `cty.StringVal("1m30s")`},
	"size":            {`size("1KiB")`, "cty.NumberIntVal(1024)"},
	"env":             {`env("LS_TEST", "dflt")`, `cty.StringVal("set")`},
	"file":            {`file("f.txt")`, `cty.StringVal("hello\n")`},
	"try":             {`try(jsondecode("{"), 5)`, "cty.NumberIntVal(5)"},
	"can":             {`can(jsondecode("{"))`, "cty.False"},
	"abs":             {`abs(-3)`, "cty.NumberIntVal(3)"},
	"ceil":            {`ceil(1.2)`, "cty.NumberIntVal(2)"},
	"floor":           {`floor(1.8)`, "cty.NumberIntVal(1)"},
	"log":             {`log(8, 2)`, "cty.NumberIntVal(3)"},
	"max":             {`max(1, 7, 3)`, "cty.NumberIntVal(7)"},
	"min":             {`min(4, 2, 9)`, "cty.NumberIntVal(2)"},
	"parseint":        {`parseint("ff", 16)`, "cty.NumberIntVal(255)"},
	"pow":             {`pow(2, 10)`, "cty.NumberIntVal(1024)"},
	"signum":          {`signum(-4)`, "cty.NumberIntVal(-1)"},
	"chomp":           {`chomp("a\n")`, `cty.StringVal("a")`},
	"format":          {`format("%s-%03d", "run", 7)`, `cty.StringVal("run-007")`},
	"formatlist":      {`formatlist("/%s", ["a", "b"])`, `cty.ListVal([]cty.Value{cty.StringVal("/a"), cty.StringVal("/b")})`},
	"indent":          {`indent(2, "a\nb")`, `cty.StringVal("a\n  b")`},
	"join":            {`join(",", ["a", "b"])`, `cty.StringVal("a,b")`},
	"lower":           {`lower("ABC")`, `cty.StringVal("abc")`},
	"upper":           {`upper("abc")`, `cty.StringVal("ABC")`},
	"regex":           {`regex("[0-9]+", "v42")`, `cty.StringVal("42")`},
	"regexall":        {`length(regexall("a", "banana"))`, "cty.NumberIntVal(3)"},
	"replace":         {`replace("a-b-c", "-", "/")`, `cty.StringVal("a/b/c")`},
	"split":           {`split(",", "a,b")`, `cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})`},
	"strrev":          {`strrev("abc")`, `cty.StringVal("cba")`},
	"substr":          {`substr("loadshaper", 4, 5)`, `cty.StringVal("shape")`},
	"title":           {`title("load shaper")`, `cty.StringVal("Load Shaper")`},
	"trim":            {`trim("--a--", "-")`, `cty.StringVal("a")`},
	"trimprefix":      {`trimprefix("/api/x", "/api")`, `cty.StringVal("/x")`},
	"trimsuffix":      {`trimsuffix("a.json", ".json")`, `cty.StringVal("a")`},
	"trimspace":       {`trimspace("  a ")`, `cty.StringVal("a")`},
	"chunklist":       {`length(chunklist([1, 2, 3], 2))`, "cty.NumberIntVal(2)"},
	"coalesce":        {`coalesce(null, "b")`, `cty.StringVal("b")`},
	"coalescelist":    {`length(coalescelist([], [1]))`, "cty.NumberIntVal(1)"},
	"compact":         {`compact(["a", "", "b"])`, `cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})`},
	"concat":          {`length(concat([1], [2, 3]))`, "cty.NumberIntVal(3)"},
	"contains":        {`contains(["a", "b"], "b")`, "cty.True"},
	"distinct":        {`length(distinct([1, 1, 2]))`, "cty.NumberIntVal(2)"},
	"element":         {`element(["a", "b"], 3)`, `cty.StringVal("b")`},
	"flatten":         {`length(flatten([[1], [2, 3]]))`, "cty.NumberIntVal(3)"},
	"keys":            {`keys({ b = 1, a = 2 })`, `cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})`},
	"length":          {`length(["a", "b"])`, "cty.NumberIntVal(2)"},
	"strlen":          {`strlen("four")`, "cty.NumberIntVal(4)"},
	"lookup":          {`lookup({ a = "x" }, "b", "dflt")`, `cty.StringVal("dflt")`},
	"merge":           {`length(keys(merge({ a = 1 }, { b = 2 })))`, "cty.NumberIntVal(2)"},
	"range":           {`length(range(5))`, "cty.NumberIntVal(5)"},
	"reverse":         {`reverse([1, 2])[0]`, "cty.NumberIntVal(2)"},
	"slice":           {`length(slice([1, 2, 3, 4], 1, 3))`, "cty.NumberIntVal(2)"},
	"sort":            {`sort(["b", "a"])`, `cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})`},
	"values":          {`values({ a = "x" })`, `cty.TupleVal([]cty.Value{cty.StringVal("x")})`},
	"zipmap":          {`zipmap(["a"], ["x"])`, `cty.ObjectVal(map[string]cty.Value{"a":cty.StringVal("x")})`},
	"setunion":        {`length(setunion(["a"], ["b", "a"]))`, "cty.NumberIntVal(2)"},
	"setintersection": {`length(setintersection(["a", "c"], ["b", "a"]))`, "cty.NumberIntVal(1)"},
	"jsonencode":      {`jsonencode({ a = 1 })`, `cty.StringVal("{\"a\":1}")`},
	"jsondecode":      {`jsondecode("{\"a\": 2}").a`, "cty.NumberIntVal(2)"},
	"csvdecode":       {`csvdecode("id\n7\n")[0].id`, `cty.StringVal("7")`},
	"formatdate":      {`formatdate("YYYY-MM-DD", "2026-11-27T10:00:00Z")`, `cty.StringVal("2026-11-27")`},
	"tostring":        {`tostring(5)`, `cty.StringVal("5")`},
	"tonumber":        {`tonumber("5")`, "cty.NumberIntVal(5)"},
	"tobool":          {`tobool("true")`, "cty.True"},
	"tolist":          {`length(tolist(["a", "b"]))`, "cty.NumberIntVal(2)"},
	"tomap":           {`tomap({ a = "b" }).a`, `cty.StringVal("b")`},
	"toset":           {`length(toset(["a", "a"]))`, "cty.NumberIntVal(1)"},
}

func evalExpr(t *testing.T, fns Capabilities, src string) (cty.Value, hcl.Diagnostics) {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), "t.lshcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", src, diags.Error())
	}
	return expr.Value(&hcl.EvalContext{Functions: Functions(fns)})
}

func render(v cty.Value) string {
	if v.Type().Equals(RateShapeType) {
		s, _ := RateShapeFromValue(v)
		return s.String()
	}
	return v.GoString()
}

func TestEveryFunctionHasDescriptionAndExample(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	caps := Capabilities{BaseDir: dir, Environ: []string{"LS_TEST=set"}}
	for _, name := range FunctionNames() {
		if d := FunctionDescription(name); len(d) < 15 {
			t.Errorf("%s: description %q is missing or too short", name, d)
		}
		ex, ok := functionExamples[name]
		if !ok {
			t.Errorf("%s: no example in functionExamples", name)
			continue
		}
		v, diags := evalExpr(t, caps, ex.expr)
		if diags.HasErrors() {
			t.Errorf("%s: %s", ex.expr, diags.Error())
			continue
		}
		if got := render(v); got != ex.want {
			t.Errorf("%s = %s, want %s", ex.expr, got, ex.want)
		}
	}
	for name := range functionExamples {
		if FunctionDescription(name) == "" {
			t.Errorf("example for %s, which is not a plan function", name)
		}
	}
}

func TestImpureFunctionsAreGated(t *testing.T) {
	for _, src := range []string{`env("HOME")`, `file("x")`} {
		_, diags := evalExpr(t, Capabilities{}, src)
		if !diags.HasErrors() || !strings.Contains(diags.Error(), "not available") {
			t.Errorf("%s without capability: %v", src, diags)
		}
	}
	dir := t.TempDir()
	_ = os.Mkdir(filepath.Join(dir, "d"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "bin"), []byte{0xff, 0xfe, 0}, 0o644)
	for src, want := range map[string]string{
		`file("missing")`: "no such file",
		`file("d")`:       "directory",
		`file("bin")`:     "not UTF-8",
	} {
		_, diags := evalExpr(t, Capabilities{BaseDir: dir}, src)
		if !diags.HasErrors() || !strings.Contains(diags.Error(), want) {
			t.Errorf("%s: %v, want %q", src, diags, want)
		}
	}
	v, _ := evalExpr(t, Capabilities{Environ: []string{}}, `env("NOPE")`)
	if v.AsString() != "" {
		t.Errorf("unset env = %q", v.AsString())
	}
}

func TestFunctionArgumentErrors(t *testing.T) {
	for _, src := range []string{
		`ramp(-1, 10)`, `ramp(1, -10)`, `steps()`, `steps(1, -1)`, `stairs(1, 2, 0)`, `stairs(1, 2, 1.5)`,
		`exponential(0, 10)`, `exponential(10, -1)`, `sine(10, 1, "0s")`, `sine(10, 1, "x")`, `sine(-1, 1, "1s")`,
		`duration("5 minutes")`, `range(1e9)`, `format("%999999999d", 1)`, `formatlist("%.99999f", [1])`, `duration("10")`, `duration("-1s")`, `size("lots")`, `seconds(-1)`,
	} {
		if _, diags := evalExpr(t, Capabilities{}, src); !diags.HasErrors() {
			t.Errorf("%s: no error", src)
		}
	}
}

func TestRateShapes(t *testing.T) {
	const total = 100 * time.Second
	cases := []struct {
		shape     RateShape
		at        time.Duration
		want      float64
		wantPeak  float64
		wantAtEnd float64
	}{
		{Ramp{100, 5000}, 50 * time.Second, 2550, 5000, 5000},
		{Ramp{1000, 0}, 25 * time.Second, 750, 1000, 0},
		{Steps{100, 200, 300, 400}, 30 * time.Second, 200, 400, 400},
		{Stairs{100, 400, 4}, 60 * time.Second, 300, 400, 400},
		{Exponential{10, 1000}, 50 * time.Second, 100, 1000, 1000},
		{Sine{500, 200, 40 * time.Second}, 10 * time.Second, 700, 700, 500},
		{Sine{100, 300, 40 * time.Second}, 30 * time.Second, 0, 400, 100},
		{Constant(42), 10 * time.Second, 42, 42, 42},
	}
	for _, c := range cases {
		if got := c.shape.At(c.at, total); abs(got-c.want) > 1e-6 {
			t.Errorf("%s.At(%s) = %v, want %v", c.shape, c.at, got, c.want)
		}
		if got := c.shape.Peak(total); got != c.wantPeak {
			t.Errorf("%s.Peak = %v, want %v", c.shape, got, c.wantPeak)
		}
		if got := c.shape.At(total, total); abs(got-c.wantAtEnd) > 1e-6 {
			t.Errorf("%s.At(end) = %v, want %v", c.shape, got, c.wantAtEnd)
		}
		for e := time.Duration(0); e <= total; e += time.Second {
			if r := c.shape.At(e, total); r < 0 || r > c.shape.Peak(total)+1e-9 {
				t.Fatalf("%s.At(%s) = %v outside [0, peak]", c.shape, e, r)
			}
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestParseDurationAndSize(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"250ms": 250 * time.Millisecond, "1m30s": 90 * time.Second, "2d": 48 * time.Hour, "1d12h": 36 * time.Hour, "0": 0,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]float64{
		"1.5GiB": 1.5 * (1 << 30), "512MB": 512e6, "64KiB": 65536, "1024": 1024, "10 MiB": 10 << 20, "2kb": 2000,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1.5XB", "GiB", "1e400"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q): no error", bad)
		}
	}
	if got := FormatSize(1.5 * (1 << 30)); got != "1.5GiB" {
		t.Errorf("FormatSize = %q", got)
	}
	if got := FormatDuration(5 * time.Minute); got != "5m" {
		t.Errorf("FormatDuration = %q", got)
	}
}
