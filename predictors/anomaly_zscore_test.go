package predictors

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestZScoreSpikeAndShift(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	y := make([]float64, 2000)
	for i := range y {
		y[i] = 50 + r.NormFloat64()
	}
	for i := 800; i < 805; i++ {
		y[i] += 15 // a burst
	}
	for i := 1500; i < len(y); i++ {
		y[i] += 20 // a level shift
	}
	y[300] = math.NaN()
	evs := DetectZScoreAnomalies(y, ZScoreConfig{Window: 200})
	var spike, shift bool
	for _, e := range evs {
		switch {
		case e.Kind == AnomalySpike && e.Index >= 800 && e.Index < 806:
			spike = true
		case e.Index >= 1500 && e.Index < 1530:
			shift = true
		default:
			t.Errorf("false alarm %+v", e)
		}
	}
	if !spike || !shift {
		t.Errorf("spike %v shift %v; events %+v", spike, shift, evs)
	}
	// Pure noise, constant and tiny series: no events, no panics.
	noise := noisyLine(3000, 10, 0, 1, 77)
	if evs := DetectZScoreAnomalies(noise, ZScoreConfig{}); len(evs) > 1 {
		t.Errorf("%d events on white noise: %+v", len(evs), evs)
	}
	if evs := DetectZScoreAnomalies(make([]float64, 500), ZScoreConfig{}); len(evs) != 0 {
		t.Errorf("constant series: %+v", evs)
	}
	if evs := DetectZScoreAnomalies([]float64{1, 2}, ZScoreConfig{}); len(evs) != 0 {
		t.Errorf("tiny: %+v", evs)
	}
}

func TestMedianSelect(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for n := 1; n < 40; n++ {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(r.IntN(10))
		}
		want, _ := Median(v)
		if got := median(append([]float64(nil), v...)); got != want {
			t.Fatalf("median(%v) = %v, want %v", v, got, want)
		}
	}
}

func BenchmarkZScoreObserve(b *testing.B) {
	d := NewZScoreDetector(ZScoreConfig{})
	y := noisyLine(5000, 10, 0, 1, 1)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.Observe(y[i%len(y)])
	}
}
