package shapers

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/loadshaper/loadshaper/stdlib/starlib"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Sentinel errors of script loading, so callers (lint) can tell them apart.
var (
	ErrNoEntryPoint  = errors.New("the script defines neither shape(ctx) nor prioritize(req, ctx)")
	ErrBadEntryPoint = errors.New("entry point has the wrong signature")
)

// Script is a shaper written in Starlark. The file is compiled and its
// globals initialised and frozen once; every tick calls shape(ctx) and,
// when defined, prioritize(req, ctx) once per request of the mix, each in a
// fresh sandboxed thread with a step budget and a deadline.
type Script struct {
	name       string
	path       string
	shape      starlark.Callable
	prioritize starlark.Callable
	requests   []RequestClass
	env        Limits
	limits     starlib.Limits
	params     *attrs
	print      func(string)
}

// NewScript compiles cfg.Source (named cfg.Script in messages) and checks
// its entry points. Params may set "max_steps" (number) and "deadline"
// (duration) for each call.
func NewScript(cfg Config) (*Script, error) {
	if cfg.Source == nil {
		return nil, fmt.Errorf("shaper %q: script %q has no source (the runtime reads the file)", cfg.Name, cfg.Script)
	}
	// The parameters of stdlib.ScriptParams (max_steps, deadline) bound the
	// sandbox; every other parameter is the script's own, read as
	// ctx.params.
	reserved, own := map[string]any{}, starlark.StringDict{}
	for k, v := range cfg.Params {
		if slices.ContainsFunc(stdlib.ScriptParams, func(p stdlib.Param) bool { return p.Name == k }) {
			reserved[k] = v
			continue
		}
		sv, err := toStarlark(v)
		if err != nil {
			return nil, fmt.Errorf("shaper %q (script): parameter %q: %w", cfg.Name, k, err)
		}
		own[k] = sv
	}
	p, err := ValidateParams(scriptStrategy, reserved)
	if err != nil {
		return nil, fmt.Errorf("shaper %q (script): %w", cfg.Name, err)
	}
	params := &attrs{what: "params", m: own}
	params.Freeze()
	path := cfg.Script
	if path == "" {
		path = cfg.Name + ".star"
	}
	universe := starlark.StringDict{pyFormatName: pyFormatBuiltin}
	for k, v := range starlib.Universe() {
		universe[k] = v
	}
	f, err := starlib.FileOptions.Parse(path, cfg.Source, 0)
	if err != nil {
		return nil, fmt.Errorf("shaper %q: %w", cfg.Name, err)
	}
	rewritePercentFormats(f)
	prog, err := starlark.FileProgram(f, universe.Has)
	if err != nil {
		return nil, fmt.Errorf("shaper %q: %w", cfg.Name, err)
	}
	lim := starlib.Limits{MaxSteps: uint64(p.Float("max_steps")), Deadline: max(p.Duration("deadline"), cfg.MinDeadline)}
	th := starlib.NewThread(cfg.Name+" init", lim, nil)
	stop := starlib.Guard(th, lim)
	globals, err := prog.Init(th, universe)
	stop()
	if err != nil {
		return nil, fmt.Errorf("shaper %q: loading %s: %s", cfg.Name, path, backtrace(err))
	}
	globals.Freeze()
	sc := &Script{name: cfg.Name, path: path, requests: cfg.Requests, env: cfg.Envelope, limits: lim, params: params}
	if sc.shape, err = entryPoint(globals, "shape", 1); err != nil {
		return nil, fmt.Errorf("shaper %q: %s: %w", cfg.Name, path, err)
	}
	if sc.prioritize, err = entryPoint(globals, "prioritize", 2); err != nil {
		return nil, fmt.Errorf("shaper %q: %s: %w", cfg.Name, path, err)
	}
	if sc.shape == nil && sc.prioritize == nil {
		return nil, fmt.Errorf("shaper %q: %s: %w", cfg.Name, path, ErrNoEntryPoint)
	}
	return sc, nil
}

// SetPrint routes the script's print() output (discarded by default).
func (sc *Script) SetPrint(f func(string)) { sc.print = f }

// scriptStrategy declares the sandbox parameters of a script shaper.
var scriptStrategy = Strategy{Strategy: stdlib.Strategy{Name: "script", Params: stdlib.ScriptParams}}

