package history

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func tick50(i int) Tick {
	m := make(map[string]float64, 50)
	for k := 0; k < 50; k++ {
		m[fmt.Sprintf("api/metric_%02d", k)] = float64(i%1000)*0.001 + float64(k)
	}
	return Tick{N: i, At: t0.Add(time.Duration(i) * time.Second), Phase: "ramp", Metrics: m,
		Instruction: &InstructionRecord{Rate: float64(100 + i%50), Mix: map[string]float64{"browse": 8, "checkout": 2}}}
}

func benchRecord(b *testing.B, sync Sync) {
	s, err := Open(filepath.Join(b.TempDir(), "history.db"), Options{Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rec, err := s.Begin(Run{Plan: "bench", Start: t0})
	if err != nil {
		b.Fatal(err)
	}
	ticks := make([]Tick, 1000)
	for i := range ticks {
		ticks[i] = tick50(i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := ticks[i%len(ticks)]
		t.At = t0.Add(time.Duration(i) * time.Second)
		if err := rec.Record(t); err != nil {
			b.Fatal(err)
		}
	}
}

// Recording one tick of 50 series (target: under 1 ms).
func BenchmarkRecordTick50(b *testing.B)              { benchRecord(b, SyncEverySecond) }
func BenchmarkRecordTick50SyncEveryTick(b *testing.B) { benchRecord(b, SyncEveryTick) }

// BenchmarkSeriesOneHourOf24h writes 24 h of 1 s ticks with 50 series
// (once; it takes about a minute), reports the file size, and measures a
// range query of one metric over one hour (target: under 20 ms, file under
// 500 MB). Gated because of its size: LOADSHAPER_BENCH_HISTORY=1 or
// `make bench-history`.
func BenchmarkSeriesOneHourOf24h(b *testing.B) {
	if os.Getenv("LOADSHAPER_BENCH_HISTORY") == "" {
		b.Skip("set LOADSHAPER_BENCH_HISTORY=1 (or run `make bench-history`) to write the 24 h history")
	}
	path := filepath.Join(b.TempDir(), "history.db")
	s, err := Open(path, Options{Sync: SyncNever})
	if err != nil {
		b.Fatal(err)
	}
	rec, err := s.Begin(Run{Plan: "day", Start: t0})
	if err != nil {
		b.Fatal(err)
	}
	const day = 24 * 3600
	for i := 0; i < day; i++ {
		if err := rec.Record(tick50(i)); err != nil {
			b.Fatal(err)
		}
	}
	rec.Finish("passed", t0.Add(day*time.Second))
	s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	s, err = Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	opened := time.Since(start)
	id := rec.Run().ID
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from := t0.Add(time.Duration(i%23) * time.Hour)
		pts, err := s.Series(id, "api", "metric_37", from, from.Add(time.Hour))
		if err != nil || len(pts) != 3600 {
			b.Fatalf("%d points, %v", len(pts), err)
		}
	}
	b.StopTimer()
	// After the loop: ResetTimer discards reported metrics.
	b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
	b.ReportMetric(opened.Seconds(), "open-s")
}
