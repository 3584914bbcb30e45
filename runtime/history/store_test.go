package history

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "h", "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRecordAndReadBack(t *testing.T) {
	s := openTemp(t)
	rec, err := s.Begin(Run{Plan: "shop", Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		tk := Tick{
			N: i, At: t0.Add(time.Duration(i) * time.Second), Phase: "ramp",
			Metrics:     map[string]float64{"api/cpu": 0.1 * float64(i), "api/memory": 1e9 + float64(i)},
			Instruction: &InstructionRecord{Rate: 100 + float64(i), Mix: map[string]float64{"browse": 8}},
		}
		if i == 7 {
			tk.Decisions = []DecisionRecord{{Shaper: "guard", Changed: "rate 107 -> 90", Reason: "cpu forecast 0.83", RateBefore: 107, RateAfter: 90}}
		}
		if i == 5 {
			tk.Metrics["api/cpu"] = math.NaN() // a stale read must not poison the record
		}
		if err := rec.Record(tk); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Finish("passed", t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := rec.Record(Tick{At: t0.Add(time.Hour)}); err == nil {
		t.Error("Record after Finish succeeded")
	}

	pts, err := s.Series(rec.Run().ID, "api", "cpu", t0.Add(2*time.Second), t0.Add(8*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	// [2s, 8s) minus the NaN at 5s: 2,3,4,6,7.
	var got []string
	for _, p := range pts {
		got = append(got, fmt.Sprintf("%d=%g", p.At.Sub(t0)/time.Second, p.Value))
	}
	if want := "2=0.2 3=0.30000000000000004 4=0.4 6=0.6000000000000001 7=0.7000000000000001"; strings.Join(got, " ") != want {
		t.Errorf("series = %s, want %s", strings.Join(got, " "), want)
	}

	var stale []string
	var decisions int
	if err := s.Ticks(rec.Run().ID, time.Time{}, time.Time{}, func(tk Tick) bool {
		stale = append(stale, tk.Stale...)
		decisions += len(tk.Decisions)
		if tk.Phase != "ramp" || tk.Instruction == nil || tk.Instruction.Mix["browse"] != 8 {
			t.Errorf("tick %d lost fields: %+v", tk.N, tk)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(stale) != 1 || stale[0] != "api/cpu" || decisions != 1 {
		t.Errorf("stale = %v, decisions = %d", stale, decisions)
	}

	r, err := s.Run(rec.Run().ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != "passed" || r.Ticks != 10 || !r.End.Equal(t0.Add(10*time.Second)) || r.Kind != KindRun {
		t.Errorf("run record = %+v", r)
	}
	sum, err := s.Summarise(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st := sum.Series["api/memory"]; st.Count != 10 || st.Min != 1e9 || st.Max != 1e9+9 || st.Last != 1e9+9 {
		t.Errorf("memory stats = %+v", st)
	}
	if sum.Rate.Mean != 104.5 || sum.Decisions != 1 || sum.StaleTicks["api/cpu"] != 1 {
		t.Errorf("summary = %+v", sum)
	}
}

func TestLatestRunsAndPrune(t *testing.T) {
	s := openTemp(t)
	plans := []string{"a", "b", "a", "a", "b"}
	for i, p := range plans {
		rec, err := s.Begin(Run{Plan: p, Start: t0.Add(time.Duration(i) * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		rec.Record(Tick{At: rec.Run().Start, Metrics: map[string]float64{"x/y": float64(i)}})
		if i != 3 { // run 4 is left unfinished, as a killed run would be
			rec.Finish("passed", rec.Run().Start.Add(time.Minute))
		}
	}
	latest, err := s.LatestRuns("a", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 2 || latest[0].ID != 4 || latest[1].ID != 3 {
		t.Fatalf("latest runs of a = %+v", latest)
	}
	if latest[0].Status() != "unfinished" {
		t.Errorf("unfinished run status = %q", latest[0].Status())
	}
	// Keep two days as seen on day 4: runs that ended on days 0 and 1 go;
	// run 3 ended on day 2 (+1m) and stays.
	gone, err := s.Prune(48*time.Hour, t0.Add(4*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(gone) != "[1 2]" {
		t.Errorf("pruned %v, want [1 2]", gone)
	}
	runs, _ := s.Runs()
	if len(runs) != 3 || runs[0].ID != 3 {
		t.Errorf("runs after prune = %+v", runs)
	}
	if pts, _ := s.Series(1, "x", "y", time.Time{}, time.Time{}); len(pts) != 0 {
		t.Errorf("pruned run still has %d points", len(pts))
	}
	if _, err := s.Run(1); !errors.Is(err, ErrNoRun) {
		t.Errorf("Run(1) after prune: %v", err)
	}
	// Ids are never reused, even after pruning.
	rec, _ := s.Begin(Run{Plan: "c"})
	if rec.Run().ID != 6 {
		t.Errorf("new run id %d, want 6", rec.Run().ID)
	}
}

// The NAB files are real production series: import then export must give
// back every value exactly.
func TestImportExportRoundTrip(t *testing.T) {
	path := "../../../shared/data/nab/ec2_cpu_utilization_24ae8d.csv"
	if _, err := os.Stat(path); err != nil {
		path = "/work/shared/data/nab/ec2_cpu_utilization_24ae8d.csv"
	}
	in, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("shared NAB data not available: %v", err)
	}
	s := openTemp(t)
	run, err := s.ImportCSV(bytes.NewReader(in), path, "ec2", "cpu", t0)
	if err != nil {
		t.Fatal(err)
	}
	if run.Kind != KindImport || run.Ticks != 4032 {
		t.Fatalf("import run = %+v", run)
	}
	var out bytes.Buffer
	if err := s.ExportCSV(run.ID, &out); err != nil {
		t.Fatal(err)
	}
	inRows, _ := csv.NewReader(bytes.NewReader(in)).ReadAll()
	outRows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(outRows) != len(inRows) || strings.Join(outRows[0], ",") != "time,tick,rate,ec2/cpu" {
		t.Fatalf("export has %d rows (want %d), header %v", len(outRows), len(inRows), outRows[0])
	}
	for i := 1; i < len(inRows); i++ {
		wantT, _ := parseTimestamp(inRows[i][0])
		gotT, err := time.Parse(time.RFC3339Nano, outRows[i][0])
		if err != nil || !gotT.Equal(wantT) {
			t.Fatalf("row %d: time %s, want %s", i, outRows[i][0], inRows[i][0])
		}
		want, _ := strconv.ParseFloat(inRows[i][1], 64)
		got, err := strconv.ParseFloat(outRows[i][3], 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(want) || outRows[i][3] != inRows[i][1] {
			t.Fatalf("row %d: value %q, want %q", i, outRows[i][3], inRows[i][1])
		}
	}
	// JSON export carries the same numbers.
	var js bytes.Buffer
	if err := s.ExportJSON(run.ID, &js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Run   Run
		Ticks []struct {
			Metrics map[string]float64
		}
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Run.Kind != KindImport || len(doc.Ticks) != 4032 || doc.Ticks[0].Metrics["ec2/cpu"] != 0.132 {
		t.Errorf("json export: run %+v, %d ticks", doc.Run, len(doc.Ticks))
	}
}

func TestImportErrors(t *testing.T) {
	s := openTemp(t)
	for _, c := range []struct{ in, want string }{
		{"timestamp,value\n2014-01-01 00:00:00,abc\n", "f.csv:2: value \"abc\" is not a finite number"},
		{"timestamp,value\nyesterday,1\n", "f.csv:2: unrecognised timestamp \"yesterday\""},
		{"timestamp,value\n", "no rows"},
		{"timestamp,value\n2014-01-01 00:00:00,NaN\n", "not a finite number"},
		{"justone\n", "want timestamp,value"},
	} {
		_, err := s.ImportCSV(strings.NewReader(c.in), "f.csv", "t", "m", t0)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("import %q: err %v, want %q", c.in, err, c.want)
		}
	}
	if runs, _ := s.Runs(); len(runs) != 0 {
		t.Errorf("failed imports left %d runs", len(runs))
	}
}

// A run killed with SIGKILL keeps every tick it completed: the child
// process prints "recorded N" after each Record returns; the parent kills
// it mid-run and reopens the file.
func TestKilledRunKeepsCompletedTicks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHistoryChildProcess$")
	cmd.Env = append(os.Environ(), "LOADSHAPER_HISTORY_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	last := -1
	for sc.Scan() {
		var n int
		if _, err := fmt.Sscanf(sc.Text(), "recorded %d", &n); err == nil {
			last = n
			if n == 40 {
				break
			}
		}
	}
	// While the child writes, another process may read: it gets a
	// read-only snapshot and never touches the file.
	snap, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if !snap.ReadOnly() {
		t.Error("store opened while another process writes is not read-only")
	}
	if pts, err := snap.Series(1, "api", "cpu", time.Time{}, time.Time{}); err != nil || len(pts) < 41 {
		t.Errorf("snapshot has %d ticks (%v), want at least 41", len(pts), err)
	}
	if _, err := snap.Begin(Run{Plan: "x"}); !errors.Is(err, ErrBusy) {
		t.Errorf("Begin on a snapshot: %v, want ErrBusy", err)
	}
	snap.Close()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if last != 40 {
		t.Fatalf("child reported %d ticks before dying", last)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer s.Close()
	runs, err := s.Runs()
	if err != nil || len(runs) != 1 || runs[0].Status() != "unfinished" {
		t.Fatalf("runs after kill = %+v, %v", runs, err)
	}
	pts, err := s.Series(runs[0].ID, "api", "cpu", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) < 41 {
		t.Fatalf("only %d ticks survived, the child had completed 41", len(pts))
	}
	for i := 0; i <= 40; i++ {
		if pts[i].Value != float64(i)/100 {
			t.Fatalf("tick %d value %v", i, pts[i].Value)
		}
	}
	// The store stays writable after recovery.
	if _, err := s.Begin(Run{Plan: "after"}); err != nil {
		t.Fatal(err)
	}
}

// TestHistoryChildProcess is the child of TestKilledRunKeepsCompletedTicks;
// it does nothing in a normal test run.
func TestHistoryChildProcess(t *testing.T) {
	path := os.Getenv("LOADSHAPER_HISTORY_CHILD")
	if path == "" {
		t.Skip("helper process for TestKilledRunKeepsCompletedTicks")
	}
	s, err := Open(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	rec, err := s.Begin(Run{Plan: "killed", Start: t0})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	metrics := map[string]float64{}
	for k := 0; k < 49; k++ {
		metrics[fmt.Sprintf("api/m%02d", k)] = float64(k)
	}
	// Bounded: the parent kills us long before the end.
	for i := 0; i < 100000; i++ {
		metrics["api/cpu"] = float64(i) / 100
		if err := rec.Record(Tick{N: i, At: t0.Add(time.Duration(i) * time.Second), Metrics: metrics}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("recorded %d\n", i)
		time.Sleep(time.Millisecond)
	}
	os.Exit(0)
}

// Metric names may hold characters that mean something to the query path.
func TestSeriesOddNames(t *testing.T) {
	s := openTemp(t)
	rec, _ := s.Begin(Run{Plan: "odd", Start: t0})
	names := []string{`cpu.user`, `http_requests_total{code="200"}`, `a*b?c|d#e@f`, `x\y`, `sp ace`, `cpu`}
	for i := 0; i < 3; i++ {
		m := map[string]float64{}
		for j, n := range names {
			m[SeriesKey("api", n)] = float64(10*j + i)
		}
		rec.Record(Tick{N: i, At: t0.Add(time.Duration(i) * time.Second), Metrics: m})
	}
	for j, n := range names {
		pts, err := s.Series(rec.Run().ID, "api", n, time.Time{}, time.Time{})
		if err != nil || len(pts) != 3 || pts[2].Value != float64(10*j+2) {
			t.Errorf("series %q = %v, %v", n, pts, err)
		}
	}
}

// A second handle on the same file is a read-only snapshot until the
// writer closes.
func TestSecondOpenIsReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	w, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := w.Begin(Run{Plan: "p", Start: t0})
	rec.Record(Tick{At: t0, Metrics: map[string]float64{"a/b": 1}})
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if !r.ReadOnly() {
		t.Fatal("second open is writable")
	}
	if runs, _ := r.Runs(); len(runs) != 1 {
		t.Errorf("snapshot runs = %v", runs)
	}
	for name, err := range map[string]error{
		"import": func() error { _, err := r.ImportCSV(strings.NewReader("1,1\n"), "f", "t", "m", t0); return err }(),
		"prune":  func() error { _, err := r.Prune(time.Hour, t0); return err }(),
		"delete": r.DeleteRun(1),
	} {
		if !errors.Is(err, ErrBusy) {
			t.Errorf("%s on a snapshot: %v", name, err)
		}
	}
	r.Close()
	rec.Finish("passed", t0.Add(time.Second))
	w.Close()
	again, err := Open(path)
	if err != nil || again.ReadOnly() {
		t.Fatalf("reopen after the writer closed: %v, read-only %v", err, again.ReadOnly())
	}
	defer again.Close()
	if r, _ := again.Run(1); r.Outcome != "passed" {
		t.Errorf("run after reopen = %+v", r)
	}
}

// Repeated timestamps (as in NAB's ec2_request_latency_system_failure.csv)
// keep every row, in file order, 1 ns apart; values stay exact.
func TestImportRepeatedTimestamps(t *testing.T) {
	s := openTemp(t)
	in := "timestamp,value\n2014-03-09 01:56:00,44.038000000000004\n2014-03-09 03:00:00,44.611999999999995\n2014-03-09 03:00:00,43.578\n2014-03-09 03:00:00,47.018\n2014-03-09 03:05:00,1\n"
	run, err := s.ImportCSV(strings.NewReader(in), "f.csv", "api", "latency", t0)
	if err != nil {
		t.Fatal(err)
	}
	if run.Shifted != 2 || run.Ticks != 5 {
		t.Fatalf("run = %+v", run)
	}
	pts, _ := s.Series(run.ID, "api", "latency", time.Time{}, time.Time{})
	at := time.Date(2014, 3, 9, 3, 0, 0, 0, time.UTC)
	want := []Point{{at.Add(-64 * time.Minute), 44.038000000000004}, {at, 44.611999999999995}, {at.Add(1), 43.578}, {at.Add(2), 47.018}, {at.Add(5 * time.Minute), 1}}
	if !samePoints(pts, want) {
		t.Errorf("points = %v, want %v", pts, want)
	}
}
