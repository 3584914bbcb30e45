package forecast

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/loadshaper/loadshaper/predictors"
)

// SensitivityRow is the detector's score with one setting moved from its
// default.
type SensitivityRow struct {
	Setting string        `json:"setting"`
	Value   float64       `json:"value"`
	Default bool          `json:"default,omitempty"`
	Score   DetectorScore `json:"score"`
}

// sensitivityKnobs are the settings moved, each over values on both sides
// of its default (the default is included and marked).
var sensitivityKnobs = []struct {
	name string
	def  float64 // checked against predictors.DefaultAnomalyConfig by a test
	vals []float64
	set  func(c *predictors.AnomalyConfig, v float64)
}{
	{"warmup", 600, []float64{300, 450, 600, 900, 1200}, func(c *predictors.AnomalyConfig, v float64) { c.Warmup = int(v) }},
	{"memory", 8064, []float64{2016, 4032, 8064, 16128}, func(c *predictors.AnomalyConfig, v float64) { c.Memory = int(v) }},
	{"margin", 1.1, []float64{1.0001, 1.05, 1.1, 1.2, 1.3}, func(c *predictors.AnomalyConfig, v float64) { c.Margin = v }},
	{"threshold", 5, []float64{3, 4, 5, 6, 8}, func(c *predictors.AnomalyConfig, v float64) { c.Threshold = v }},
	{"level", 9, []float64{3, 5, 9, 15, 25}, func(c *predictors.AnomalyConfig, v float64) { c.Level = int(v) }},
	{"shift_window", 24, []float64{-1, 12, 24, 48}, func(c *predictors.AnomalyConfig, v float64) { c.ShiftWindow = int(v) }},
	{"shift_base", 288, []float64{144, 288, 576}, func(c *predictors.AnomalyConfig, v float64) { c.ShiftBase = int(v) }},
	{"min_period", 24, []float64{-1, 12, 24, 48}, func(c *predictors.AnomalyConfig, v float64) { c.MinPeriod = int(v) }},
	{"season_gain", 0.5, []float64{0.3, 0.5, 0.7, 0.9}, func(c *predictors.AnomalyConfig, v float64) { c.SeasonGain = v }},
	{"cooldown", 288, []float64{144, 288, 576}, func(c *predictors.AnomalyConfig, v float64) { c.Cooldown = int(v) }},
}

// Sensitivity scores the detector on the labelled files with each setting
// moved, one at a time, from its default: how much the figures rest on
// the exact defaults (spec/predictors.md).
func Sensitivity(files []string, windows map[string][][2]time.Time) ([]SensitivityRow, error) {
	var ls []labelled
	for _, f := range files {
		s, err := ReadCSV(f)
		if err != nil {
			return nil, err
		}
		if ws, ok := windows[filepath.Base(f)]; ok && len(s.Times) == len(s.Values) {
			ls = append(ls, labelled{values: s.Values, wins: indexWindows(s.Times, ws)})
		}
	}
	if len(ls) == 0 {
		return nil, fmt.Errorf("no file has labelled windows")
	}
	var out []SensitivityRow
	for _, k := range sensitivityKnobs {
		for _, v := range k.vals {
			var c predictors.AnomalyConfig
			k.set(&c, v)
			var sc DetectorScore
			for _, l := range ls {
				sc.tally(l, indices(predictors.DetectAnomalies(l.values, c)))
			}
			out = append(out, SensitivityRow{Setting: k.name, Value: v, Default: v == k.def, Score: sc})
		}
	}
	return out, nil
}

// WriteSensitivity prints the rows as a table.
func WriteSensitivity(w io.Writer, rows []SensitivityRow) {
	fmt.Fprintf(w, "%-13s %8s %8s %12s %8s\n", "setting", "value", "caught", "false_alarms", "nab")
	for _, r := range rows {
		mark := ""
		if r.Default {
			mark = "  (default)"
		}
		fmt.Fprintf(w, "%-13s %8g %8s %12d %8.1f%s\n", r.Setting, r.Value, fmt.Sprintf("%d/%d", r.Score.Caught, r.Score.Windows), r.Score.FalseAlarms, r.Score.NAB, mark)
	}
}
