package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/loadshaper/loadshaper/shapers"
	"github.com/tidwall/buntdb"
)

// SeriesKey names one series in Tick.Metrics: the target and the metric,
// joined by a slash ("api/cpu"). Client-side figures use the generator's
// target ("api/latency_p99").
func SeriesKey(target, metric string) string { return target + "/" + metric }

// SplitSeriesKey is the inverse of SeriesKey; a key without a slash has an
// empty target.
func SplitSeriesKey(k string) (target, metric string) {
	if i := strings.IndexByte(k, '/'); i >= 0 {
		return k[:i], k[i+1:]
	}
	return "", k
}

// Tick is what one control tick recorded.
type Tick struct {
	N     int       // tick number within the run, from 0
	At    time.Time // wall time of the tick; the record's key
	Phase string
	// Metrics holds every fresh metric, keyed by SeriesKey. Values are
	// stored exactly (shortest round-trip decimal). Non-finite values are
	// recorded as missing.
	Metrics map[string]float64
	// Stale lists the series that were stale this tick (absent from Metrics).
	Stale       []string
	Instruction *InstructionRecord
	Decisions   []DecisionRecord
}

// InstructionRecord is the instruction sent to the generators, as plain
// numbers and maps (the shapers.Instruction of that tick).
type InstructionRecord struct {
	Rate         float64            `json:"rate"`
	Concurrency  int                `json:"concurrency,omitempty"`
	Mix          map[string]float64 `json:"mix,omitempty"`
	Shed         map[string]float64 `json:"shed,omitempty"`
	Distribution map[string]float64 `json:"distribution,omitempty"`
	Chaos        []string           `json:"chaos,omitempty"` // kinds in force
}

// DecisionRecord is one shaper's decision in a tick (a shapers.Decision).
type DecisionRecord struct {
	Shaper     string  `json:"shaper"`
	Strategy   string  `json:"strategy,omitempty"`
	Changed    string  `json:"changed,omitempty"`
	Reason     string  `json:"reason,omitempty"`
	Prediction string  `json:"prediction,omitempty"`
	RateBefore float64 `json:"rate_before"`
	RateAfter  float64 `json:"rate_after"`
	Fallback   bool    `json:"fallback,omitempty"`
	// Error is why a fallback happened: the shaper's whole error, with the
	// rule's file:line:col and backtrace for a Starlark rule.
	Error string `json:"error,omitempty"`
}

// FromInstruction converts the instruction of a tick for recording.
func FromInstruction(in shapers.Instruction) *InstructionRecord {
	r := &InstructionRecord{
		Rate: in.Rate, Concurrency: in.Concurrency,
		Mix: in.Mix, Shed: in.Shed, Distribution: in.Distribution,
	}
	for _, c := range in.Chaos {
		r.Chaos = append(r.Chaos, c.Kind)
	}
	return r
}

// FromDecisions converts a tick's decisions for recording.
func FromDecisions(ds []shapers.Decision) []DecisionRecord {
	out := make([]DecisionRecord, 0, len(ds))
	for _, d := range ds {
		out = append(out, DecisionRecord{
			Shaper: d.Shaper, Strategy: d.Strategy, Changed: d.Changed, Reason: d.Reason,
			Prediction: d.Prediction, RateBefore: d.RateBefore, RateAfter: d.RateAfter, Fallback: d.Fallback, Error: d.Error,
		})
	}
	return out
}

// tickJSON is the stored form of a Tick. Metrics come first so that a
// range query can pick one series out of each record without decoding
// the rest.
type tickJSON struct {
	Metrics     map[string]float64 `json:"m"`
	N           int                `json:"n"`
	Phase       string             `json:"p,omitempty"`
	Stale       []string           `json:"s,omitempty"`
	Instruction *InstructionRecord `json:"i,omitempty"`
	Decisions   []DecisionRecord   `json:"d,omitempty"`
}

func encodeTick(t Tick) (string, error) {
	m, dropped := finite(t.Metrics)
	stale := t.Stale
	if len(dropped) > 0 {
		stale = append(append([]string(nil), stale...), dropped...)
		sort.Strings(stale)
	}
	b, err := json.Marshal(tickJSON{Metrics: m, N: t.N, Phase: t.Phase, Stale: stale, Instruction: t.Instruction, Decisions: t.Decisions})
	return string(b), err
}

