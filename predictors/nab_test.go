package predictors

import (
	"math"
	"testing"
)

func TestNABScore(t *testing.T) {
	const n = 4000 // probation: 600 values
	wins := [][2]int{{1000, 1200}, {3000, 3200}}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	score := func(d ...int) float64 {
		raw, scored := NABScore(n, wins, d, NABStandard)
		if scored != 2 {
			t.Fatalf("scored %d windows, want 2", scored)
		}
		return NABNormalise(raw, scored, NABStandard)
	}
	if s := score(); s != 0 {
		t.Errorf("null detector: %v, want 0", s)
	}
	if s := score(1000, 3000); !near(s, 100) {
		t.Errorf("perfect detector: %v, want 100", s)
	}
	if s := score(1000, 3000, 1001, 3100, 10, 599); !near(s, 100) {
		t.Errorf("later detections in a window and detections in probation cost nothing: %v", s)
	}
	// Halfway into a window: position −(1200−1100+1)/201, NAB's sigmoid,
	// divided by the sigmoid at the left edge.
	mid := (2/(1+math.Exp(-5*101.0/201)) - 1) / (2/(1+math.Exp(-5.0)) - 1)
	if raw, _ := NABScore(n, wins, []int{1100}, NABStandard); !near(raw, mid-1) {
		t.Errorf("halfway: raw %v, want %v", raw, mid-1)
	}
	// False positives: before any window the full A_FP; just after a window
	// almost nothing; three window widths after it the full A_FP again.
	if raw, _ := NABScore(n, wins, []int{700}, NABStandard); !near(raw, -2-0.11) {
		t.Errorf("early false alarm: raw %v, want %v", raw, -2.11)
	}
	if raw, _ := NABScore(n, wins, []int{1201}, NABStandard); raw >= -2 || raw < -2-0.01 {
		t.Errorf("false alarm right after a window: raw %v, want just under -2", raw)
	}
	if raw, _ := NABScore(n, wins, []int{1200 + 3*200}, NABStandard); !near(raw, -2-0.11) {
		t.Errorf("late false alarm: raw %v, want %v", raw, -2.11)
	}
	// A window inside the probation is not scored.
	if _, scored := NABScore(n, [][2]int{{100, 300}, {1000, 1200}}, nil, NABStandard); scored != 1 {
		t.Errorf("scored %d windows, want 1", scored)
	}
	if p := NABProbation(100000); p != 750 {
		t.Errorf("probation of a long series %d, want 750", p)
	}
}

func TestGaussianDetector(t *testing.T) {
	y := noisyLine(3000, 10, 0, 1, 9)
	y[2000] += 8
	evs := DetectGaussianAnomalies(y, GaussianDetector{Threshold: 6})
	if len(evs) != 1 || evs[0].Index != 2000 {
		t.Errorf("events %+v, want one at 2000", evs)
	}
	// At three sigma, about 0.27% of normal noise is flagged.
	evs = DetectGaussianAnomalies(noisyLine(20000, 10, 0, 1, 10), GaussianDetector{})
	if f := float64(len(evs)) / 20000; f < 0.001 || f > 0.006 {
		t.Errorf("three-sigma rule flags %.4f of normal noise, want about 0.0027", f)
	}
}
