package forecast

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	Series []AnomalySeries `json:"series"`
	Scored bool            `json:"scored"` // a windows file was given
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
// that spike threshold.
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

// Anomalies runs the detector over each file and, when windows is not nil,
// scores the events against the labelled windows.
func Anomalies(files []string, windows map[string][][2]time.Time, c predictors.AnomalyConfig) (*AnomalyReport, error) {
	rep := &AnomalyReport{Scored: windows != nil}
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
			as.Windows = len(ws)
			caught := make([]bool, len(ws))
			for _, ev := range evs {
				t := s.Times[ev.Index]
				in := false
				for i, w := range ws {
					if !t.Before(w[0]) && !t.After(w[1]) {
						caught[i], in = true, true
					}
				}
				if !in {
					as.FalseAlarms++
				}
			}
			for _, c := range caught {
				if c {
					as.Caught++
				}
			}
		}
		rep.Series = append(rep.Series, as)
	}
	return rep, nil
}

// WriteTable prints one line per series (and the events when there are
// few files).
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
	if len(r.Series) == 1 {
		for _, e := range r.Series[0].Events {
			fmt.Fprintf(w, "  %6d %-20s %-11s value %.4g expected %.4g score %.1f\n", e.Index, e.Time, e.Kind, e.Value, e.Expected, e.Score)
		}
	}
}

// WriteJSON writes the report as indented JSON.
func (r *AnomalyReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
