package forecast

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/loadshaper/loadshaper/predictors"
)

// AnomalySeries is the anomaly report of one file.
type AnomalySeries struct {
	File        string                   `json:"file"`
	Points      int                      `json:"points"`
	Events      []AnomalyEventAt         `json:"events"`
	Windows     int                      `json:"windows,omitempty"`      // labelled windows (when a windows file was given)
	Caught      int                      `json:"caught,omitempty"`       // windows with at least one event inside
	FalseAlarms int                      `json:"false_alarms,omitempty"` // events outside every window
	Config      predictors.AnomalyConfig `json:"-"`
}

// AnomalyEventAt is an event with its timestamp.
type AnomalyEventAt struct {
	predictors.AnomalyEvent
	Time string `json:"time,omitempty"`
}

// AnomalyReport covers every file.
type AnomalyReport struct {
	Series    []AnomalySeries `json:"series"`
	Scored    bool            `json:"scored"`              // a windows file was given
	Detectors []DetectorScore `json:"detectors,omitempty"` // with windows: this detector and the baselines, over the files that have windows
}

// ReadWindows reads NAB-style labelled windows: {"file.csv": [["start",
// "end"], ...]}.
func ReadWindows(path string) (map[string][][2]time.Time, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string][][]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string][][2]time.Time{}
	for f, ws := range raw {
		for _, w := range ws {
			if len(w) != 2 {
				return nil, fmt.Errorf("%s: %s: a window needs a start and an end", path, f)
			}
			a, err1 := ParseTime(w[0])
			b, err2 := ParseTime(w[1])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("%s: %s: bad window %v", path, f, w)
			}
			out[filepath.Base(f)] = append(out[filepath.Base(f)], [2]time.Time{a, b})
		}
	}
	return out, nil
}

// RunAnomalies is the CLI entry point: it reads the windows file (if
// any) and runs the detector with default settings and, when threshold > 0,
// that threshold (robust σ).
func RunAnomalies(files []string, windowsPath string, threshold float64) (*AnomalyReport, error) {
	var ws map[string][][2]time.Time
	if windowsPath != "" {
		var err error
		if ws, err = ReadWindows(windowsPath); err != nil {
			return nil, err
		}
	}
	return Anomalies(files, ws, predictors.AnomalyConfig{Threshold: threshold})
}

// DetectorScore is how one detector did over every scored file.
type DetectorScore struct {
	Detector    string  `json:"detector"`
	Note        string  `json:"note,omitempty"`
	Windows     int     `json:"windows"`
	Caught      int     `json:"caught"`
	FalseAlarms int     `json:"false_alarms"`
	Events      int     `json:"events"`
	NABRaw      float64 `json:"nab_raw"`
	NAB         float64 `json:"nab_standard"` // normalised: 0 = no detections, 100 = perfect
	scored      int     // windows NAB scores (past the probation)
}

// labelled is one file's series with its windows as index ranges.
type labelled struct {
	values []float64
	wins   [][2]int
}

