package dryrun

import (
	"fmt"
	"math"
	"strings"

	"github.com/loadshaper/loadshaper/runtime/engine"
)

// chartSpec is one chart of the report: a series over the run, an
// optional second series drawn as dots (the planned rate) and an optional
// limit line (the envelope).
type chartSpec struct {
	Title  string // for the terminal
	Name   string // for the HTML page
	Values []float64
	Dots   []float64 // nil = none
	Limit  float64   // <= 0 = none
	Format func(float64) string
}

var eighths = []rune(" ▁▂▃▄▅▆▇█")

// textChart draws spec as width columns by height rows of block
// characters. Each column is the largest value of the ticks it covers, so
// a short spike stays visible. marks are x positions (0..1) of phase
// starts, drawn on the axis.
func textChart(spec chartSpec, width, height int, marks []float64, total float64) []string {
	n := len(spec.Values)
	if n == 0 || width < 8 || height < 2 {
		return nil
	}
	width = min(width, n)
	cols := make([]float64, width)
	dots := make([]float64, width)
	for c := 0; c < width; c++ {
		lo, hi := c*n/width, (c+1)*n/width
		hi = max(hi, lo+1)
		for i := lo; i < hi && i < n; i++ {
			cols[c] = math.Max(cols[c], spec.Values[i])
			if spec.Dots != nil {
				dots[c] = math.Max(dots[c], spec.Dots[i])
			}
		}
	}
	top := spec.Limit * 1.15
	for c := range cols {
		top = math.Max(top, math.Max(cols[c], dots[c]))
	}
	if top <= 0 || math.IsNaN(top) || math.IsInf(top, 0) {
		top = 1
	}
	limitRow := -1 // row (0 = bottom) holding the limit line
	if spec.Limit > 0 {
		limitRow = min(height-1, int(spec.Limit/top*float64(height)))
	}
	grid := make([][]rune, height)
	for r := range grid {
		grid[r] = make([]rune, width)
		for c := range grid[r] {
			// Eighths of the cell filled by the bar.
			fill := cols[c]/top*float64(height) - float64(r)
			e := int(math.Round(math.Min(math.Max(fill, 0), 1) * 8))
			ch := eighths[e]
			if ch == ' ' {
				switch {
				case spec.Dots != nil && dots[c] > cols[c] && int(dots[c]/top*float64(height)-1e-9) == r:
					ch = '·'
				case r == limitRow:
					ch = '┄'
				}
			}
			grid[r][c] = ch
		}
	}
	labelW := 9
	lines := []string{spec.Title}
	for r := height - 1; r >= 0; r-- {
		label := ""
		switch {
		case r == height-1:
			label = spec.Format(top)
		case r == limitRow:
			label = spec.Format(spec.Limit)
		case r == 0:
			label = spec.Format(0)
		}
		lines = append(lines, fmt.Sprintf("%*s │%s", labelW, label, string(grid[r])))
	}
	axis := []rune(strings.Repeat("─", width))
	for _, m := range marks {
		if p := int(m * float64(width)); p > 0 && p < width {
			axis[p] = '┴'
		}
	}
	lines = append(lines, fmt.Sprintf("%*s └%s", labelW, "", string(axis)))
	end := fmtDur(total)
	pad := width - len(end) - 2
	lines = append(lines, fmt.Sprintf("%*s  0s%s%s", labelW, "", strings.Repeat(" ", max(pad, 1)), end))
	return lines
}

// formatterFor returns how to print a metric's values.
func formatterFor(metric string) func(float64) string {
	switch {
	case metric == "cpu" || metric == "error_rate":
		return func(v float64) string { return fmtPct(v) }
	case metric == "memory":
		return engine.FormatBytes
	case strings.HasPrefix(metric, "latency"):
		return fmtSeconds
	}
	return func(v float64) string { return fmtNum(v) }
}

func fmtPct(v float64) string {
	switch {
	case v == 0:
		return "0%"
	case v < 0.001:
		return fmt.Sprintf("%.3f%%", v*100)
	case v < 0.1:
		return fmt.Sprintf("%.1f%%", v*100)
	}
	return fmt.Sprintf("%.0f%%", v*100)
}

func fmtSeconds(v float64) string {
	switch {
	case v == 0:
		return "0s"
	case v < 1e-3:
		return fmt.Sprintf("%.0fµs", v*1e6)
	case v < 0.01:
		return fmt.Sprintf("%.1fms", v*1e3)
	case v < 1:
		return fmt.Sprintf("%.0fms", v*1e3)
	}
	return fmt.Sprintf("%.2fs", v)
}

func fmtNum(v float64) string {
	switch {
	case math.Abs(v) >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case math.Abs(v) >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case math.Abs(v) >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func fmtDur(sec float64) string {
	d := int64(math.Round(sec))
	h, m, s := d/3600, d/60%60, d%60
	out := ""
	if h > 0 {
		out += fmt.Sprintf("%dh", h)
	}
	if m > 0 {
		out += fmt.Sprintf("%dm", m)
	}
	if s > 0 || out == "" {
		out += fmt.Sprintf("%ds", s)
	}
	return out
}
