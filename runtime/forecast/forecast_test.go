package forecast

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/predictors"
	"github.com/loadshaper/loadshaper/runtime/history"
)

func TestParseCSV(t *testing.T) {
	s, err := parseCSV(strings.NewReader("timestamp,value\n2014-02-14 14:30:00,1.5\n2014-02-14 14:35:00,\n2014-02-14 14:40:00,NaN\n2014-02-14 14:45:00,2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Values) != 4 || s.Values[0] != 1.5 || !math.IsNaN(s.Values[1]) || !math.IsNaN(s.Values[2]) || s.Values[3] != 2 {
		t.Errorf("values %v", s.Values)
	}
	if s.Step != 5*time.Minute || len(s.Times) != 4 {
		t.Errorf("step %v, %d times", s.Step, len(s.Times))
	}
	// No header, one column.
	s, err = parseCSV(strings.NewReader("3\n4\n5\n"))
	if err != nil || len(s.Values) != 3 || s.Times != nil {
		t.Errorf("%+v %v", s, err)
	}
	// The value column is found by name.
	s, err = parseCSV(strings.NewReader("value,host\n7,a\n8,b\n"))
	if err != nil || s.Values[1] != 8 {
		t.Errorf("%+v %v", s, err)
	}
	for _, bad := range []string{"", "value\nx\n", "a,b\n1\n"} {
		if _, err := parseCSV(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestFromHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	st, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "%s,%d\n", start.Add(time.Duration(i)*time.Second).Format(time.RFC3339), 100+2*i)
	}
	run, err := st.ImportCSV(strings.NewReader(b.String()), "cpu.csv", "api", "cpu", start)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	res, err := FromHistory(path, fmt.Sprintf("%d/api/cpu", run.ID), Options{Model: "holt", Horizon: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Points != 40 || res.Step != 1 || math.Abs(res.Steps[2].Mean-(178+6)) > 0.01 {
		t.Errorf("points %d step %v forecast %+v", res.Points, res.Step, res.Steps)
	}
	if _, err := FromHistory(path, fmt.Sprintf("%d/api/memory", run.ID), Options{}); err == nil || !strings.Contains(err.Error(), "api/cpu") {
		t.Errorf("missing series: %v", err)
	}
	if _, err := FromHistory(path, "99/api/cpu", Options{}); err == nil {
		t.Error("missing run accepted")
	}
	for _, ref := range []string{"cpu", "x/cpu", "3/", "0/cpu"} {
		if _, _, _, err := ParseHistoryRef(ref); err == nil {
			t.Errorf("%q accepted", ref)
		}
	}
}

func TestChartMarksHistoryAndForecast(t *testing.T) {
	var b strings.Builder
	Chart(&b, []float64{1, 2, 3, 4}, []StepPoint{{Step: 1, Mean: 5, Lower: 4, Upper: 6}}, 40, 6)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	out := strings.Join(lines[:len(lines)-1], "\n") // without the legend
	if strings.Count(out, "*") != 4 || strings.Count(out, "o") != 1 || !strings.Contains(out, ":") {
		t.Errorf("chart:\n%s", out)
	}
}

func TestSensitivityDefaults(t *testing.T) {
	// Each knob's marked default is the detector's: moving one setting
	// must start from where the detector stands.
	def := predictors.DefaultAnomalyConfig()
	for _, k := range sensitivityKnobs {
		c := def
		k.set(&c, k.def)
		if c != def {
			t.Errorf("%s: marked default %v is not the detector's (%+v)", k.name, k.def, def)
		}
		found := false
		for _, v := range k.vals {
			found = found || v == k.def
		}
		if !found {
			t.Errorf("%s: the default %v is not among the values tried", k.name, k.def)
		}
	}
}
