package dryrun

import (
	"fmt"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/simtarget"
	"github.com/loadshaper/loadshaper/runtime/tick"
)

// FromSimulate is the simulated target of a plan without usable history:
// its simulate block, or the documented defaults when it has none.
func FromSimulate(plan *lang.Plan) (simtarget.Model, Source, error) {
	m, err := simtarget.FromSimulate(plan.Simulate)
	if err != nil {
		return m, Source{}, err
	}
	src := Source{Kind: "simulate", Detail: "no history of this plan"}
	if plan.Simulate == nil {
		src = Source{Kind: "default", Detail: fmt.Sprintf("no history of this plan and no simulate block: an illustrative target (1 core, %s per request); add a simulate block or run the plan once for real", simtarget.DefaultCost)}
	}
	adapt(plan, &m)
	return m, src, nil
}

// adapt fits a model to the plan around it: the client side as the
// engine sends (the target's timeout and connection pool, with the
// engine's defaults), the window of the cpu query (a rate() over 10s lags
// by that much), and the deployment intents (each request costs Change
// times as much from At on).
func adapt(plan *lang.Plan, m *simtarget.Model) {
	if len(plan.Targets) > 0 {
		t := plan.Targets[0]
		m.Timeout = engine.DefaultTimeout
		if t.Timeout > 0 {
			m.Timeout = t.Timeout
		}
		// One generator per target, each with its own pool; the simulated
		// target takes the whole rate, so it sees all the pools.
		m.MaxConnections = 0
		for _, t := range plan.Targets {
			if t.MaxConnections > 0 {
				m.MaxConnections += t.MaxConnections
			} else {
				m.MaxConnections += engine.DefaultConnections
			}
		}
		for _, src := range t.Metrics {
			if w := tick.QueryWindow(src.Queries["cpu"]); w > 0 {
				m.CPUWindow = w
			}
		}
	}
	m.CostChanges = nil
	for _, in := range plan.Intents {
		if in.Kind == "deployment" && in.Change > 0 && (in.Metric == "" || in.Metric == "cpu") {
			m.CostChanges = append(m.CostChanges, simtarget.CostChange{At: in.At, Factor: in.Change})
		}
	}
}

// Predict chooses the simulated target and runs the dry-run.
func Predict(plan *lang.Plan, seed int64, o SourceOptions) (*Report, error) {
	m, src, err := ChooseTarget(plan, o)
	if err != nil {
		return nil, err
	}
	return Run(plan, Options{Seed: seed, Model: m, Source: src})
}
