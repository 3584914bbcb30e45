package history

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/buntdb"
)

// timestamp layouts accepted by ImportCSV, tried in order; all are read
// as UTC unless they carry a zone.
var importLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

func parseTimestamp(s string) (time.Time, error) {
	for _, l := range importLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	// Unix seconds, possibly fractional.
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("unrecognised timestamp %q (want RFC 3339, \"2006-01-02 15:04:05\" or unix seconds)", s)
}

// ImportCSV records an external series as a run of kind import: a
// `timestamp,value` CSV (a header row is optional), one tick per row, the
// values exactly as given. source names the file in the run record.
func (s *Store) ImportCSV(r io.Reader, source, target, metric string, now time.Time) (Run, error) {
	if err := s.writable(); err != nil {
		return Run{}, err
	}
	if target == "" || metric == "" {
		return Run{}, errors.New("history: import needs a target and a metric name")
	}
	if strings.Contains(target, "/") {
		return Run{}, fmt.Errorf("history: target name %q must not contain '/'", target)
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	type row struct {
		at time.Time
		v  float64
	}
	var rows []row
	line, rounded := 0, 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			return Run{}, fmt.Errorf("history: %s: %w", source, err)
		}
		if len(rec) < 2 {
			return Run{}, fmt.Errorf("history: %s:%d: want timestamp,value, got %d field(s)", source, line, len(rec))
		}
		ts, vs := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if line == 1 && strings.EqualFold(ts, "timestamp") {
			continue // header
		}
		at, err := parseTimestamp(ts)
		if err != nil {
			return Run{}, fmt.Errorf("history: %s:%d: %v", source, line, err)
		}
		v, err := strconv.ParseFloat(vs, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return Run{}, fmt.Errorf("history: %s:%d: value %q is not a finite number", source, line, vs)
		}
		if !exactDecimal(vs, v) {
			rounded++
		}
		rows = append(rows, row{at, v})
	}
	if len(rows) == 0 {
		return Run{}, fmt.Errorf("history: %s: no rows to import", source)
	}
	// Rows may come in any order. Rows that repeat a timestamp (real data
	// has them: a daylight-saving hour collapsed onto one time) are all
	// kept, in file order, each 1 ns after the previous one, since a run
	// holds one tick per instant.
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].at.Before(rows[j].at) })
	shifted := 0
	for i := 1; i < len(rows); i++ {
		if !rows[i].at.After(rows[i-1].at) {
			rows[i].at = rows[i-1].at.Add(time.Nanosecond)
			shifted++
		}
	}
	run := Run{Kind: KindImport, Plan: target, Source: source, Start: now.UTC(), End: now.UTC(), Outcome: "imported",
		Ticks: len(rows), Rounded: rounded, Shifted: shifted, PID: os.Getpid()}
	run.Host, _ = os.Hostname()
	key := SeriesKey(target, metric)
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.db.Update(func(tx *buntdb.Tx) error {
		if err := s.newRun(tx, &run); err != nil {
			return err
		}
		for i, rw := range rows {
			val, err := encodeTick(Tick{N: i, Metrics: map[string]float64{key: rw.v}})
			if err != nil {
				return err
			}
			if _, _, err := tx.Set(tickKey(run.ID, rw.at), val, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Run{}, fmt.Errorf("history: import %s: %w", source, err)
	}
	return run, nil
}

// FormatValue writes a value the way export does: the shortest decimal
// that reads back as the same float64.
func FormatValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// ExportCSV writes a run as CSV: time (RFC 3339, UTC), tick, the
// instruction's rate, then one column per series; empty cells are stale or
// missing values.
func (s *Store) ExportCSV(run int, w io.Writer) error {
	if _, err := s.Run(run); err != nil {
		return err
	}
	names, err := s.SeriesNames(run)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(append([]string{"time", "tick", "rate"}, names...)); err != nil {
		return err
	}
	rec := make([]string, 3+len(names))
	var werr error
	err = s.Ticks(run, time.Time{}, time.Time{}, func(t Tick) bool {
		rec[0] = t.At.Format(time.RFC3339Nano)
		rec[1] = strconv.Itoa(t.N)
		rec[2] = ""
		if t.Instruction != nil {
			rec[2] = FormatValue(t.Instruction.Rate)
		}
		for i, n := range names {
			rec[3+i] = ""
			if v, ok := t.Metrics[n]; ok {
				rec[3+i] = FormatValue(v)
			}
		}
		werr = cw.Write(rec)
		return werr == nil
	})
	if err == nil {
		err = werr
	}
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return err
}

// exportTick is a tick in JSON exports.
type exportTick struct {
	At          time.Time          `json:"at"`
	N           int                `json:"tick"`
	Phase       string             `json:"phase,omitempty"`
	Metrics     map[string]float64 `json:"metrics"`
	Stale       []string           `json:"stale,omitempty"`
	Instruction *InstructionRecord `json:"instruction,omitempty"`
	Decisions   []DecisionRecord   `json:"decisions,omitempty"`
}

// ExportJSON writes a run as one JSON document: {"run": {...}, "ticks": [...]}.
// Ticks are streamed, so a long run does not have to fit in memory twice.
func (s *Store) ExportJSON(run int, w io.Writer) error {
	r, err := s.Run(run)
	if err != nil {
		return err
	}
	head, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "{\"run\":%s,\"ticks\":[", head); err != nil {
		return err
	}
	first := true
	var werr error
	err = s.Ticks(run, time.Time{}, time.Time{}, func(t Tick) bool {
		b, err := json.Marshal(exportTick{At: t.At, N: t.N, Phase: t.Phase, Metrics: t.Metrics, Stale: t.Stale, Instruction: t.Instruction, Decisions: t.Decisions})
		if err != nil {
			werr = err
			return false
		}
		if !first {
			if _, werr = io.WriteString(w, ",\n"); werr != nil {
				return false
			}
		} else {
			io.WriteString(w, "\n")
		}
		first = false
		_, werr = w.Write(b)
		return werr == nil
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n]}\n")
	return err
}

// exactDecimal reports whether v, written back in its shortest form, is
// the very number the text s gave: true for every decimal of up to 15
// significant digits ("0.132", "1.50"), false when s has more precision
// than a 64-bit float holds ("12345678901234567").
func exactDecimal(s string, v float64) bool {
	a, ok1 := new(big.Rat).SetString(s)
	b, ok2 := new(big.Rat).SetString(FormatValue(v))
	return ok1 && ok2 && a.Cmp(b) == 0
}
