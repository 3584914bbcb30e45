package stdlib

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	ctystdlib "github.com/zclconf/go-cty/cty/function/stdlib"
)

// Capabilities gate the impure plan functions. The zero value allows
// neither: env() and file() then fail with a clear message instead of
// reading the host (that is what fuzzing and untrusted plans get).
type Capabilities struct {
	// Environ is the environment env() reads, as os.Environ gives it. nil
	// disables env().
	Environ []string
	// BaseDir is where file() resolves relative paths. "" disables file().
	BaseDir string
}

// MaxFileSize bounds what file() reads, so a plan cannot pull a huge file
// into memory by accident.
const MaxFileSize = 4 << 20

// Functions returns the plan function table: loadshaper's own functions
// (rate shapes, durations, sizes, env, file) and a curated part of the cty
// standard library, keyed by the name plans call them by. Every function
// carries a description (see FunctionDescription).
func Functions(caps Capabilities) map[string]function.Function {
	fns := map[string]function.Function{
		// rate shapes
		"ramp":        rampFunc,
		"steps":       stepsFunc,
		"stairs":      stairsFunc,
		"exponential": exponentialFunc,
		"sine":        sineFunc,
		// durations and sizes
		"duration": durationFunc,
		"seconds":  secondsFunc,
		"size":     sizeFunc,
		// host access, gated
		"env":  envFunc(caps.Environ),
		"file": fileFunc(caps.BaseDir),
		// error handling
		"try": tryfunc.TryFunc,
		"can": tryfunc.CanFunc,
	}
	for name, f := range ctyFunctions {
		fns[name] = f
	}
	return fns
}

// ctyFunctions is the part of the cty standard library plans get, under
// the names Terraform users know.
var ctyFunctions = map[string]function.Function{
	"abs": ctystdlib.AbsoluteFunc, "ceil": ctystdlib.CeilFunc, "floor": ctystdlib.FloorFunc,
	"log": ctystdlib.LogFunc, "max": ctystdlib.MaxFunc, "min": ctystdlib.MinFunc,
	"parseint": ctystdlib.ParseIntFunc, "pow": ctystdlib.PowFunc, "signum": ctystdlib.SignumFunc,
	"chomp": ctystdlib.ChompFunc, "format": boundedFormat(ctystdlib.FormatFunc), "formatlist": boundedFormat(ctystdlib.FormatListFunc),
	"indent": ctystdlib.IndentFunc, "join": ctystdlib.JoinFunc, "lower": ctystdlib.LowerFunc,
	"upper": ctystdlib.UpperFunc, "regex": ctystdlib.RegexFunc, "regexall": ctystdlib.RegexAllFunc,
	"replace": ctystdlib.ReplaceFunc, "split": ctystdlib.SplitFunc, "strrev": ctystdlib.ReverseFunc,
	"substr": ctystdlib.SubstrFunc, "title": ctystdlib.TitleFunc, "trim": ctystdlib.TrimFunc,
	"trimprefix": ctystdlib.TrimPrefixFunc, "trimsuffix": ctystdlib.TrimSuffixFunc, "trimspace": ctystdlib.TrimSpaceFunc,
	"chunklist": ctystdlib.ChunklistFunc, "coalesce": ctystdlib.CoalesceFunc, "coalescelist": ctystdlib.CoalesceListFunc,
	"compact": ctystdlib.CompactFunc, "concat": ctystdlib.ConcatFunc, "contains": ctystdlib.ContainsFunc,
	"distinct": ctystdlib.DistinctFunc, "element": ctystdlib.ElementFunc, "flatten": ctystdlib.FlattenFunc,
	"strlen": ctystdlib.StrlenFunc, "keys": ctystdlib.KeysFunc, "length": ctystdlib.LengthFunc,
	"lookup": ctystdlib.LookupFunc, "merge": ctystdlib.MergeFunc, "range": boundedRange,
	"reverse": ctystdlib.ReverseListFunc, "slice": ctystdlib.SliceFunc, "sort": ctystdlib.SortFunc,
	"values": ctystdlib.ValuesFunc, "zipmap": ctystdlib.ZipmapFunc,
	"setunion": ctystdlib.SetUnionFunc, "setintersection": ctystdlib.SetIntersectionFunc,
	"jsonencode": ctystdlib.JSONEncodeFunc, "jsondecode": ctystdlib.JSONDecodeFunc,
	"csvdecode": ctystdlib.CSVDecodeFunc, "formatdate": ctystdlib.FormatDateFunc,
	"tostring": ctystdlib.MakeToFunc(cty.String), "tonumber": ctystdlib.MakeToFunc(cty.Number),
	"tobool": ctystdlib.MakeToFunc(cty.Bool), "tolist": ctystdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
	"tomap": ctystdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)), "toset": ctystdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
}