// finite returns m without its NaN and infinite values (JSON has no such
// numbers), copying only when there is something to drop.
func finite(m map[string]float64) (map[string]float64, []string) {
	if m == nil {
		return map[string]float64{}, nil
	}
	clean := true
	for _, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			clean = false
			break
		}
	}
	if clean {
		return m, nil
	}
	out := make(map[string]float64, len(m))
	var dropped []string
	for k, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			dropped = append(dropped, k)
			continue
		}
		out[k] = v
	}
	return out, dropped
}

func decodeTick(key, val string) (Tick, error) {
	var j tickJSON
	if err := json.Unmarshal([]byte(val), &j); err != nil {
		return Tick{}, fmt.Errorf("history: %s: %w", key, err)
	}
	at, err := tickTime(key)
	if err != nil {
		return Tick{}, err
	}
	return Tick{N: j.N, At: at, Phase: j.Phase, Metrics: j.Metrics, Stale: j.Stale, Instruction: j.Instruction, Decisions: j.Decisions}, nil
}

func tickTime(key string) (time.Time, error) {
	i := strings.LastIndexByte(key, ':')
	var ns int64
	if _, err := fmt.Sscanf(key[i+1:], "%d", &ns); err != nil || i < 0 {
		return time.Time{}, fmt.Errorf("history: bad tick key %q", key)
	}
	return time.Unix(0, ns).UTC(), nil
}

// Recorder writes one run's ticks. Create it with Store.Begin, call Record
// once per tick and Finish at the end. It is safe for concurrent use.
type Recorder struct {
	s     *Store
	mu    sync.Mutex
	run   Run
	ticks int
	done  bool
	chunk chunker
}

// Begin records the start of a run and returns its recorder. Fill the Run
// with RunFromPlan; its ID is assigned here.
func (s *Store) Begin(r Run) (*Recorder, error) {
	if r.Kind == "" {
		r.Kind = KindRun
	}
	if r.Start.IsZero() {
		r.Start = time.Now()
	}
	r.Start = r.Start.UTC()
	if r.PID == 0 {
		r.PID = os.Getpid()
	}
	if r.Host == "" {
		r.Host, _ = os.Hostname()
	}
	r.End, r.Outcome, r.Ticks = time.Time{}, "", 0
	if err := s.writable(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.db.Update(func(tx *buntdb.Tx) error { return s.newRun(tx, &r) }); err != nil {
		return nil, fmt.Errorf("history: begin run: %w", err)
	}
	return &Recorder{s: s, run: r, chunk: newChunker()}, nil
}

// Run is the run being recorded (with its assigned ID).
func (r *Recorder) Run() Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.run
}

// Record appends one tick. When it returns nil the tick is in the file: a
// killed process keeps it.
func (r *Recorder) Record(t Tick) error {
	if t.At.IsZero() {
		return errors.New("history: tick without a time")
	}
	if t.At.UnixNano() < 0 {
		return fmt.Errorf("history: tick time %s is before 1970", t.At)
	}
	val, err := encodeTick(t)
	if err != nil {
		return fmt.Errorf("history: tick %d: %w", t.N, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return errors.New("history: run already finished")
	}
	err = r.s.db.Update(func(tx *buntdb.Tx) error {
		if _, _, err := tx.Set(tickKey(r.run.ID, t.At), val, nil); err != nil {
			return err
		}
		return r.chunk.add(tx, r.run.ID, t.At, t.Metrics)
	})
	if err != nil {
		return fmt.Errorf("history: tick %d: %w", t.N, err)
	}
	r.ticks++
	return nil
}

// Finish records the end and outcome of the run (e.g. "passed",
// "thresholds_failed", "aborted", "interrupted", "error").
func (r *Recorder) Finish(outcome string, end time.Time) error {
	if outcome == "" {
		return errors.New("history: finish needs an outcome")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return errors.New("history: run already finished")
	}
	r.run.End, r.run.Outcome, r.run.Ticks = end.UTC(), outcome, r.ticks
	err := r.s.db.Update(func(tx *buntdb.Tx) error {
		if err := r.chunk.flush(tx, r.run.ID); err != nil {
			return err
		}
		return putRun(tx, &r.run)
	})
	if err != nil {
		return fmt.Errorf("history: finish run %d: %w", r.run.ID, err)
	}
	r.done = true
	return nil
}
