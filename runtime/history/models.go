package history

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/predictors"
	"github.com/loadshaper/loadshaper/runtime/tick"
	"github.com/loadshaper/loadshaper/shapers"
	"github.com/tidwall/buntdb"
)

// The model store: what runs learnt of their targets, kept in the history
// file beside the runs so that the next run (and the dry-run) starts from
// it. A model is keyed by what it describes — the target's host, its
// configuration fingerprint and the request mix — and records the git
// commit it was learnt at, its age, its ticks of evidence, its fit error
// and the runs that fed it. Several models may share a key (a run whose
// stored model was contradicted saves its own beside it). Each Put is one
// buntdb transaction: a checkpoint survives a SIGKILL like a tick does.
// See spec/models.md.

// ModelKey says what a model describes.
type ModelKey struct {
	Target     string             `json:"target"`           // the target block's name (informative: renaming a block keeps its models)
	Host       string             `json:"host"`             // the target URL's host name, without the port
	TargetHash string             `json:"target_hash"`      // lang.Target.Hash: the block's settings
	Config     string             `json:"config"`           // lang.Target.Fingerprint: the config, or the block's hash
	Mix        map[string]float64 `json:"mix"`              // request name → share of the target's requests (the shares sum to 1)
	Commit     string             `json:"commit,omitempty"` // git commit of the plan when the model was learnt
}

// NewModelKey is the key of models of target t under a request mix (the
// weights of the requests sent to it, by name; they are normalised) and
// the plan's git commit.
func NewModelKey(t *lang.Target, mix map[string]float64, commit string) ModelKey {
	k := ModelKey{Target: t.Name, TargetHash: t.Hash(), Config: t.Fingerprint(), Mix: NormaliseMix(mix), Commit: commit}
	if u, err := url.Parse(t.URL); err == nil {
		k.Host = u.Hostname()
	}
	return k
}

// ModelKeyFor is the key of models of the plan's target named target,
// under the plan's request mix for it (the weights of every request sent
// to it; a request without a target goes to the first).
func ModelKeyFor(p *lang.Plan, target, commit string) (ModelKey, error) {
	for _, t := range p.Targets {
		if t.Name != target {
			continue
		}
		mix := map[string]float64{}
		for _, r := range p.Requests {
			rt := r.Target
			if rt == "" && len(p.Targets) > 0 {
				rt = p.Targets[0].Name
			}
			if rt == target {
				mix[r.Name] += r.Weight
			}
		}
		return NewModelKey(t, mix, commit), nil
	}
	return ModelKey{}, fmt.Errorf("history: the plan has no target %q", target)
}

// NormaliseMix scales weights to shares that sum to 1, dropping those not
// above 0; nil when none is.
func NormaliseMix(weights map[string]float64) map[string]float64 {
	sum := 0.0
	for _, w := range weights {
		if w > 0 && !math.IsInf(w, 0) {
			sum += w
		}
	}
	if sum == 0 {
		return nil
	}
	out := map[string]float64{}
	for n, w := range weights {
		if w > 0 && !math.IsInf(w, 0) {
			out[n] = w / sum
		}
	}
	return out
}

