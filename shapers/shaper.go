package shapers

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/loadshaper/loadshaper/stdlib"
)

// Shaper changes the instruction of one tick. It returns the new
// instruction (a changed copy; in must not be modified) and a Decision that
// says what changed and why. An error makes the chain use the safe built-in
// for this tick instead, and say so.
//
// A Shaper keeps state between ticks (a limit, a model); the chain calls it
// from one goroutine at a time.
type Shaper interface {
	Shape(s *Snapshot, in Instruction) (Instruction, Decision, error)
}

// ShaperFunc adapts a function to Shaper.
type ShaperFunc func(s *Snapshot, in Instruction) (Instruction, Decision, error)

// Shape calls f.
func (f ShaperFunc) Shape(s *Snapshot, in Instruction) (Instruction, Decision, error) {
	return f(s, in)
}

// Validator is implemented by shapers that check their configuration as a
// whole after construction (beyond per-parameter checks).
type Validator interface{ Validate() error }

// Cleaner is implemented by shapers that hold something to release at the
// end of the run.
type Cleaner interface{ Cleanup() error }

// RequestClass describes one request of the plan's mix for shapers that
// reason per priority class.
type RequestClass struct {
	Name     string
	Priority string // one of stdlib.PriorityClasses
	Weight   float64
}

// Config is one shaper block as the runtime hands it over (the runtime
// translates lang.Shaper into it, so shapers never import lang).
type Config struct {
	Name     string // the block's name
	Strategy string // a registered strategy; "" when Source is set
	// Params are the block's parameters: float64, string, bool,
	// time.Duration, []string or map[string]float64 values (durations may
	// also be given as strings like "30s" or as seconds).
	Params   map[string]any
	Envelope Limits // the envelope the block names; nil = the plan's
	Tick     time.Duration
	Requests []RequestClass
	// Generators are the generator names (one per target), for distribute.
	Generators []string
	// Script is the script's path (for messages) and Source its text, for
	// a shaper block with script = "...".
	Script string
	Source []byte
	// MinDeadline raises a script's wall-clock deadline per call to at
	// least this (dry-runs, whose outcome must not depend on the load of
	// the machine they run on).
	MinDeadline time.Duration
	// Policy is the learned strategy's trained policy; nil = its default.
	Policy *Policy
}

// Strategy is a registered built-in: its declaration in stdlib (name,
// summary, parameters: the table lang checks plans against) and its
// constructor.
type Strategy struct {
	stdlib.Strategy
	// New builds a shaper from validated parameters.
	New func(cfg Config, p Params) (Shaper, error)
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Strategy{}
)

// Register adds the implementation of a built-in strategy declared in
// stdlib under the same name; its parameters are that declaration's. It is
// called from init and panics on an undeclared or duplicate name, a
// programming error.
func Register(name string, build func(cfg Config, p Params) (Shaper, error)) {
	decl, ok := stdlib.LookupStrategy(name)
	if !ok {
		panic("shapers: strategy " + name + " is not declared in stdlib")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("shapers: duplicate strategy " + name)
	}
	registry[name] = Strategy{Strategy: decl, New: build}
}

// Lookup returns the strategy registered under name.
func Lookup(name string) (Strategy, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	s, ok := registry[name]
	return s, ok
}

// Strategies returns every registered strategy, sorted by name.
func Strategies() []Strategy {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]Strategy, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// StrategyNames lists the registered strategy names, sorted.
func StrategyNames() []string {
	var names []string
	for _, s := range Strategies() {
		names = append(names, s.Name)
	}
	return names
}

// New builds the shaper of one block: a Starlark rule when cfg.Source is
// set, else the named built-in with its parameters validated, then the
// shaper's own Validate. Errors name the block and the parameter.
func New(cfg Config) (Shaper, error) {
	if cfg.Source != nil || cfg.Script != "" {
		return NewScript(cfg)
	}
	st, ok := Lookup(cfg.Strategy)
	if !ok {
		msg := fmt.Sprintf("shaper %q: unknown strategy %q", cfg.Name, cfg.Strategy)
		if s := suggest(cfg.Strategy, StrategyNames()); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, fmt.Errorf("%s (known: %s)", msg, strings.Join(StrategyNames(), ", "))
	}
	p, err := ValidateParams(st, cfg.Params)
	if err != nil {
		return nil, fmt.Errorf("shaper %q (%s): %w", cfg.Name, st.Name, err)
	}
	sh, err := st.New(cfg, p)
	if err != nil {
		return nil, fmt.Errorf("shaper %q (%s): %w", cfg.Name, st.Name, err)
	}
	if v, ok := sh.(Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, fmt.Errorf("shaper %q (%s): %w", cfg.Name, st.Name, err)
		}
	}
	return sh, nil
}

// Params are validated parameter values with defaults filled in.
type Params map[string]any

// Float returns a Number parameter.
func (p Params) Float(name string) float64 { f, _ := p[name].(float64); return f }

// Duration returns a Duration parameter.
func (p Params) Duration(name string) time.Duration { d, _ := p[name].(time.Duration); return d }