// FunctionNames lists every plan function, sorted.
func FunctionNames() []string {
	fns := Functions(Capabilities{})
	names := make([]string, 0, len(fns))
	for n := range fns {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// descriptions fills in functions whose upstream spec has none.
var descriptions = map[string]string{
	"try": "Evaluates its arguments in order and returns the first that succeeds without errors: try(jsondecode(var.raw), {}).",
	"can": "Returns true when its argument evaluates without errors, false otherwise: can(regex(\"^[a-z]+$\", var.name)).",
}

// FunctionDescription returns the one-paragraph description of a plan
// function, for the spec and for "unknown function" hints.
func FunctionDescription(name string) string {
	if d, ok := descriptions[name]; ok {
		return d
	}
	if f, ok := Functions(Capabilities{})[name]; ok {
		return f.Description()
	}
	return ""
}

func numParam(name, desc string) function.Parameter {
	return function.Parameter{Name: name, Type: cty.Number, Description: desc}
}

func asFloat(v cty.Value) float64 {
	f, _ := v.AsBigFloat().Float64()
	return f
}

func checkRate(name string, idx int, f float64) error {
	if f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return function.NewArgErrorf(idx, "%s must be a non-negative number of requests per second, got %s", name, formatFloat(f))
	}
	return nil
}

var rampFunc = function.New(&function.Spec{
	Description: "Returns a rate shape that changes linearly from `from` to `to` requests per second over the phase: ramp(100, 5000).",
	Params: []function.Parameter{
		numParam("from", "rate at the start of the phase, requests per second"),
		numParam("to", "rate at the end of the phase, requests per second"),
	},
	Type: function.StaticReturnType(RateShapeType),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		from, to := asFloat(args[0]), asFloat(args[1])
		if err := checkRate("from", 0, from); err != nil {
			return cty.NilVal, err
		}
		if err := checkRate("to", 1, to); err != nil {
			return cty.NilVal, err
		}
		return RateShapeVal(Ramp{From: from, To: to}), nil
	},
})

var stepsFunc = function.New(&function.Spec{
	Description: "Returns a rate shape that holds each given rate for an equal share of the phase, in order: steps(100, 500, 1000).",
	VarParam:    &function.Parameter{Name: "rates", Type: cty.Number, Description: "the rates, requests per second"},
	Type:        function.StaticReturnType(RateShapeType),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if len(args) == 0 {
			return cty.NilVal, fmt.Errorf("steps needs at least one rate")
		}
		s := make(Steps, len(args))
		for i, a := range args {
			s[i] = asFloat(a)
			if err := checkRate("each step", i, s[i]); err != nil {
				return cty.NilVal, err
			}
		}
		return RateShapeVal(s), nil
	},
})

var stairsFunc = function.New(&function.Spec{
	Description: "Returns a rate shape that climbs from `from` to `to` in `count` equal steps of equal length, both ends included: stairs(100, 1000, 4) holds 100, 400, 700, 1000.",
	Params: []function.Parameter{
		numParam("from", "rate of the first step"),
		numParam("to", "rate of the last step"),
		numParam("count", "number of steps, at least 1"),
	},
	Type: function.StaticReturnType(RateShapeType),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		from, to, n := asFloat(args[0]), asFloat(args[1]), asFloat(args[2])
		if err := checkRate("from", 0, from); err != nil {
			return cty.NilVal, err
		}
		if err := checkRate("to", 1, to); err != nil {
			return cty.NilVal, err
		}
		if n < 1 || n != math.Trunc(n) || n > 10000 {
			return cty.NilVal, function.NewArgErrorf(2, "count must be a whole number between 1 and 10000, got %s", formatFloat(n))
		}
		return RateShapeVal(Stairs{From: from, To: to, Count: int(n)}), nil
	},
})