func entryPoint(g starlark.StringDict, name string, nparams int) (starlark.Callable, error) {
	v, ok := g[name]
	if !ok {
		return nil, nil
	}
	fn, ok := v.(*starlark.Function)
	if !ok {
		return nil, fmt.Errorf("%w: %s is a %s, want a function", ErrBadEntryPoint, name, v.Type())
	}
	if fn.NumParams() != nparams && !fn.HasVarargs() {
		var want string
		if nparams == 1 {
			want = "shape(ctx)"
		} else {
			want = "prioritize(req, ctx)"
		}
		pos := fn.Position()
		return nil, fmt.Errorf("%w: %s:%d: %s takes %d parameters, want %s", ErrBadEntryPoint, pos.Filename(), pos.Line, name, fn.NumParams(), want)
	}
	return fn, nil
}

// backtrace renders a Starlark error as one line that says where and what
// (`rules/r.star:2:54: in shape: ctx has no "envelop"`), which the live
// view and the summary show, followed by the call stack.
func backtrace(err error) string {
	var ee *starlark.EvalError
	if !errors.As(err, &ee) {
		return err.Error()
	}
	for i := 0; i < len(ee.CallStack); i++ {
		fr := ee.CallStack.At(i)
		if fr.Pos.IsValid() && fr.Pos.Filename() != "<builtin>" {
			return fmt.Sprintf("%s: in %s: %s\n%s", fr.Pos, fr.Name, ee.Msg, ee.Backtrace())
		}
	}
	return ee.Msg + "\n" + ee.Backtrace()
}

// Shape implements Shaper.
func (sc *Script) Shape(s *Snapshot, in Instruction) (Instruction, Decision, error) {
	env := sc.env
	if env == nil {
		env = s.Envelope
	}
	ctx := newCtx(s, in, env, sc.params)
	out := in
	var d Decision
	if sc.shape != nil {
		v, err := sc.call("shape", sc.shape, starlark.Tuple{ctx})
		if err != nil {
			return in, Decision{}, err
		}
		out, d, err = applyDecision(in, v)
		if err != nil {
			return in, Decision{}, fmt.Errorf("%s: shape(ctx) returned %w", sc.path, err)
		}
	}
	if sc.prioritize != nil && len(sc.requests) > 0 {
		var err error
		out, err = sc.prioritizeTable(s, out, env, &d)
		if err != nil {
			return in, Decision{}, err
		}
	}
	return out, d, nil
}

func (sc *Script) call(fname string, fn starlark.Callable, args starlark.Tuple) (starlark.Value, error) {
	th := starlib.NewThread(sc.name+" "+fname, sc.limits, sc.print)
	stop := starlib.Guard(th, sc.limits)
	defer stop()
	v, err := starlark.Call(th, fn, args, nil)
	if err != nil {
		return nil, fmt.Errorf("%s", backtrace(err))
	}
	return v, nil
}

// prioritizeTable calls prioritize(req, ctx) once per request of the mix.
// It returns the fraction of that request to shed this tick (0..1, or None
// for no change); the shed share leaves the mix and the rate, so the other
// requests keep their own rates.
func (sc *Script) prioritizeTable(s *Snapshot, in Instruction, env Limits, d *Decision) (Instruction, error) {
	ctx := newCtx(s, in, env, sc.params)
	out := in
	out.Mix = map[string]float64{}
	total, kept := 0.0, 0.0
	shedRate := map[string]float64{}
	for _, r := range sc.requests {
		w := mixWeight(in, r)
		if w <= 0 {
			continue // not sent this tick (a phase's requests list)
		}
		total += w
		req := starlarkstruct.FromStringDict(starlark.String("request"), starlark.StringDict{
			"name": starlark.String(r.Name), "priority": starlark.String(r.Priority), "weight": starlark.Float(w),
		})
		v, err := sc.call("prioritize", sc.prioritize, starlark.Tuple{req, ctx})
		if err != nil {
			return in, err
		}
		f := 0.0
		if v != starlark.None {
			x, ok := starlark.AsFloat(v)
			if !ok || math.IsNaN(x) || x < 0 || x > 1 {
				return in, fmt.Errorf("%s: prioritize(%q) returned %s, want a shed fraction 0..1 or None", sc.path, r.Name, v.String())
			}
			f = x
		}
		out.Mix[r.Name] = w * (1 - f)
		kept += w * (1 - f)
		if f > 0 {
			shedRate[r.Priority] += f * w
		}
	}
	if total <= 0 || kept == total {
		out.Mix = in.Mix
		return out, nil
	}
	for k, v := range shedRate {
		shedRate[k] = in.Rate * v / total
	}
	out.Rate = in.Rate * kept / total
	d.ShedRate = shedRate
	if d.Reason != "" {
		d.Reason += "; "
	}
	d.Reason += fmt.Sprintf("prioritize shed %.1f%% of the mix", 100*(1-kept/total))
	return out, nil
}

