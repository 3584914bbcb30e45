// Package train is `loadshaper train`: it learns the policy of the
// `learned` shaping strategy (shapers.Policy) against simulated targets,
// never against a real one. The targets are the plan's own simulated
// target (fitted from its history as `loadshaper plan` fits it, else its
// simulate block) varied at random — capacity, the lag of the cpu
// reading, noise, a capacity that halves mid-episode — so the policy does
// not learn one run by heart; each episode is a short plan (a slow ramp, a
// fast ramp and hold, or a hold past capacity) run through the same control
// tick as a run (runtime/tick) and the dry-run's simulated engine.
//
// The search is the cross-entropy method over the policy's weights:
// every iteration draws candidates around the current mean, scores each on
// the same fresh scenarios, and moves the mean to the best. The reward of
// an episode is written down in spec/train.md: requests served as a
// fraction of what the target could serve, minus over_penalty per second
// (as a fraction of the episode) above the envelope, minus
// oscillation_penalty times the mean relative rate change per tick.
//
// It is deterministic for a seed (the workers score fixed candidates on
// fixed scenarios) and reads no clock.
package train

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/dryrun"
	"github.com/loadshaper/loadshaper/runtime/simtarget"
	"github.com/loadshaper/loadshaper/runtime/tick"
	"github.com/loadshaper/loadshaper/shapers"
	"github.com/loadshaper/loadshaper/stdlib"
)

// Options tune the training.
type Options struct {
	// Episodes is the budget of training episodes (default 3000): the
	// iterations are Episodes / (Population × Scenarios).
	Episodes int
	Seed     uint64
	// Model is the simulated target the scenarios vary; Source says where
	// it came from (dryrun.ChooseTarget).
	Model  simtarget.Model
	Source dryrun.Source
	// Shaper names the plan's learned shaper block (default: the first).
	Shaper string
	// Workers score candidates in parallel (default 2).
	Workers int
	// Log gets a line per iteration; nil = none.
	Log io.Writer
}

// The search's shape: candidates per iteration, scenarios each candidate
// is scored on per iteration, and the elite kept.
const (
	population = 16
	scenarios  = 6
	elite      = 4
	heldOut    = 24
)

// Report is the outcome of a training: the policy and how it got there.
type Report struct {
	Plan     string         `json:"plan"`
	Shaper   string         `json:"shaper"`
	Seed     uint64         `json:"seed"`
	Source   dryrun.Source  `json:"source"`
	Envelope shapers.Limits `json:"envelope"`
	// OverPenalty and OscillationPenalty are the reward's weights.
	OverPenalty        float64 `json:"over_penalty"`
	OscillationPenalty float64 `json:"oscillation_penalty"`
	Episodes           int     `json:"episodes"`
	// Curve is the reward per iteration: the mean of the candidates, the
	// best candidate, and the mean policy's.
	Curve  []Point        `json:"curve"`
	Policy shapers.Policy `json:"policy"`
	// HeldOut compares the learned policy with predictive_rate_limit and
	// the untrained default on scenarios never trained on.
	HeldOut []Comparison `json:"held_out"`
	Summary []Comparison `json:"summary"` // the held-out means, one row per strategy
}

// Point is one iteration of the search.
type Point struct {
	Iteration int     `json:"iteration"`
	Mean      float64 `json:"mean_reward"`
	Best      float64 `json:"best_reward"`
	Policy    float64 `json:"policy_reward"` // the mean policy on the iteration's scenarios
}

// Comparison is a strategy's score on held-out scenarios.
type Comparison struct {
	Scenario    string  `json:"scenario"`
	Strategy    string  `json:"strategy"`
	Reward      float64 `json:"reward"`
	Served      float64 `json:"served_fraction"` // of what the target could serve
	SecondsOver float64 `json:"seconds_over"`
	Oscillation float64 `json:"oscillation"`
}