var exponentialFunc = function.New(&function.Spec{
	Description: "Returns a rate shape that grows (or decays) geometrically from `from` to `to` requests per second over the phase; both must be greater than zero: exponential(10, 10000).",
	Params: []function.Parameter{
		numParam("from", "rate at the start of the phase, > 0"),
		numParam("to", "rate at the end of the phase, > 0"),
	},
	Type: function.StaticReturnType(RateShapeType),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		from, to := asFloat(args[0]), asFloat(args[1])
		for i, f := range []float64{from, to} {
			if !(f > 0) || math.IsInf(f, 0) {
				return cty.NilVal, function.NewArgErrorf(i, "exponential rates must be greater than zero, got %s", formatFloat(f))
			}
		}
		return RateShapeVal(Exponential{From: from, To: to}), nil
	},
})

var sineFunc = function.New(&function.Spec{
	Description: "Returns a rate shape that oscillates around `base` by `amplitude` requests per second with the given `period` (a duration string), never below zero: sine(500, 300, \"2m\").",
	Params: []function.Parameter{
		numParam("base", "the middle rate, requests per second"),
		numParam("amplitude", "how far the rate swings above and below base"),
		{Name: "period", Type: cty.String, Description: "duration of one full cycle, e.g. \"1m\""},
	},
	Type: function.StaticReturnType(RateShapeType),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		base, amp := asFloat(args[0]), asFloat(args[1])
		if err := checkRate("base", 0, base); err != nil {
			return cty.NilVal, err
		}
		if math.IsInf(amp, 0) {
			return cty.NilVal, function.NewArgErrorf(1, "amplitude must be finite")
		}
		p, err := ParseDuration(args[2].AsString())
		if err != nil {
			return cty.NilVal, function.NewArgError(2, err)
		}
		if p <= 0 {
			return cty.NilVal, function.NewArgErrorf(2, "period must be longer than zero")
		}
		return RateShapeVal(Sine{Base: base, Amplitude: amp, Period: p}), nil
	},
})

var durationFunc = function.New(&function.Spec{
	Description: "Parses a duration string (\"1m30s\", \"250ms\", \"2d\") and returns it as a number of seconds: duration(\"1m30s\") is 90.",
	Params:      []function.Parameter{{Name: "duration", Type: cty.String, Description: "a duration such as \"250ms\""}},
	Type:        function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		d, err := ParseDuration(args[0].AsString())
		if err != nil {
			return cty.NilVal, function.NewArgError(0, err)
		}
		return cty.NumberFloatVal(d.Seconds()), nil
	},
})

var secondsFunc = function.New(&function.Spec{
	Description: "Turns a number of seconds into a duration string, so durations can be computed: seconds(90) is \"1m30s\", seconds(0.25) is \"250ms\".",
	Params:      []function.Parameter{numParam("seconds", "a non-negative number of seconds")},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		s := asFloat(args[0])
		if s < 0 || math.IsInf(s, 0) || s > float64(math.MaxInt64)/1e9 {
			return cty.NilVal, function.NewArgErrorf(0, "seconds must be a non-negative number of seconds, got %s", formatFloat(s))
		}
		return cty.StringVal(FormatDuration(time.Duration(s * float64(time.Second)))), nil
	},
})

var sizeFunc = function.New(&function.Spec{
	Description: "Parses a size (\"1.5GiB\", \"512MB\") and returns it as a number of bytes: size(\"1KiB\") is 1024.",
	Params:      []function.Parameter{{Name: "size", Type: cty.String, Description: "a size such as \"1.5GiB\""}},
	Type:        function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		b, err := ParseSize(args[0].AsString())
		if err != nil {
			return cty.NilVal, function.NewArgError(0, err)
		}
		return cty.NumberFloatVal(b), nil
	},
})

