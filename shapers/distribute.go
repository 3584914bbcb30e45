package shapers

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// distribute shifts the rate between generators (one per target) by their
// headroom: a hot target gets a smaller share, a cool one a larger, within
// min_share..max_share and at most max_shift per tick, so one noisy reading
// cannot swing the load.
//
// A deployment intent on an envelope metric (or on every metric) within
// distributeLookahead multiplies each target's live reading of it by its
// change: intents are not per target, so every target's metric per unit
// of load grows alike. That still changes the shares, not only the total:
// a hot target's headroom shrinks by more than a cool one's (1 − 1.5·0.6
// against 1 − 1.5·0.3), so load moves off it before the deployment. The
// total is not distribute's to change (the rate limiters before it in the
// chain see the intent too). A target's prediction ("<target>.<metric>")
// already carries the deployment (spec/shapers.md, predictors), so it is
// not multiplied again.

type distribute struct {
	env                       Limits
	gens                      []string
	minShare, maxShare, shift float64
	predicted                 bool
	share                     map[string]float64
}

func init() {
	Register("distribute", func(cfg Config, p Params) (Shaper, error) {
		d := &distribute{env: cfg.Envelope, gens: append([]string(nil), cfg.Generators...), minShare: p.Float("min_share"),
			maxShare: p.Float("max_share"), shift: p.Float("max_shift"), predicted: p.Bool("predicted")}
		sort.Strings(d.gens)
		return d, nil
	})
}

func (d *distribute) Validate() error {
	if n := float64(len(d.gens)); n > 0 && (d.minShare*n > 1 || d.maxShare*n < 1) {
		return fmt.Errorf("min_share %.2f and max_share %.2f cannot both hold for %d generators", d.minShare, d.maxShare, len(d.gens))
	}
	return nil
}

func (d *distribute) Shape(s *Snapshot, in Instruction) (Instruction, Decision, error) {
	gens := d.gens
	if len(gens) == 0 {
		for g := range s.Targets {
			gens = append(gens, g)
		}
		sort.Strings(gens)
	}
	if len(gens) < 2 {
		return in, Decision{}, nil
	}
	env := d.env
	if env == nil {
		env = s.Envelope
	}
	if d.share == nil {
		d.share = map[string]float64{}
		for _, g := range gens {
			d.share[g] = 1 / float64(len(gens))
			if v, ok := in.Distribution[g]; ok {
				d.share[g] = v
			}
		}
	}
	// Headroom per generator: 1 − the largest reading/limit of its target.
	head := map[string]float64{}
	hottest, hotVal := "", -1.0
	var deploys []Intent
	for _, g := range gens {
		p := 0.0
		known := false
		for _, m := range env.Names() {
			v, ok := 0.0, false
			if d.predicted {
				if pr, has := s.Predictions[g+"."+m]; has {
					v, ok = pr.Upper, true
				}
			}
			if !ok {
				if mt, has := s.Targets[g][m]; has && !mt.Stale && !math.IsNaN(mt.Value) {
					// A reading describes load up to Age+Window ago: a
					// deployment since then is not in it yet.
					f, ins := deployFactor(s.Intents, m, s.Now-mt.Age-mt.Window, s.Now+distributeLookahead)
					v, ok = mt.Value*f, true
					deploys = appendNew(deploys, ins)
				}
			}
			if ok && env[m] > 0 {
				p = math.Max(p, v/env[m])
				known = true
			}
		}
		if !known {
			continue
		}
		head[g] = math.Max(1-p, 0.01)
		if p > hotVal {
			hottest, hotVal = g, p
		}
	}
	if len(head) < 2 {
		return in, Decision{}, nil
	}
	// Wanted share ∝ current share × headroom, then bounds and step.
	want := map[string]float64{}
	sum := 0.0
	for _, g := range gens {
		h, ok := head[g]
		if !ok {
			h = 1
		}
		want[g] = d.share[g] * h
		sum += want[g]
	}
	var parts []string
	next := map[string]float64{}
	total := 0.0
	for _, g := range gens {
		w := want[g] / sum
		w = math.Min(math.Max(w, d.share[g]-d.shift), d.share[g]+d.shift)
		w = math.Min(math.Max(w, d.minShare), d.maxShare)
		next[g] = w
		total += w
	}
	// Normalise and re-apply the bounds until both hold (a few rounds do).
	for round := 0; round < 10; round++ {
		ok := true
		for _, g := range gens {
			w := next[g] / total
			c := math.Min(math.Max(w, d.minShare), d.maxShare)
			if math.Abs(c-w) > 1e-12 {
				ok = false
			}
			next[g] = c
		}
		total = 0
		for _, g := range gens {
			total += next[g]
		}
		if ok {
			break
		}
	}
	out := in
	out.Distribution = map[string]float64{}
	for _, g := range gens {
		w := next[g] / total
		if math.Abs(w-d.share[g]) >= 0.005 {
			parts = append(parts, fmt.Sprintf("%s %.0f%% -> %.0f%%", g, 100*d.share[g], 100*w))
		}
		d.share[g] = w
		out.Distribution[g] = w
	}
	dec := Decision{}
	if len(parts) > 0 {
		dec.Changed = "distribution " + strings.Join(parts, ", ")
		dec.Reason = fmt.Sprintf("%s is the hottest target (%.0f%% of its envelope)", hottest, 100*hotVal)
		if len(deploys) > 0 {
			dec.Reason += " after " + describeIntents(sortedByAt(deploys))
		}
	}
	return out, dec, nil
}

// distributeLookahead is how far ahead distribute takes deployment intents
// into account: predictive_rate_limit's default horizon, so both move
// before a deployment at about the same time.
const distributeLookahead = 30 * time.Second

// appendNew appends the intents of add not yet in to (by name).
func appendNew(to, add []Intent) []Intent {
	for _, in := range add {
		seen := false
		for _, x := range to {
			seen = seen || x.Name == in.Name
		}
		if !seen {
			to = append(to, in)
		}
	}
	return to
}