// applyDecision turns the value shape() returned into an instruction.
func applyDecision(in Instruction, v starlark.Value) (Instruction, Decision, error) {
	if v == starlark.None {
		return in, Decision{}, nil
	}
	st, ok := v.(*starlarkstruct.Struct)
	if !ok || st.Constructor() != starlark.String("decision") {
		return in, Decision{}, fmt.Errorf("%s, want decision(...) or None", v.Type())
	}
	out := in
	var d Decision
	if r, _ := st.Attr("rate"); r != nil && r != starlark.None {
		f, _ := starlark.AsFloat(r)
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return in, d, fmt.Errorf("a decision with rate %v", f)
		}
		out.Rate = f
	}
	if m, _ := st.Attr("mix"); m != nil && m != starlark.None {
		mix, err := floatDict(m, "mix")
		if err != nil {
			return in, d, err
		}
		out.Mix = cloneMap(in.Mix)
		if out.Mix == nil {
			out.Mix = map[string]float64{}
		}
		for k, w := range mix {
			if w < 0 {
				return in, d, fmt.Errorf("a decision with mix weight %v for %q", w, k)
			}
			out.Mix[k] = w
		}
	}
	if sh, _ := st.Attr("shed"); sh != nil && sh != starlark.None {
		shed, err := floatDict(sh, "shed")
		if err != nil {
			return in, d, err
		}
		out.Shed = cloneMap(in.Shed)
		if out.Shed == nil {
			out.Shed = map[string]float64{}
		}
		for k, f := range shed {
			if stdlib.PriorityIndex(k) < 0 {
				return in, d, fmt.Errorf("a decision shedding unknown class %q (classes: %s)", k, strings.Join(stdlib.PriorityClasses, ", "))
			}
			if f < 0 || f > 1 || math.IsNaN(f) {
				return in, d, fmt.Errorf("a decision shedding %v of %q, want 0..1", f, k)
			}
			out.Shed[k] = f
		}
	}
	if r, _ := st.Attr("reason"); r != nil {
		d.Reason, _ = starlark.AsString(r)
	}
	if p, _ := st.Attr("prediction"); p != nil {
		d.Prediction, _ = starlark.AsString(p)
	}
	return out, d, nil
}

func floatDict(v starlark.Value, what string) (map[string]float64, error) {
	dict, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("a decision whose %s is a %s, want a dict", what, v.Type())
	}
	out := make(map[string]float64, dict.Len())
	for _, kv := range dict.Items() {
		k, ok := starlark.AsString(kv[0])
		if !ok {
			return nil, fmt.Errorf("a decision whose %s has key %s, want strings", what, kv[0].String())
		}
		f, ok := starlark.AsFloat(kv[1])
		if !ok {
			return nil, fmt.Errorf("a decision whose %s[%q] is %s, want a number", what, k, kv[1].Type())
		}
		out[k] = f
	}
	return out, nil
}

// ---- ctx ----

// attrs is a read-only record whose missing attributes give an error that
// suggests the closest name and lists what exists (ctx.envelope.memory when
// the envelope has no memory) — or, for the records of readings that may
// be missing any tick (ctx.metrics, ctx.staleness, ctx.predictions), None.
type attrs struct {
	what   string
	m      map[string]starlark.Value
	orNone bool // a missing attribute is None, not an error
}

var _ starlark.HasAttrs = (*attrs)(nil)