func envFunc(environ []string) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable of the process running loadshaper, or `default` (\"\" when not given) when it is unset: env(\"API_TOKEN\").",
		Params:      []function.Parameter{{Name: "name", Type: cty.String, Description: "the variable's name"}},
		VarParam:    &function.Parameter{Name: "default", Type: cty.String, Description: "returned when the variable is unset"},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if environ == nil {
				return cty.NilVal, fmt.Errorf("env() is not available here: this plan is evaluated without access to the environment")
			}
			if len(args) > 2 {
				return cty.NilVal, function.NewArgErrorf(2, "env takes a name and at most one default")
			}
			name := args[0].AsString()
			for i := len(environ) - 1; i >= 0; i-- {
				if k, v, ok := strings.Cut(environ[i], "="); ok && k == name {
					return cty.StringVal(v), nil
				}
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return cty.StringVal(""), nil
		},
	})
}

func fileFunc(baseDir string) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the contents of a UTF-8 text file, relative to the plan's directory: file(\"bodies/order.json\"). Files over 4 MiB are refused.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String, Description: "path of the file, relative to the plan"}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if baseDir == "" {
				return cty.NilVal, fmt.Errorf("file() is not available here: this plan is evaluated without access to files")
			}
			p := args[0].AsString()
			if !filepath.IsAbs(p) {
				p = filepath.Join(baseDir, p)
			}
			st, err := os.Stat(p)
			if err != nil {
				return cty.NilVal, function.NewArgErrorf(0, "cannot read %s: %s", args[0].AsString(), errMsg(err))
			}
			if st.IsDir() {
				return cty.NilVal, function.NewArgErrorf(0, "%s is a directory, not a file", args[0].AsString())
			}
			if st.Size() > MaxFileSize {
				return cty.NilVal, function.NewArgErrorf(0, "%s is %s; file() reads at most %s", args[0].AsString(), FormatSize(float64(st.Size())), FormatSize(MaxFileSize))
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return cty.NilVal, function.NewArgErrorf(0, "cannot read %s: %s", args[0].AsString(), errMsg(err))
			}
			if !utf8.Valid(b) {
				return cty.NilVal, function.NewArgErrorf(0, "%s is not UTF-8 text", args[0].AsString())
			}
			return cty.StringVal(string(b)), nil
		},
	})
}

func errMsg(err error) string {
	if os.IsNotExist(err) {
		return "no such file"
	}
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// MaxRangeLen bounds range(): a plan has no use for millions of numbers,
// and a typo such as range(1e9) must fail fast instead of eating memory.
const MaxRangeLen = 100_000

var boundedRange = function.New(&function.Spec{
	Description: ctystdlib.RangeFunc.Description() + fmt.Sprintf(" At most %d elements.", MaxRangeLen),
	VarParam:    &function.Parameter{Name: "params", Type: cty.Number},
	Type:        function.StaticReturnType(cty.List(cty.Number)),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		var start, end, step float64 = 0, 0, 1
		switch len(args) {
		case 1:
			end = asFloat(args[0])
		case 2:
			start, end = asFloat(args[0]), asFloat(args[1])
		case 3:
			start, end, step = asFloat(args[0]), asFloat(args[1]), asFloat(args[2])
		}
		if step != 0 && math.Abs((end-start)/step) > MaxRangeLen {
			return cty.NilVal, fmt.Errorf("range would have more than %d elements", MaxRangeLen)
		}
		return ctystdlib.RangeFunc.Call(args)
	},
})

// widthVerb finds the width and precision of format verbs.
var widthVerb = regexp.MustCompile(`%[-+# 0]*(\[\d+\])?(\d*)(?:\.(\d+))?`)

// boundedFormat refuses format strings asking for absurd widths, which
// would allocate gigabytes: format("%999999999d", 1).
func boundedFormat(f function.Function) function.Function {
	return function.New(&function.Spec{
		Description: f.Description(),
		Params:      f.Params(),
		VarParam:    f.VarParam(),
		Type: func(args []cty.Value) (cty.Type, error) {
			return f.ReturnTypeForValues(args)
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 0 && args[0].IsKnown() && !args[0].IsNull() && args[0].Type() == cty.String {
				for _, m := range widthVerb.FindAllStringSubmatch(args[0].AsString(), -1) {
					for _, n := range m[2:] {
						if len(n) > 4 {
							return cty.NilVal, function.NewArgErrorf(0, "format width or precision %s is too large (at most 9999)", n)
						}
					}
				}
			}
			return f.Call(args)
		},
	})
}