// Train learns the policy of plan's learned shaper block.
func Train(plan *lang.Plan, o Options) (*Report, error) {
	blk, err := learnedBlock(plan, o.Shaper)
	if err != nil {
		return nil, err
	}
	env := envelopeOf(plan, blk)
	if len(env) == 0 {
		return nil, fmt.Errorf("shaper %q: the learned strategy needs an envelope", blk.Name)
	}
	if o.Episodes <= 0 {
		o.Episodes = 3000
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Model.Cores <= 0 {
		return nil, fmt.Errorf("train: no simulated target")
	}
	w := rewardWeights(blk)
	rep := &Report{Plan: plan.Name, Shaper: blk.Name, Seed: o.Seed, Source: o.Source, Envelope: env,
		OverPenalty: w.over, OscillationPenalty: w.osc}
	rng := rand.New(rand.NewPCG(o.Seed, 0x7261696e))
	def := shapers.DefaultPolicy()
	mean := append([]float64(nil), def.Weights...)
	std := make([]float64, len(mean))
	for i := range std {
		std[i] = 1
	}
	iters := max(1, o.Episodes/(population*scenarios))
	for it := 0; it < iters; it++ {
		scs := make([]scenario, scenarios)
		for i := range scs {
			scs[i] = newScenario(o.Model, rng.Uint64())
		}
		cands := make([][]float64, population)
		cands[0] = append([]float64(nil), mean...) // the mean itself competes
		for c := 1; c < population; c++ {
			cands[c] = make([]float64, len(mean))
			for i := range mean {
				cands[c][i] = mean[i] + std[i]*rng.NormFloat64()
			}
		}
		scores := make([]float64, population)
		parallel(o.Workers, population, func(c int) {
			p := def
			p.Weights = cands[c]
			s := 0.0
			for _, sc := range scs {
				s += episode(env, sc, learnedLinks(blk, env, p)).reward(w)
			}
			scores[c] = s / scenarios
		})
		rep.Episodes += population * scenarios
		order := make([]int, population)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
		pt := Point{Iteration: it + 1, Best: scores[order[0]], Policy: scores[0]}
		for _, s := range scores {
			pt.Mean += s / population
		}
		rep.Curve = append(rep.Curve, pt)
		// The new mean and spread are the elite's; the spread never
		// collapses entirely, so the search keeps looking.
		for i := range mean {
			m, v := 0.0, 0.0
			for _, c := range order[:elite] {
				m += cands[c][i] / elite
			}
			for _, c := range order[:elite] {
				v += (cands[c][i] - m) * (cands[c][i] - m) / elite
			}
			mean[i], std[i] = m, math.Max(math.Sqrt(v), 0.05)
		}
		if o.Log != nil {
			fmt.Fprintf(o.Log, "iteration %d/%d: reward mean %.3f, best %.3f, policy %.3f\n", it+1, iters, pt.Mean, pt.Best, pt.Policy)
		}
	}
	rep.Policy = def
	rep.Policy.Weights = mean
	rep.Policy.Trained = fmt.Sprintf("%d episodes against %s (seed %d), varied: capacity ×0.6–1.6, cpu window 1–8 s, noise 0–6%%, capacity halving in 30%% of episodes", rep.Episodes, o.Source.Kind, o.Seed)

	// Held out: scenarios from a seed stream training never drew from.
	hold := rand.New(rand.NewPCG(o.Seed^0x9e3779b97f4a7c15, 0x686f6c64))
	scs := make([]scenario, heldOut)
	for i := range scs {
		scs[i] = newScenario(o.Model, hold.Uint64())
	}
	strategies := []struct {
		name  string
		links func() ([][]shapers.Link, error)
	}{
		{"learned", func() ([][]shapers.Link, error) { return learnedLinks(blk, env, rep.Policy), nil }},
		{"predictive_rate_limit", func() ([][]shapers.Link, error) { return builtinLinks("predictive_rate_limit", env) }},
		{"learned (untrained default)", func() ([][]shapers.Link, error) { return learnedLinks(blk, env, shapers.DefaultPolicy()), nil }},
	}
	rows := make([]Comparison, len(strategies)*heldOut)
	var firstErr error
	var mu sync.Mutex
	parallel(o.Workers, len(rows), func(k int) {
		st, sc := strategies[k/heldOut], scs[k%heldOut]
		links, err := st.links()
		if err != nil {
			mu.Lock()
			firstErr = err
			mu.Unlock()
			return
		}
		res := episode(env, sc, links)
		rows[k] = Comparison{Scenario: sc.name, Strategy: st.name, Reward: res.reward(w), Served: res.served, SecondsOver: res.secondsOver, Oscillation: res.oscillation}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	rep.HeldOut = rows
	for si, st := range strategies {
		m := Comparison{Scenario: fmt.Sprintf("mean of %d held-out", heldOut), Strategy: st.name}
		for _, r := range rows[si*heldOut : (si+1)*heldOut] {
			m.Reward += r.Reward / heldOut
			m.Served += r.Served / heldOut
			m.SecondsOver += r.SecondsOver / heldOut
			m.Oscillation += r.Oscillation / heldOut
		}
		rep.Summary = append(rep.Summary, m)
	}
	return rep, nil
}

// parallel runs f(0..n-1) on workers goroutines.
func parallel(workers, n int, f func(int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				f(k)
			}
		}()
	}
	for k := 0; k < n; k++ {
		next <- k
	}
	close(next)
	wg.Wait()
}

// learnedBlock is the plan's learned shaper block named name (the first
// when name is "").
func learnedBlock(plan *lang.Plan, name string) (*lang.Shaper, error) {
	var names []string
	for _, s := range plan.Shapers {
		if s.Strategy != "learned" {
			continue
		}
		if name == "" || s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	if name != "" {
		return nil, fmt.Errorf("plan %q has no learned shaper %q (learned shapers: %s)", plan.Name, name, strings.Join(names, ", "))
	}
	return nil, fmt.Errorf(`plan %q has no shaper with strategy = "learned" to train`, plan.Name)
}

// envelopeOf is the envelope the block names, else the plan's first.
func envelopeOf(plan *lang.Plan, blk *lang.Shaper) shapers.Limits {
	for _, e := range plan.Envelopes {
		if e.Name == blk.Envelope {
			return tick.EnvelopeLimits(e)
		}
	}
	return tick.FirstEnvelope(plan)
}

// weights are the reward's weights, from the block's parameters.
type weights struct{ over, osc float64 }

func rewardWeights(blk *lang.Shaper) weights {
	var w weights
	for _, p := range stdlibParams("learned") {
		switch p.Name {
		case "over_penalty":
			w.over = p.Default.(float64)
		case "oscillation_penalty":
			w.osc = p.Default.(float64)
		}
	}
	if v, ok := blk.Params["over_penalty"]; ok && !v.IsNull() {
		w.over, _ = v.AsBigFloat().Float64()
	}
	if v, ok := blk.Params["oscillation_penalty"]; ok && !v.IsNull() {
		w.osc, _ = v.AsBigFloat().Float64()
	}
	return w
}

func stdlibParams(strategy string) []stdlib.Param {
	st, _ := stdlib.LookupStrategy(strategy)
	return st.Params
}

// learnedLinks is a one-phase chain of the learned strategy with policy p.
func learnedLinks(blk *lang.Shaper, env shapers.Limits, p shapers.Policy) [][]shapers.Link {
	sh, err := shapers.New(shapers.Config{Name: blk.Name, Strategy: "learned", Envelope: env, Tick: time.Second, Policy: &p})
	if err != nil {
		panic(err) // the default policy's shape is this build's own
	}
	return [][]shapers.Link{{{Name: blk.Name, Strategy: "learned", Shaper: sh, Envelope: env}}}
}

// builtinLinks is a one-phase chain of a built-in strategy at its defaults.
func builtinLinks(strategy string, env shapers.Limits) ([][]shapers.Link, error) {
	sh, err := shapers.New(shapers.Config{Name: strategy, Strategy: strategy, Envelope: env, Tick: time.Second})
	if err != nil {
		return nil, err
	}
	return [][]shapers.Link{{{Name: strategy, Strategy: strategy, Shaper: sh, Envelope: env}}}, nil
}
