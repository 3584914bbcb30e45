// Package starlib owns the Starlark side of loadshaper's standard library:
// the predeclared names every rule script sees (the `decision` builtin and
// the `forecast`, `stats` and `envelope` modules) and the sandbox every
// script runs in (no load(), a step budget, a deadline).
//
// Like stdlib it may import predictors only. lang uses it to compile and
// check scripts; shapers uses it to run them.
package starlib

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

var (
	modulesMu sync.Mutex
	modules   = map[string]*starlarkstruct.Module{}
)

// registerModule adds a module to the universe. Each module file calls it
// from init.
func registerModule(m *starlarkstruct.Module) {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	if _, dup := modules[m.Name]; dup {
		panic("starlib: duplicate module " + m.Name)
	}
	m.Members.Freeze()
	modules[m.Name] = m
}

// Universe returns the predeclared names of a rule script: the modules and
// the builtins. The values are frozen and may be shared between threads.
func Universe() starlark.StringDict {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	u := starlark.StringDict{
		"decision": starlark.NewBuiltin("decision", decisionBuiltin),
		"struct":   starlark.NewBuiltin("struct", starlarkstruct.Make),
	}
	for name, m := range modules {
		u[name] = m
	}
	u.Freeze()
	return u
}

// UniverseNames lists the predeclared names, sorted, for documentation and
// "did you mean" suggestions.
func UniverseNames() []string {
	u := Universe()
	names := make([]string, 0, len(u))
	for n := range u {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// FileOptions are the dialect rule scripts are written in: Starlark with
// sets, while/recursion off (a step budget bounds loops anyway), no
// top-level reassignment surprises.
var FileOptions = &syntax.FileOptions{Set: true, GlobalReassign: false, TopLevelControl: true}

// decisionFields are the keyword arguments decision() accepts.
var decisionFields = []string{"rate", "mix", "shed", "reason", "prediction"}

// decisionBuiltin builds the value a shape() call returns:
// decision(rate = ..., mix = {...}, shed = {...}, reason = "...", prediction = "...").
func decisionBuiltin(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		rate       starlark.Value = starlark.None
		mix        starlark.Value = starlark.None
		shed       starlark.Value = starlark.None
		reason     string
		prediction string
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs,
		"rate?", &rate, "mix?", &mix, "shed?", &shed, "reason?", &reason, "prediction?", &prediction); err != nil {
		return nil, err
	}
	if rate != starlark.None {
		f, ok := starlark.AsFloat(rate)
		if !ok {
			return nil, fmt.Errorf("decision: rate must be a number, got %s", rate.Type())
		}
		if f < 0 || f != f {
			return nil, fmt.Errorf("decision: rate must be a non-negative number, got %v", f)
		}
	}
	for _, kv := range []struct {
		name string
		v    starlark.Value
	}{{"mix", mix}, {"shed", shed}} {
		if kv.v == starlark.None {
			continue
		}
		if _, ok := kv.v.(*starlark.Dict); !ok {
			return nil, fmt.Errorf("decision: %s must be a dict, got %s", kv.name, kv.v.Type())
		}
	}
	return starlarkstruct.FromStringDict(starlark.String("decision"), starlark.StringDict{
		"rate":       rate,
		"mix":        mix,
		"shed":       shed,
		"reason":     starlark.String(reason),
		"prediction": starlark.String(prediction),
	}), nil
}

// DecisionFields lists the keyword arguments of decision(), for the spec.
func DecisionFields() []string { return append([]string(nil), decisionFields...) }

// Limits bound one call into a script.
type Limits struct {
	MaxSteps uint64        // Starlark computation steps; default 1e6
	Deadline time.Duration // wall-clock limit; default 100ms
}

func (l Limits) withDefaults() Limits {
	if l.MaxSteps == 0 {
		l.MaxSteps = 1_000_000
	}
	if l.Deadline == 0 {
		l.Deadline = 100 * time.Millisecond
	}
	return l
}

// NewThread returns a sandboxed thread: load() is refused, print goes to
// the given function (nil discards it), and the step budget is set. The
// caller arms the deadline with Guard.
func NewThread(name string, l Limits, print func(msg string)) *starlark.Thread {
	l = l.withDefaults()
	th := &starlark.Thread{
		Name: name,
		Load: func(_ *starlark.Thread, module string) (starlark.StringDict, error) {
			return nil, fmt.Errorf("load(%q): rule scripts cannot load other files; the modules forecast, stats and envelope are predeclared", module)
		},
		Print: func(_ *starlark.Thread, msg string) {
			if print != nil {
				print(msg)
			}
		},
	}
	th.SetMaxExecutionSteps(l.MaxSteps)
	return th
}

// Guard cancels th when the deadline passes; call the returned stop func
// when the call returns.
func Guard(th *starlark.Thread, l Limits) (stop func()) {
	l = l.withDefaults()
	t := time.AfterFunc(l.Deadline, func() { th.Cancel(fmt.Sprintf("deadline of %s exceeded", l.Deadline)) })
	return func() { t.Stop() }
}

// Call runs fn(args...) in a fresh sandboxed thread within limits.
func Call(name string, fn starlark.Callable, args starlark.Tuple, l Limits) (starlark.Value, error) {
	th := NewThread(name, l, nil)
	stop := Guard(th, l)
	defer stop()
	return starlark.Call(th, fn, args, nil)
}