func (a *attrs) String() string {
	var b strings.Builder
	b.WriteString(a.what + "(")
	for i, n := range a.AttrNames() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n + " = " + a.m[n].String())
	}
	b.WriteString(")")
	return b.String()
}
func (a *attrs) Type() string { return a.what }
func (a *attrs) Freeze() {
	for _, v := range a.m {
		v.Freeze()
	}
}
func (a *attrs) Truth() starlark.Bool  { return len(a.m) > 0 }
func (a *attrs) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: %s", a.what) }
func (a *attrs) Attr(name string) (starlark.Value, error) {
	if v, ok := a.m[name]; ok {
		return v, nil
	}
	if a.orNone {
		return starlark.None, nil
	}
	hint := ""
	if s := suggest(name, a.AttrNames()); s != "" {
		hint = fmt.Sprintf("; did you mean %q?", s)
	}
	return nil, starlark.NoSuchAttrError(fmt.Sprintf("%s has no %q%s (has: %s)", a.what, name, hint, strings.Join(a.AttrNames(), ", ")))
}
func (a *attrs) AttrNames() []string {
	names := make([]string, 0, len(a.m))
	for n := range a.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func floatMapDict(m map[string]float64) *starlark.Dict {
	d := starlark.NewDict(len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_ = d.SetKey(starlark.String(k), starlark.Float(m[k]))
	}
	return d
}

// newCtx builds the ctx value a script sees (see spec/starlark-api.md).
func newCtx(s *Snapshot, in Instruction, env Limits, params *attrs) *attrs {
	envm := map[string]starlark.Value{}
	for k, v := range env {
		envm[k] = starlark.Float(v)
	}
	metrics := map[string]starlark.Value{}
	staleness := map[string]starlark.Value{}
	for k, m := range s.Metrics {
		if m.Stale || math.IsNaN(m.Value) {
			metrics[k] = starlark.None
		} else {
			metrics[k] = starlark.Float(m.Value)
		}
		staleness[k] = starlark.Float(m.Age.Seconds())
	}
	preds := map[string]starlark.Value{}
	for k, p := range s.Predictions {
		preds[k] = &attrs{what: "prediction", m: map[string]starlark.Value{
			"value": starlark.Float(p.Value), "lower": starlark.Float(p.Lower), "upper": starlark.Float(p.Upper),
			"horizon": starlark.Float(p.Horizon.Seconds()), "model": starlark.String(p.Model),
		}}
	}
	phase := &attrs{what: "phase", m: map[string]starlark.Value{
		"name":     starlark.String(s.Phase.Name),
		"elapsed":  starlark.Float(s.Phase.Elapsed.Seconds()),
		"duration": starlark.Float(s.Phase.Duration.Seconds()),
		"rate":     starlark.Float(s.Phase.PlannedRate),
		"max_rate": starlark.Float(s.Phase.MaxRate),
		"warmup":   starlark.Bool(s.Phase.Warmup),
	}}
	series := starlark.NewBuiltin("series", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var name string
		var window starlark.Value = starlark.String("5m")
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "window?", &window); err != nil {
			return nil, err
		}
		w, err := windowArg(window)
		if err != nil {
			return nil, fmt.Errorf("series: %v", err)
		}
		pts := s.Series(name, w)
		vals := make([]starlark.Value, len(pts))
		for i, p := range pts {
			vals[i] = starlark.Float(p.Value)
		}
		return starlark.NewList(vals), nil
	})
	ctx := &attrs{what: "ctx", m: map[string]starlark.Value{
		"tick":         starlark.MakeInt(s.Tick),
		"time":         starlark.Float(s.Now.Seconds()),
		"interval":     starlark.Float(s.interval().Seconds()),
		"rate":         starlark.Float(in.Rate),
		"planned_rate": starlark.Float(s.Phase.PlannedRate),
		"mix":          floatMapDict(in.Mix),
		"shed":         floatMapDict(in.Shed),
		"envelope":     &attrs{what: "envelope", m: envm},
		"metrics":      &attrs{what: "metrics", m: metrics, orNone: true},
		"staleness":    &attrs{what: "staleness", m: staleness, orNone: true},
		"predictions":  &attrs{what: "predictions", m: preds, orNone: true},
		"phase":        phase,
		"sent":         floatSeq(s.Sent),
		"intents":      intentList(s),
		"series":       series,
		"params":       params,
	}}
	ctx.Freeze() // a script cannot change what the next call sees
	return ctx
}

