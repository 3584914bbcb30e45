package predictors

import (
	"math"
	"math/rand/v2"
	"testing"
)

// anomalyFamilies are synthetic series of 5-minute samples (a day is 288),
// unlike the NAB files the defaults were chosen on. In the quiet ones
// nothing happens that an operator would want to hear about; each of the
// others has one incident, starting at at. In iid noise with a heavy or
// discrete tail a value beyond anything in the memory does come, about once
// in a few thousand values while the memory is young (a record is a record):
// those families may have one event (spec/predictors.md).
type anomalyFamily struct {
	y        []float64
	at       int // -1: none
	tolerate int // events allowed on a quiet family
}

func anomalyFamilies() map[string]anomalyFamily {
	const n = 6000
	src := rand.NewPCG(7, 7)
	r := rand.New(src)
	seed := uint64(0)
	gen := func(f func(i int, prev float64) float64) []float64 {
		// Each family has its own stream, whatever the order they are made in.
		seed++
		src.Seed(seed, 7)
		y := make([]float64, n)
		prev := 0.0
		for i := range y {
			y[i] = f(i, prev)
			prev = y[i]
		}
		return y
	}
	noise := func(i int, _ float64) float64 { return 50 + r.NormFloat64() }
	daily := func(i int) float64 { return 20 * math.Sin(2*math.Pi*float64(i)/288) }
	routine := func(i int) float64 { // a nightly job: the same spike every day
		if i%288 < 3 {
			return 30
		}
		return 0
	}
	fam := map[string]anomalyFamily{
		"white_noise":   {gen(noise), -1, 0},
		"heavy_tail":    {gen(func(i int, _ float64) float64 { return 10 + 2*r.ExpFloat64() + 5*math.Pow(r.Float64(), 30) }), -1, 1},
		"counts":        {gen(func(i int, _ float64) float64 { return math.Floor(5 + 3*r.ExpFloat64()) }), -1, 1},
		"nightly_job":   {gen(func(i int, _ float64) float64 { return 50 + r.NormFloat64() + routine(i) }), -1, 0},
		"daily_season":  {gen(func(i int, _ float64) float64 { return 100 + daily(i) + r.NormFloat64() }), -1, 0},
		"ar1_0.9":       {gen(func(i int, p float64) float64 { return 0.9*p + r.NormFloat64() }), -1, 0},
		"quantised_cpu": {gen(func(i int, _ float64) float64 { return math.Round(2+0.4*r.NormFloat64()) / 10 }), -1, 1},
	}
	spike := gen(noise)
	for i := 4000; i < 4004; i++ {
		spike[i] += 12 // a burst twice as large as any noise
	}
	fam["burst"] = anomalyFamily{spike, 4000, 0}
	shift := gen(noise)
	for i := 4000; i < n; i++ {
		shift[i] += 4 // a new level, within the old noise's range at first
	}
	fam["level_shift"] = anomalyFamily{shift, 4000, 0}
	bigJob := gen(func(i int, _ float64) float64 { return 50 + r.NormFloat64() + routine(i) })
	for i := 4032; i < 4035; i++ {
		bigJob[i] += 40 // the nightly job, but much heavier than ever
	}
	fam["nightly_job_heavier"] = anomalyFamily{bigJob, 4032, 0}
	holiday := gen(func(i int, _ float64) float64 { return 100 + daily(i) + r.NormFloat64() })
	for i := 4032; i < 4032+288; i++ {
		holiday[i] = 100 + r.NormFloat64() // a day without the daily pattern
	}
	fam["missing_day"] = anomalyFamily{holiday, 4032, 0}
	return fam
}

func TestAnomalyFamilies(t *testing.T) {
	for name, f := range anomalyFamilies() {
		evs := DetectAnomalies(f.y, AnomalyConfig{})
		if f.at < 0 {
			if len(evs) > f.tolerate {
				t.Errorf("%s: %d events on a series without an incident: %+v", name, len(evs), evs)
			}
			continue
		}
		found := false
		for _, e := range evs {
			if e.Index >= f.at && e.Index < f.at+288 {
				found = true
			} else {
				t.Errorf("%s: false alarm %+v", name, e)
			}
		}
		if !found {
			t.Errorf("%s: the incident at %d was not found; events %+v", name, f.at, evs)
		}
	}
}

func TestAnomalyGapsConstantAndTiny(t *testing.T) {
	y := anomalyFamilies()["burst"].y
	gappy := append([]float64(nil), y...)
	for i := 100; i < len(gappy); i += 97 {
		gappy[i] = math.NaN()
	}
	evs := DetectAnomalies(gappy, AnomalyConfig{})
	if len(evs) != 1 || evs[0].Index < 4000 || evs[0].Index > 4003 || evs[0].Kind != AnomalySpike {
		t.Errorf("burst with gaps: %+v", evs)
	}
	if evs := DetectAnomalies(make([]float64, 5000), AnomalyConfig{}); len(evs) != 0 {
		t.Errorf("constant series: %+v", evs)
	}
	if evs := DetectAnomalies([]float64{1, 2, math.Inf(1), 3}, AnomalyConfig{}); len(evs) != 0 {
		t.Errorf("tiny: %+v", evs)
	}
}

// The detector is online: what it says about the first k values does not
// depend on what comes after them.
func TestAnomalyOnline(t *testing.T) {
	y := anomalyFamilies()["missing_day"].y
	all := DetectAnomalies(y, AnomalyConfig{})
	part := DetectAnomalies(y[:4100], AnomalyConfig{})
	var want []AnomalyEvent
	for _, e := range all {
		if e.Index < 4100 {
			want = append(want, e)
		}
	}
	if len(part) != len(want) {
		t.Fatalf("prefix: %+v, whole series: %+v", part, want)
	}
	for i := range part {
		if part[i] != want[i] {
			t.Errorf("event %d: prefix %+v, whole %+v", i, part[i], want[i])
		}
	}
}

func TestSlidingMax(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	const w = 17
	m := newSlidingMax(w)
	var vals []float64
	for i := 0; i < 500; i++ {
		want := math.Inf(-1)
		for k := max(0, i-w); k < i; k++ {
			want = math.Max(want, vals[k])
		}
		if got := m.max(i, w); got != want {
			t.Fatalf("at %d: max %v, want %v", i, got, want)
		}
		v := math.Floor(r.Float64() * 20)
		if i > 300 {
			v = -float64(i) // decreasing: the deque must not outgrow the window
		}
		vals = append(vals, v)
		m.push(i, v)
	}
}

func BenchmarkAnomalyObserve(b *testing.B) {
	d := NewAnomalyDetector(AnomalyConfig{})
	y := noisyLine(5000, 10, 0, 1, 1)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.Observe(y[i%len(y)])
	}
}
