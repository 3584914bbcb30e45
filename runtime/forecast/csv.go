// Package forecast is the command-line side of loadshaper's predictors:
// reading series from CSV files, the `loadshaper forecast` output (a
// forecast with its interval, a terminal chart, JSON) and the rolling-origin
// evaluation behind `loadshaper forecast eval` and `make eval-forecast`.
//
// The math lives in predictors; this package only does I/O around it.
package forecast

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Series is one metric read from a file.
type Series struct {
	Name   string
	Times  []time.Time // zero values when the file has no time column
	Values []float64   // NaN where a value is missing
	Step   time.Duration
}

var timeLayouts = []string{
	"2006-01-02 15:04:05.000000", "2006-01-02 15:04:05", time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02",
}

// ParseTime accepts the layouts found in metric exports (NAB's
// "2014-02-14 14:30:00", RFC 3339) and Unix seconds.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 1e8 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("cannot parse time %q", s)
}

// ReadCSV reads a series: a header is optional; with a `value` column that
// column is used, otherwise the last one; a first column that parses as a
// time is kept as the timestamps. Empty, "NaN" or "null" cells are gaps.
func ReadCSV(path string) (*Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := parseCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.Name = path
	return s, nil
}

func parseCSV(r io.Reader) (*Series, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New("empty file")
	}
	col := len(rows[0]) - 1
	start := 0
	if _, err := strconv.ParseFloat(strings.TrimSpace(rows[0][col]), 64); err != nil && !isGap(rows[0][col]) {
		// A header row.
		for i, h := range rows[0] {
			if strings.EqualFold(strings.TrimSpace(h), "value") {
				col = i
			}
		}
		start = 1
	}
	s := &Series{}
	hasTime := col > 0
	for i, row := range rows[start:] {
		line := i + start + 1
		if len(row) <= col {
			return nil, fmt.Errorf("line %d: %d columns, want at least %d", line, len(row), col+1)
		}
		cell := strings.TrimSpace(row[col])
		v := math.NaN()
		if !isGap(cell) {
			v, err = strconv.ParseFloat(cell, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: value %q is not a number", line, cell)
			}
		}
		s.Values = append(s.Values, v)
		if hasTime {
			t, err := ParseTime(row[0])
			if err != nil {
				hasTime = false
				s.Times = nil
				continue
			}
			s.Times = append(s.Times, t)
		}
	}
	if len(s.Values) == 0 {
		return nil, errors.New("no data rows")
	}
	if hasTime && len(s.Times) >= 2 {
		s.Step = medianStep(s.Times)
	}
	return s, nil
}

func isGap(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "nan", "null", "na", "none":
		return true
	}
	return false
}

func medianStep(ts []time.Time) time.Duration {
	d := make([]float64, 0, len(ts)-1)
	for i := 1; i < len(ts); i++ {
		d = append(d, float64(ts[i].Sub(ts[i-1])))
	}
	// Sort a copy and take the middle value: robust to the odd missing sample.
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j] < d[j-1]; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
	return time.Duration(d[len(d)/2])
}
