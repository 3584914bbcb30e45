package engine

import (
	"math"
	"testing"
	"time"
)

func offsets(s *Schedule, end time.Duration) []time.Duration {
	var out []time.Duration
	for {
		o, ok := s.Next(end)
		if !ok {
			return out
		}
		out = append(out, o)
	}
}

func TestUniformScheduleCount(t *testing.T) {
	s := NewSchedule("uniform", 1, func(time.Duration) float64 { return 20000 })
	got := offsets(s, 5*time.Second)
	if len(got) != 100000 {
		t.Fatalf("uniform 20000/s over 5s: %d arrivals, want 100000", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Fatalf("offsets not monotonic at %d", i)
		}
	}
}

func TestScheduleFollowsRamp(t *testing.T) {
	// ramp from 0 to 1000/s over 10s: expect about 5000 arrivals, fewer in the first half.
	s := NewSchedule("uniform", 1, func(at time.Duration) float64 { return 1000 * at.Seconds() / 10 })
	got := offsets(s, 10*time.Second)
	if math.Abs(float64(len(got))-5000) > 50 {
		t.Fatalf("ramp: %d arrivals, want about 5000", len(got))
	}
	firstHalf := 0
	for _, o := range got {
		if o < 5*time.Second {
			firstHalf++
		}
	}
	if math.Abs(float64(firstHalf)-1250) > 30 {
		t.Fatalf("ramp: %d arrivals in the first half, want about 1250", firstHalf)
	}
}

func TestPoissonDeterministicWithSeed(t *testing.T) {
	rate := func(time.Duration) float64 { return 1000 }
	a := offsets(NewSchedule("poisson", 42, rate), 2*time.Second)
	b := offsets(NewSchedule("poisson", 42, rate), 2*time.Second)
	c := offsets(NewSchedule("poisson", 43, rate), 2*time.Second)
	if len(a) != len(b) {
		t.Fatalf("same seed, different counts %d and %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed differs at %d: %v vs %v", i, a[i], b[i])
		}
	}
	same := len(a) == len(c)
	for i := 0; same && i < len(a); i++ {
		same = a[i] == c[i]
	}
	if same {
		t.Fatal("different seeds gave the same schedule")
	}
	// 2000 expected; a Poisson count has sd ~45: allow 5 sd.
	if math.Abs(float64(len(a))-2000) > 225 {
		t.Fatalf("poisson 1000/s over 2s: %d arrivals", len(a))
	}
	// Exponential gaps: the coefficient of variation is about 1 (uniform would be 0).
	var sum, sq float64
	for i := 1; i < len(a); i++ {
		g := float64(a[i] - a[i-1])
		sum += g
		sq += g * g
	}
	n := float64(len(a) - 1)
	mean := sum / n
	cv := math.Sqrt(sq/n-mean*mean) / mean
	if cv < 0.85 || cv > 1.15 {
		t.Fatalf("poisson gaps: coefficient of variation %.2f, want about 1", cv)
	}
}

func TestZeroRateSendsNothing(t *testing.T) {
	got := offsets(NewSchedule("uniform", 1, func(time.Duration) float64 { return 0 }), time.Second)
	if len(got) != 0 {
		t.Fatalf("zero rate gave %d arrivals", len(got))
	}
}
