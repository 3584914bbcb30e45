package tick

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/shapers"
	"github.com/zclconf/go-cty/cty"
)

// Links builds the shapers a phase names, in chain order, from the plan's
// shaper blocks: the same shapers.New the runtime calls, so the dry-run
// runs the real strategies and Starlark rules, not a copy of them.
// A Starlark script is read from the path lang resolved when it loaded
// the plan.
func Links(plan *lang.Plan, phase *lang.Phase) ([]shapers.Link, error) {
	return links(plan, phase, 0)
}

// links is Links with a floor on every Starlark rule's deadline.
func links(plan *lang.Plan, phase *lang.Phase, minDeadline time.Duration) ([]shapers.Link, error) {
	byName := map[string]*lang.Shaper{}
	for _, s := range plan.Shapers {
		byName[s.Name] = s
	}
	envs := map[string]*lang.Envelope{}
	for _, e := range plan.Envelopes {
		envs[e.Name] = e
	}
	tick := plan.Settings.Tick
	var links []shapers.Link
	for _, name := range phase.Shapers {
		blk, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("phase names shaper %q, which the plan does not declare", name)
		}
		cfg := shapers.Config{Name: blk.Name, Strategy: blk.Strategy, Tick: tick, Requests: RequestClasses(plan), MinDeadline: minDeadline}
		for _, t := range plan.Targets {
			cfg.Generators = append(cfg.Generators, t.Name)
		}
		if blk.Envelope != "" {
			e, ok := envs[blk.Envelope]
			if !ok {
				return nil, fmt.Errorf("shaper %q names envelope %q, which the plan does not declare", blk.Name, blk.Envelope)
			}
			cfg.Envelope = EnvelopeLimits(e)
		}
		params, err := ctyParams(blk.Params)
		if err != nil {
			return nil, fmt.Errorf("shaper %q: %w", blk.Name, err)
		}
		cfg.Params = params
		strategy := blk.Strategy
		if blk.Strategy == "learned" {
			if cfg.Policy, err = policyFile(plan, params); err != nil {
				return nil, fmt.Errorf("shaper %q: %w", blk.Name, err)
			}
		}
		if blk.Script != "" {
			src, err := os.ReadFile(blk.Script)
			if err != nil {
				return nil, fmt.Errorf("shaper %q: %w", blk.Name, err)
			}
			cfg.Script, cfg.Source, strategy = blk.Script, src, "script"
			if blk.ScriptName != "" {
				cfg.Script = blk.ScriptName // errors name it as lint does
			}
			if blk.ScriptName != "" {
				cfg.Script = blk.ScriptName // errors name it as lint does
			}
		}
		sh, err := shapers.New(cfg)
		if err != nil {
			return nil, err
		}
		links = append(links, shapers.Link{Name: blk.Name, Strategy: strategy, Shaper: sh, Envelope: cfg.Envelope})
	}
	return links, nil
}

// policyFile reads the policy a learned shaper's `policy` parameter names,
// relative to the plan's directory; nil without one.
func policyFile(plan *lang.Plan, params map[string]any) (*shapers.Policy, error) {
	name, _ := params["policy"].(string)
	if name == "" {
		return nil, nil
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(plan.Dir, name)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	p, err := shapers.ParsePolicy(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &p, nil
}

// ctyParams turns a block's parameters into the plain Go values
// shapers.Config documents.
func ctyParams(in map[string]cty.Value) (map[string]any, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		g, err := ctyToGo(v)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", k, err)
		}
		out[k] = g
	}
	return out, nil
}

func ctyToGo(v cty.Value) (any, error) {
	if v.IsNull() || !v.IsKnown() {
		return nil, fmt.Errorf("no value")
	}
	t := v.Type()
	switch {
	case t == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f, nil
	case t == cty.String:
		return v.AsString(), nil
	case t == cty.Bool:
		return v.True(), nil
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		var out []any
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			g, err := ctyToGo(e)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			g, err := ctyToGo(e)
			if err != nil {
				return nil, err
			}
			out[k.AsString()] = g
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported value of type %s", t.FriendlyName())
}

// PhaseLinks builds every phase's chain with build (Links when nil). A
// shaper block named by several phases is one shaper for the whole run: its
// learnt models (a load-response line, a lag) carry over, so a hold after a
// ramp does not start learning again from nothing. Runs, dry-runs and the
// evaluation all build their chains here, so they agree.
func PhaseLinks(plan *lang.Plan, build func(*lang.Plan, *lang.Phase) ([]shapers.Link, error)) ([][]shapers.Link, error) {
	if build == nil {
		build = Links
	}
	built := map[string]shapers.Link{}
	out := make([][]shapers.Link, len(plan.Phases))
	for i, ph := range plan.Phases {
		ls, err := build(plan, ph)
		if err != nil {
			return nil, fmt.Errorf("phase %q: %w", ph.Name, err)
		}
		for j, lk := range ls {
			if prev, ok := built[lk.Name]; ok && prev.Strategy == lk.Strategy {
				ls[j].Shaper = prev.Shaper
			} else {
				built[lk.Name] = lk
			}
		}
		out[i] = ls
	}
	return out, nil
}