// MixHash identifies a mix: the names and their shares to four
// significant digits, so that weights 8:2 and 4:1 are one mix.
func MixHash(mix map[string]float64) string {
	names := make([]string, 0, len(mix))
	for n := range mix {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%s\x00", n, strconv.FormatFloat(mix[n], 'g', 4, 64))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// family is what models of the same system share, whatever the mix: the
// host and the config fingerprint, hashed.
func (k ModelKey) family() string {
	h := sha256.Sum256([]byte(k.Host + "\x00" + k.Config))
	return hex.EncodeToString(h[:8])
}

// match is what Latest looks up: the system and the mix.
func (k ModelKey) match() string { return k.family() + "-" + MixHash(NormaliseMix(k.Mix)) }

// Model is one stored model: its key, its record (age, evidence, fit
// error, the runs that fed it) and the models' states.
type Model struct {
	ID       int        `json:"id"`
	Key      ModelKey   `json:"key"`
	Match    string     `json:"match"`  // set by Put: the system and the mix, what Latest looks up
	Family   string     `json:"family"` // set by Put: the system, what LatestAnyMix looks up
	Created  time.Time  `json:"created"`
	Updated  time.Time  `json:"updated"`
	Ticks    int        `json:"ticks"`             // ticks of evidence behind it
	FitError float64    `json:"fit_error"`         // recent one-step error of its predictions, as a fraction of the limit
	Runs     []int      `json:"runs,omitempty"`    // the runs that fed it, oldest first
	From     int        `json:"from,omitempty"`    // the model it was warm-started from, if any
	Demoted  string     `json:"demoted,omitempty"` // why it no longer holds (a run contradicted it); Latest skips it
	State    ModelState `json:"state"`
}

// ModelState is what was learnt, per part of the run that learns.
type ModelState struct {
	Shapers     map[string]shapers.PredictiveState    `json:"shapers,omitempty"`     // by shaper block name
	ClassCosts  map[string]predictors.ClassCostsState `json:"class_costs,omitempty"` // by metric
	Forecasters map[string]tick.ForecasterState       `json:"forecasters,omitempty"` // by predictor block name (tick.Predictions.Forecasters)
	Capacity    map[string]predictors.Capacity        `json:"capacity,omitempty"`    // by metric
}

// Age is how long ago the model was last updated.
func (m Model) Age(now time.Time) time.Duration { return now.Sub(m.Updated) }

// Check restores every state the model holds, so a model that would not
// load is refused when it is stored (import) rather than when a run
// starts.
func (m Model) Check() error {
	var errs []error
	for n, s := range m.State.Shapers {
		if s.Version != shapers.PredictiveStateVersion {
			errs = append(errs, fmt.Errorf("shaper %s: state version %d: %w", n, s.Version, predictors.ErrStateVersion))
		}
		for metric, l := range s.Learnt.Lines {
			if _, err := predictors.RestoreResponseLine(l); err != nil {
				errs = append(errs, fmt.Errorf("shaper %s: %s: %w", n, metric, err))
			}
		}
	}
	for n, s := range m.State.ClassCosts {
		if _, err := predictors.RestoreClassCosts(s); err != nil {
			errs = append(errs, fmt.Errorf("class costs %s: %w", n, err))
		}
	}
	for n, s := range m.State.Forecasters {
		if s.Version != tick.ForecasterStateVersion {
			errs = append(errs, fmt.Errorf("forecaster %s: state version %d: %w", n, s.Version, predictors.ErrStateVersion))
			continue
		}
		if s.Model == nil {
			continue
		}
		if _, err := predictors.RestoreForecaster(*s.Model); err != nil {
			errs = append(errs, fmt.Errorf("forecaster %s: %w", n, err))
		}
	}
	for n, c := range m.State.Capacity {
		if _, err := predictors.RestoreCapacity(c); err != nil {
			errs = append(errs, fmt.Errorf("capacity %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// ErrNoModel is returned when no stored model matches.
var ErrNoModel = errors.New("no such model")

// Key layout of the model store (spec/models.md).
const (
	keyLastModel   = "meta:lastmodel"
	modelPrefix    = "model:"
	indexByMatch   = "models_by_match"
	indexByFamily  = "models_by_family"
	modelKeyFormat = "model:%08d"
)

func modelKey(id int) string { return fmt.Sprintf(modelKeyFormat, id) }

// Models is the model store of a history file.
type Models struct{ s *Store }

// Models returns the store's models.
func (s *Store) Models() Models { return Models{s} }

// modelIndexes are created when the store is opened (in memory, rebuilt
// from the file).
func createModelIndexes(db *buntdb.DB) error {
	if err := db.CreateIndex(indexByMatch, modelPrefix+"*", buntdb.IndexJSON("match")); err != nil {
		return err
	}
	return db.CreateIndex(indexByFamily, modelPrefix+"*", buntdb.IndexJSON("family"))
}

// Put stores m: a new model when m.ID is 0 (its id is assigned and set),
// else a checkpoint of model m.ID (replacing it). Created is kept (set to
// now for a new model), Updated is now. When Put returns nil the model is
// in the file: a killed process keeps it.
func (ms Models) Put(m *Model, now time.Time) error {
	if err := ms.s.writable(); err != nil {
		return err
	}
	if m.ID < 0 {
		return fmt.Errorf("history: model id %d", m.ID)
	}
	now = now.UTC()
	m.Key.Mix = NormaliseMix(m.Key.Mix)
	m.Match, m.Family = m.Key.match(), m.Key.family()
	if m.Created.IsZero() {
		m.Created = now
	}
	m.Updated = now
	ms.s.mu.Lock()
	defer ms.s.mu.Unlock()
	err := ms.s.db.Update(func(tx *buntdb.Tx) error {
		if m.ID == 0 {
			last := 0
			if v, err := tx.Get(keyLastModel); err == nil {
				last, _ = strconv.Atoi(v)
			} else if err != buntdb.ErrNotFound {
				return err
			}
			m.ID = last + 1
			if _, _, err := tx.Set(keyLastModel, strconv.Itoa(m.ID), nil); err != nil {
				return err
			}
		} else if _, err := tx.Get(modelKey(m.ID)); err == buntdb.ErrNotFound {
			return fmt.Errorf("model %d: %w", m.ID, ErrNoModel)
		} else if err != nil {
			return err
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		_, _, err = tx.Set(modelKey(m.ID), string(b), nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("history: put model: %w", err)
	}
	return nil
}

// Get returns one model.
func (ms Models) Get(id int) (Model, error) {
	var m Model
	err := ms.s.db.View(func(tx *buntdb.Tx) error {
		v, err := tx.Get(modelKey(id))
		if err == buntdb.ErrNotFound {
			return fmt.Errorf("history: model %d: %w", id, ErrNoModel)
		}
		if err != nil {
			return err
		}
		return json.Unmarshal([]byte(v), &m)
	})
	return m, err
}

// List returns every model, oldest id first.
func (ms Models) List() ([]Model, error) {
	var out []Model
	var bad error
	err := ms.s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendRange("", modelPrefix, "model;", func(k, v string) bool {
			var m Model
			if err := json.Unmarshal([]byte(v), &m); err != nil {
				bad = fmt.Errorf("history: %s: %w", k, err)
				return false
			}
			out = append(out, m)
			return true
		})
	})
	if err == nil {
		err = bad
	}
	return out, err
}

// Latest returns the most recently updated model that is not demoted and
// describes the same system under the same mix as k (host, config
// fingerprint and mix; the commit and the block's name may differ). The
// error wraps ErrNoModel when there is none.
func (ms Models) Latest(k ModelKey) (Model, error) {
	return ms.latest(indexByMatch, "match", k.match())
}

// LatestAnyMix is Latest under any mix: what a run whose mix is new can
// still use (per-class costs carry over to another mix; a line in the
// total rate does not).
func (ms Models) LatestAnyMix(k ModelKey) (Model, error) {
	return ms.latest(indexByFamily, "family", k.family())
}

func (ms Models) latest(index, field, value string) (Model, error) {
	pivot, err := json.Marshal(map[string]string{field: value})
	if err != nil {
		return Model{}, err
	}
	var best Model
	found := false
	var bad error
	err = ms.s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendEqual(index, string(pivot), func(k, v string) bool {
			var m Model
			if err := json.Unmarshal([]byte(v), &m); err != nil {
				bad = fmt.Errorf("history: %s: %w", k, err)
				return false
			}
			if m.Demoted == "" && (!found || m.Updated.After(best.Updated) || m.Updated.Equal(best.Updated) && m.ID > best.ID) {
				best, found = m, true
			}
			return true
		})
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return Model{}, err
	}
	if !found {
		return Model{}, fmt.Errorf("history: %w for this target, configuration and mix", ErrNoModel)
	}
	return best, nil
}

// Demote marks model id as no longer holding, with the reason: Latest
// skips it from now on, list and show still show it.
func (ms Models) Demote(id int, reason string, now time.Time) error {
	if strings.TrimSpace(reason) == "" {
		return errors.New("history: demote needs a reason")
	}
	m, err := ms.Get(id)
	if err != nil {
		return err
	}
	m.Demoted = reason
	return ms.Put(&m, now)
}

// Forget deletes model id.
func (ms Models) Forget(id int) error {
	if err := ms.s.writable(); err != nil {
		return err
	}
	return ms.s.db.Update(func(tx *buntdb.Tx) error {
		if _, err := tx.Delete(modelKey(id)); err == buntdb.ErrNotFound {
			return fmt.Errorf("history: model %d: %w", id, ErrNoModel)
		} else if err != nil {
			return err
		}
		return nil
	})
}

// ParseModelID reads a model id as users type it ("3" or "#3").
func ParseModelID(s string) (int, error) {
	id, err := strconv.Atoi(strings.TrimPrefix(s, "#"))
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("bad model id %q: want a positive number as `models list` shows", s)
	}
	return id, nil
}
