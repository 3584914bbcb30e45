package history

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tidwall/buntdb"
	"github.com/tidwall/gjson"
)

// Point is one value of a series.
type Point struct {
	At    time.Time
	Value float64
}

// rangeKeys turns [from, to) into tick keys of a run; zero times mean
// unbounded.
func rangeKeys(run int, from, to time.Time) (string, string) {
	lo, hi := tickRunPrefix(run), tickRunPrefix(run)+"~"
	if !from.IsZero() {
		if from.UnixNano() > 0 {
			lo = tickKey(run, from)
		}
	}
	if !to.IsZero() {
		if to.UnixNano() <= 0 {
			hi = lo
		} else {
			hi = tickKey(run, to)
		}
	}
	return lo, hi
}

// Series returns one metric of one target in a run over [from, to), in
// time order. Zero from/to mean the start/end of the run. Ticks in which
// the metric was stale or missing are skipped.
func (s *Store) Series(run int, target, metric string, from, to time.Time) ([]Point, error) {
	key := SeriesKey(target, metric)
	path := "m." + escapePath(key)
	var pts []Point
	var bad error
	err := s.db.View(func(tx *buntdb.Tx) error {
		fromNS, toNS := int64(0), int64(math.MaxInt64)
		if !from.IsZero() {
			fromNS = max(0, from.UnixNano())
		}
		if !to.IsZero() {
			toNS = max(0, to.UnixNano())
		}
		var covered int64
		var err error
		if pts, covered, err = seriesFromChunks(tx, run, key, fromNS, toNS, pts); err != nil {
			return err
		}
		// The rest comes from the tick records.
		if covered > fromNS {
			from = time.Unix(0, covered)
		}
		if !to.IsZero() && covered >= toNS {
			return nil
		}
		lo, hi := rangeKeys(run, from, to)
		return tx.AscendRange("", lo, hi, func(k, v string) bool {
			// Only the "m" object is scanned, and only up to the key.
			val := gjson.Get(v, path)
			if val.Type != gjson.Number {
				return true
			}
			at, err := tickTime(k)
			if err != nil {
				bad = err
				return false
			}
			pts = append(pts, Point{At: at, Value: val.Num})
			return true
		})
	})
	if err == nil {
		err = bad
	}
	return pts, err
}

// Ticks calls fn for each tick of a run in [from, to), in time order,
// until fn returns false.
func (s *Store) Ticks(run int, from, to time.Time, fn func(Tick) bool) error {
	lo, hi := rangeKeys(run, from, to)
	var bad error
	err := s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendRange("", lo, hi, func(k, v string) bool {
			t, err := decodeTick(k, v)
			if err != nil {
				bad = err
				return false
			}
			return fn(t)
		})
	})
	if err == nil {
		err = bad
	}
	return err
}

// Stats summarises one series of a run.
type Stats struct {
	Count                     int
	Min, Mean, P95, Max, Last float64
	First, LastAt             time.Time
}

// Summary is what a run's ticks add up to: per-series statistics, the
// instruction's rate, and the decisions that changed something.
type Summary struct {
	Ticks       int
	First, Last time.Time
	Series      map[string]Stats // by SeriesKey
	Rate        Stats            // Instruction.Rate over the ticks that had one
	StaleTicks  map[string]int   // by SeriesKey: ticks in which it was stale
	Decisions   int              // decisions that changed the instruction
	LastChanges []DecisionRecord // up to 5 most recent changing decisions
	// Fallbacks are the shapers that failed in some tick and were replaced
	// by the safe built-in, in the order they first failed.
	Fallbacks []FallbackStats
}

// FallbackStats sums up one shaper's failures over a run.
type FallbackStats struct {
	Shaper    string
	Failed    int       // ticks it failed in
	Ticks     int       // ticks it ran in (had a decision)
	First     time.Time // the tick of its first failure
	LastError string    // the last failure's whole error
}

// Summarise reads a whole run and summarises it.
func (s *Store) Summarise(run int) (Summary, error) {
	sum := Summary{Series: map[string]Stats{}, StaleTicks: map[string]int{}}
	vals := map[string][]float64{}
	var rates []float64
	err := s.Ticks(run, time.Time{}, time.Time{}, func(t Tick) bool {
		if sum.Ticks == 0 {
			sum.First = t.At
		}
		sum.Ticks++
		sum.Last = t.At
		for k, v := range t.Metrics {
			vals[k] = append(vals[k], v)
			st := sum.Series[k]
			if st.Count == 0 {
				st.First = t.At
			}
			st.Count++
			st.LastAt = t.At
			st.Last = v
			sum.Series[k] = st
		}
		for _, k := range t.Stale {
			sum.StaleTicks[k]++
		}
		if t.Instruction != nil {
			rates = append(rates, t.Instruction.Rate)
		}
		for _, d := range t.Decisions {
			sum.countFallback(t.At, d)
			if d.Changed != "" {
				sum.Decisions++
				sum.LastChanges = append(sum.LastChanges, d)
				if len(sum.LastChanges) > 5 {
					sum.LastChanges = sum.LastChanges[1:]
				}
			}
		}
		return true
	})
	if err != nil {
		return sum, err
	}
	for k, v := range vals {
		st := sum.Series[k]
		fillStats(&st, v)
		sum.Series[k] = st
	}
	sum.Fallbacks = slices.DeleteFunc(sum.Fallbacks, func(f FallbackStats) bool { return f.Failed == 0 })
	if len(rates) > 0 {
		sum.Rate.Count = len(rates)
		sum.Rate.Last = rates[len(rates)-1]
		fillStats(&sum.Rate, rates)
	}
	return sum, nil
}

// countFallback adds one decision to its shaper's fallback figures.
func (sum *Summary) countFallback(at time.Time, d DecisionRecord) {
	i := slices.IndexFunc(sum.Fallbacks, func(f FallbackStats) bool { return f.Shaper == d.Shaper })
	if i < 0 {
		sum.Fallbacks = append(sum.Fallbacks, FallbackStats{Shaper: d.Shaper})
		i = len(sum.Fallbacks) - 1
	}
	f := &sum.Fallbacks[i]
	f.Ticks++
	if d.Fallback {
		if f.Failed == 0 {
			f.First = at
		}
		f.Failed++
		f.LastError = d.Error
	}
}

func fillStats(st *Stats, v []float64) {
	sorted := append([]float64(nil), v...)
	sort.Float64s(sorted)
	total := 0.0
	for _, x := range v {
		total += x
	}
	st.Min, st.Max = sorted[0], sorted[len(sorted)-1]
	st.Mean = total / float64(len(v))
	// Nearest-rank percentile: an observed value, not an interpolation.
	st.P95 = sorted[int(math.Ceil(0.95*float64(len(sorted))))-1]
}

// SeriesNames lists the series keys a run recorded, sorted.
func (s *Store) SeriesNames(run int) ([]string, error) {
	seen := map[string]bool{}
	err := s.Ticks(run, time.Time{}, time.Time{}, func(t Tick) bool {
		for k := range t.Metrics {
			seen[k] = true
		}
		for _, k := range t.Stale {
			seen[k] = true
		}
		return true
	})
	names := make([]string, 0, len(seen))
	for k := range seen {
		names = append(names, k)
	}
	sort.Strings(names)
	if err != nil {
		return nil, fmt.Errorf("history: run %d: %w", run, err)
	}
	return names, nil
}

// escapePath quotes a series key for a gjson path: every character that
// means something in a path gets a backslash.
func escapePath(k string) string {
	var b strings.Builder
	for _, c := range k {
		if strings.ContainsRune(`\.*?|#@!=<>%"[]{}(),: `, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