// intentList is ctx.intents: the plan's intents as frozen structs, in
// time order, with in_seconds counted from now (negative once past).
func intentList(s *Snapshot) *starlark.List {
	if len(s.Intents) == 0 {
		return noIntents
	}
	ins := sortedByAt(s.Intents)
	vals := make([]starlark.Value, len(ins))
	for i, in := range ins {
		var metric starlark.Value = starlark.None
		if in.Metric != "" {
			metric = starlark.String(in.Metric)
		}
		vals[i] = starlarkstruct.FromStringDict(starlark.String("intent"), starlark.StringDict{
			"name": starlark.String(in.Name), "kind": starlark.String(in.Kind),
			"at": starlark.Float(in.At.Seconds()), "in_seconds": starlark.Float((in.At - s.Now).Seconds()),
			"metric": metric, "factor": starlark.Float(in.Factor),
		})
	}
	return starlark.NewList(vals)
}

// noIntents is ctx.intents of a plan without intents, shared: it is frozen.
var noIntents = func() *starlark.List { l := starlark.NewList(nil); l.Freeze(); return l }()

// windowArg accepts "5m"-style strings or a number of seconds.
func windowArg(v starlark.Value) (time.Duration, error) {
	if s, ok := starlark.AsString(v); ok {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("window %q: want a duration like \"5m\"", s)
		}
		return d, nil
	}
	if f, ok := starlark.AsFloat(v); ok && f > 0 && !math.IsInf(f, 0) {
		return time.Duration(f * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("window %s: want a duration like \"5m\" or seconds", v.String())
}

// floatSeq exposes a []float64 to Starlark as a read-only sequence without
// converting every element each tick.
type floatSeq []float64

var _ starlark.Indexable = floatSeq(nil)
var _ starlark.Iterable = floatSeq(nil)

func (f floatSeq) String() string {
	var b strings.Builder
	b.WriteString("[")
	for i, v := range f {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(starlark.Float(v).String())
	}
	b.WriteString("]")
	return b.String()
}
func (f floatSeq) Type() string               { return "list" }
func (f floatSeq) Freeze()                    {}
func (f floatSeq) Truth() starlark.Bool       { return len(f) > 0 }
func (f floatSeq) Hash() (uint32, error)      { return 0, fmt.Errorf("unhashable: list") }
func (f floatSeq) Len() int                   { return len(f) }
func (f floatSeq) Index(i int) starlark.Value { return starlark.Float(f[i]) }
func (f floatSeq) Iterate() starlark.Iterator { return &floatIter{f: f} }

type floatIter struct {
	f []float64
	i int
}

func (it *floatIter) Next(p *starlark.Value) bool {
	if it.i >= len(it.f) {
		return false
	}
	*p = starlark.Float(it.f[it.i])
	it.i++
	return true
}
func (it *floatIter) Done() {}

// toStarlark converts a parameter value (as shapers.Config documents) to a
// Starlark value.
func toStarlark(v any) (starlark.Value, error) {
	switch x := v.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(x), nil
	case string:
		return starlark.String(x), nil
	case time.Duration:
		return starlark.Float(x.Seconds()), nil
	case []string:
		l := make([]starlark.Value, len(x))
		for i, e := range x {
			l[i] = starlark.String(e)
		}
		return starlark.NewList(l), nil
	case []any:
		l := make([]starlark.Value, len(x))
		for i, e := range x {
			sv, err := toStarlark(e)
			if err != nil {
				return nil, err
			}
			l[i] = sv
		}
		return starlark.NewList(l), nil
	case map[string]float64:
		return floatMapDict(x), nil
	case map[string]any:
		d := starlark.NewDict(len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sv, err := toStarlark(x[k])
			if err != nil {
				return nil, err
			}
			_ = d.SetKey(starlark.String(k), sv)
		}
		return d, nil
	}
	if f, ok := toFloat(v); ok {
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return starlark.MakeInt64(int64(f)), nil
		}
		return starlark.Float(f), nil
	}
	return nil, fmt.Errorf("unsupported value %T", v)
}
