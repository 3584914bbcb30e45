package history

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tidwall/buntdb"
)

// scanSeries reads a series from the tick records only: the reference the
// chunk index must agree with.
func scanSeries(t *testing.T, s *Store, run int, key string, from, to time.Time) []Point {
	var pts []Point
	err := s.Ticks(run, from, to, func(tk Tick) bool {
		if v, ok := tk.Metrics[key]; ok {
			pts = append(pts, Point{At: tk.At, Value: v})
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return pts
}

func samePoints(a, b []Point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].At.Equal(b[i].At) || a[i].Value != b[i].Value {
			return false
		}
	}
	return true
}

// Series through the one-minute chunks gives exactly what the tick
// records hold, for any window, whether the run finished, was cut short
// (the minute in progress is only in ticks), or recorded a tick out of
// order (the index is dropped).
func TestSeriesChunksAgreeWithTicks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := openTemp(t)
	start := time.Date(2026, 11, 27, 12, 0, 17, 250_000_000, time.UTC) // not on a minute
	for _, mode := range []string{"finished", "unfinished", "out-of-order"} {
		rec, err := s.Begin(Run{Plan: mode, Start: start})
		if err != nil {
			t.Fatal(err)
		}
		at := start
		for i := 0; i < 400; i++ {
			at = at.Add(time.Duration(500+rng.IntN(1500)) * time.Millisecond) // irregular ticks
			m := map[string]float64{"api/cpu": rng.Float64(), "api/mem": float64(i)}
			if i%7 == 0 {
				delete(m, "api/cpu") // stale this tick
			}
			if i%50 == 3 {
				m["api/rare"] = float64(i) // a series present in few minutes
			}
			tk := Tick{N: i, At: at, Metrics: m}
			if mode == "out-of-order" && i == 200 {
				tk.At = at.Add(-90 * time.Second)
			}
			if err := rec.Record(tk); err != nil {
				t.Fatal(err)
			}
		}
		if mode != "unfinished" {
			rec.Finish("passed", at)
		}
		id := rec.Run().ID
		var marker string
		s.db.View(func(tx *buntdb.Tx) error { marker, _ = tx.Get(chunkMarkerKey(id)); return nil })
		if (mode == "out-of-order") != (marker == "-1") || marker == "" {
			t.Fatalf("%s run: chunk marker %q", mode, marker)
		}
		windows := [][2]time.Time{{}, {start, at.Add(time.Second)}}
		for k := 0; k < 40; k++ {
			a := start.Add(time.Duration(rng.IntN(700_000)) * time.Millisecond)
			windows = append(windows, [2]time.Time{a, a.Add(time.Duration(rng.IntN(300_000)) * time.Millisecond)})
		}
		windows = append(windows, [2]time.Time{start.Truncate(time.Minute).Add(2 * time.Minute), start.Truncate(time.Minute).Add(4 * time.Minute)})
		for _, key := range []string{"cpu", "mem", "rare", "none"} {
			for _, w := range windows {
				got, err := s.Series(id, "api", key, w[0], w[1])
				if err != nil {
					t.Fatal(err)
				}
				want := scanSeries(t, s, id, "api/"+key, w[0], w[1])
				if !samePoints(got, want) {
					t.Fatalf("%s run, %s over %v: %d points, the ticks hold %d\n got %v\nwant %v", mode, key, w, len(got), len(want), fmt.Sprint(got), fmt.Sprint(want))
				}
			}
		}
	}
	// Deleting a run removes its chunks too.
	if err := s.DeleteRun(1); err != nil {
		t.Fatal(err)
	}
	if pts, _ := s.Series(1, "api", "mem", time.Time{}, time.Time{}); len(pts) != 0 {
		t.Errorf("deleted run still has %d points", len(pts))
	}
}