// indexWindows turns time windows into inclusive index ranges over times;
// a window with no value in it is kept as an empty range (never caught).
func indexWindows(times []time.Time, ws [][2]time.Time) [][2]int {
	out := make([][2]int, 0, len(ws))
	for _, w := range ws {
		lo := sort.Search(len(times), func(i int) bool { return !times[i].Before(w[0]) })
		hi := sort.Search(len(times), func(i int) bool { return times[i].After(w[1]) }) - 1
		out = append(out, [2]int{lo, hi})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// tally adds one file's detections to a detector's score.
func (d *DetectorScore) tally(l labelled, events []int) (caught, falseAlarms int) {
	hit := make([]bool, len(l.wins))
	for _, e := range events {
		in := false
		for i, w := range l.wins {
			if e >= w[0] && e <= w[1] {
				hit[i], in = true, true
			}
		}
		if !in {
			falseAlarms++
		}
	}
	for _, h := range hit {
		if h {
			caught++
		}
	}
	raw, scored := predictors.NABScore(len(l.values), l.wins, events, predictors.NABStandard)
	d.Windows += len(l.wins)
	d.Caught += caught
	d.FalseAlarms += falseAlarms
	d.Events += len(events)
	d.NABRaw += raw
	d.scored += scored
	d.NAB = predictors.NABNormalise(d.NABRaw, d.scored, predictors.NABStandard)
	return caught, falseAlarms
}

func indices(evs []predictors.AnomalyEvent) []int {
	out := make([]int, len(evs))
	for i, e := range evs {
		out[i] = e.Index
	}
	return out
}

// gaussianThresholds are the thresholds the windowed Gaussian baseline is
// tried at; the report keeps the one that scores best on the very files it
// is scored on — more than a real deployment of it could know.
var gaussianThresholds = []float64{2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 10, 12, 15}

// baselines scores the detectors AnomalyDetector is compared with.
func baselines(ls []labelled) []DetectorScore {
	z := DetectorScore{Detector: "robust_z", Note: "the detector before this one: robust z of a rolling median's residual, level shifts"}
	for _, l := range ls {
		z.tally(l, indices(predictors.DetectZScoreAnomalies(l.values, predictors.ZScoreConfig{})))
	}
	var best DetectorScore
	for i, th := range gaussianThresholds {
		g := DetectorScore{Detector: fmt.Sprintf("gaussian z>%g", th), Note: "NAB's windowed Gaussian (1000 values), threshold tuned on these files"}
		for _, l := range ls {
			g.tally(l, indices(predictors.DetectGaussianAnomalies(l.values, predictors.GaussianDetector{Threshold: th})))
		}
		if i == 0 || g.NAB > best.NAB {
			best = g
		}
	}
	null := DetectorScore{Detector: "null", Note: "no detections"}
	for _, l := range ls {
		null.tally(l, nil)
	}
	return []DetectorScore{z, best, null}
}

// Anomalies runs the detector over each file and, when windows is not nil,
// scores the events against the labelled windows, beside the baselines.
func Anomalies(files []string, windows map[string][][2]time.Time, c predictors.AnomalyConfig) (*AnomalyReport, error) {
	rep := &AnomalyReport{Scored: windows != nil}
	var ls []labelled
	ours := DetectorScore{Detector: "records", Note: "loadshaper's detector, default settings"}
	if c != (predictors.AnomalyConfig{}) {
		ours.Note = "loadshaper's detector"
	}
	for _, f := range files {
		s, err := ReadCSV(f)
		if err != nil {
			return nil, err
		}
		as := AnomalySeries{File: filepath.Base(f), Points: len(s.Values), Config: c, Events: []AnomalyEventAt{}}
		evs := predictors.DetectAnomalies(s.Values, c)
		for _, ev := range evs {
			e := AnomalyEventAt{AnomalyEvent: ev}
			if len(s.Times) == len(s.Values) {
				e.Time = s.Times[ev.Index].Format("2006-01-02 15:04:05")
			}
			as.Events = append(as.Events, e)
		}
		if ws, ok := windows[as.File]; ok && len(s.Times) == len(s.Values) {
			l := labelled{values: s.Values, wins: indexWindows(s.Times, ws)}
			as.Windows = len(ws)
			as.Caught, as.FalseAlarms = ours.tally(l, indices(evs))
			ls = append(ls, l)
		}
		rep.Series = append(rep.Series, as)
	}
	if len(ls) > 0 {
		rep.Detectors = append([]DetectorScore{ours}, baselines(ls)...)
	}
	return rep, nil
}

// WriteTable prints one line per series (and the events when there are
// few files), then, with windows, each detector's score.
func (r *AnomalyReport) WriteTable(w io.Writer) {
	width := 8
	for _, s := range r.Series {
		width = max(width, len(strings.TrimSuffix(s.File, ".csv")))
	}
	if r.Scored {
		fmt.Fprintf(w, "%-*s %6s %7s %8s %6s %12s\n", width, "series", "points", "events", "windows", "caught", "false_alarms")
	} else {
		fmt.Fprintf(w, "%-*s %6s %7s\n", width, "series", "points", "events")
	}
	var tw, tc, tf, te int
	for _, s := range r.Series {
		name := strings.TrimSuffix(s.File, ".csv")
		te += len(s.Events)
		if r.Scored {
			fmt.Fprintf(w, "%-*s %6d %7d %8d %6d %12d\n", width, name, s.Points, len(s.Events), s.Windows, s.Caught, s.FalseAlarms)
			tw, tc, tf = tw+s.Windows, tc+s.Caught, tf+s.FalseAlarms
		} else {
			fmt.Fprintf(w, "%-*s %6d %7d\n", width, name, s.Points, len(s.Events))
		}
	}
	if r.Scored {
		fmt.Fprintf(w, "total: %d of %d labelled windows caught, %d false alarms outside them (%d events)\n", tc, tw, tf, te)
	}
	if len(r.Detectors) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "NAB standard profile (A_TP 1, A_FP -0.11, A_FN -1; 0 = no detections, 100 = perfect), false alarms counted over the whole series:")
		fmt.Fprintf(w, "%-16s %8s %12s %8s %8s  %s\n", "detector", "caught", "false_alarms", "nab_raw", "nab", "what it is")
		for _, d := range r.Detectors {
			fmt.Fprintf(w, "%-16s %8s %12d %8.2f %8.1f  %s\n", d.Detector, fmt.Sprintf("%d/%d", d.Caught, d.Windows), d.FalseAlarms, d.NABRaw, d.NAB, d.Note)
		}
	}
	if len(r.Series) == 1 {
		for _, e := range r.Series[0].Events {
			fmt.Fprintf(w, "  %6d %-20s %-14s value %.4g expected %.4g score %.1f\n", e.Index, e.Time, e.Kind, e.Value, e.Expected, e.Score)
		}
	}
}

// WriteJSON writes the report as indented JSON.
func (r *AnomalyReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