// String returns a String parameter.
func (p Params) String(name string) string { s, _ := p[name].(string); return s }

// Bool returns a Bool parameter.
func (p Params) Bool(name string) bool { b, _ := p[name].(bool); return b }

// Strings returns a ParamStrings parameter.
func (p Params) Strings(name string) []string { l, _ := p[name].([]string); return l }

// ValidateParams checks raw parameters against a strategy's declaration:
// unknown names (with a suggestion), missing required ones, kinds, ranges
// and options; it fills defaults. All problems are reported together.
func ValidateParams(st Strategy, raw map[string]any) (Params, error) {
	out := Params{}
	var errs []string
	known := map[string]stdlib.Param{}
	var names []string
	for _, pd := range st.Params {
		known[pd.Name] = pd
		names = append(names, pd.Name)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := known[k]; !ok {
			msg := fmt.Sprintf("unknown parameter %q", k)
			if s := suggest(k, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else if len(names) > 0 {
				msg += fmt.Sprintf(" (parameters: %s)", strings.Join(names, ", "))
			} else {
				msg += " (this strategy takes no parameters)"
			}
			errs = append(errs, msg)
		}
	}
	for _, pd := range st.Params {
		v, given := raw[pd.Name]
		if !given {
			if pd.Required {
				errs = append(errs, fmt.Sprintf("parameter %q is required", pd.Name))
			}
			if pd.Default != nil {
				out[pd.Name] = pd.Default
			}
			continue
		}
		cv, err := convertParam(pd, v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("parameter %q: %v", pd.Name, err))
			continue
		}
		out[pd.Name] = cv
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}

func convertParam(pd stdlib.Param, v any) (any, error) {
	bounded := pd.Min != 0 || pd.Max != 0
	switch pd.Kind {
	case stdlib.ParamNumber, stdlib.ParamRate, stdlib.ParamFraction, stdlib.ParamPositive, stdlib.ParamInt, stdlib.ParamSize:
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("want a number, got %T %v", v, v)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("want a finite number, got %v", f)
		}
		if err := kindBounds(pd.Kind, f); err != nil {
			return nil, err
		}
		if bounded && (f < pd.Min || f > pd.Max) {
			return nil, fmt.Errorf("%v is out of range [%v, %v]", f, pd.Min, pd.Max)
		}
		return f, nil
	case stdlib.ParamDuration:
		var d time.Duration
		switch x := v.(type) {
		case time.Duration:
			d = x
		case string:
			pd2, err := time.ParseDuration(x)
			if err != nil {
				return nil, fmt.Errorf("want a duration like \"30s\", got %q", x)
			}
			d = pd2
		default:
			f, ok := toFloat(v)
			if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("want a duration like \"30s\", got %T %v", v, v)
			}
			d = time.Duration(f * float64(time.Second))
		}
		if d < 0 {
			return nil, fmt.Errorf("want a non-negative duration, got %s", d)
		}
		if bounded && (d.Seconds() < pd.Min || d.Seconds() > pd.Max) {
			return nil, fmt.Errorf("%s is out of range [%vs, %vs]", d, pd.Min, pd.Max)
		}
		return d, nil
	case stdlib.ParamString, stdlib.ParamPriority, stdlib.ParamMetric:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %T %v", v, v)
		}
		options := pd.Options
		if pd.Kind == stdlib.ParamPriority {
			options = stdlib.PriorityClasses
		}
		if len(options) > 0 {
			for _, e := range options {
				if e == s {
					return s, nil
				}
			}
			return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(options, ", "))
		}
		return s, nil
	case stdlib.ParamBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want true or false, got %T %v", v, v)
		}
		return b, nil
	case stdlib.ParamStrings:
		switch x := v.(type) {
		case []string:
			return append([]string(nil), x...), nil
		case string:
			var out []string
			for _, f := range strings.Split(x, ",") {
				if f = strings.TrimSpace(f); f != "" {
					out = append(out, f)
				}
			}
			return out, nil
		case []any:
			out := make([]string, 0, len(x))
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("want a list of strings, got an element %T %v", e, e)
				}
				out = append(out, s)
			}
			return out, nil
		}
		return nil, fmt.Errorf("want a list of strings, got %T", v)
	}
	return nil, fmt.Errorf("unsupported parameter kind %v", pd.Kind)
}

// kindBounds checks what a kind of number implies, beyond the declared
// range: lang checks the same when it loads a plan.
func kindBounds(k stdlib.ParamKind, f float64) error {
	switch {
	case k == stdlib.ParamRate && f < 0, k == stdlib.ParamSize && f < 0:
		return fmt.Errorf("want a number >= 0, got %v", f)
	case k == stdlib.ParamFraction && (f < 0 || f > 1):
		return fmt.Errorf("want a fraction from 0 to 1, got %v", f)
	case k == stdlib.ParamPositive && f <= 0:
		return fmt.Errorf("want a number > 0, got %v", f)
	case k == stdlib.ParamInt && (f < 0 || f != math.Trunc(f)):
		return fmt.Errorf("want a whole number >= 0, got %v", f)
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

// suggest returns the closest name within edit distance 2, or "".
func suggest(name string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
