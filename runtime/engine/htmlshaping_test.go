package engine

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var screenshotOut = flag.String("screenshot-out", "", "also keep the report's screenshot here (PNG)")

// shapedSummary is a 40-tick run as the control loop reports it: a guard
// that holds the rate at 200/s as the plan ramps past it (cpu 0.8, its band
// just above the reading), a rule that fails on ticks 12-14, safe mode on
// ticks 25-28 while cpu is stale.
func shapedSummary() *Summary {
	s := &Summary{Plan: "shaped", Outcome: OutcomeCompleted, Started: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC), DurationS: 40,
		Phases: []PhaseSummary{{Name: "warm", Warmup: true}, {Name: "ramp"}}}
	for i := 0; i < 40; i++ {
		phase := "ramp"
		if i < 4 {
			phase = "warm"
		}
		planned := 50 + 10*float64(i)
		shaped := math.Min(planned, 200)
		cpu := shaped / 250
		sp := &ShapingPoint{Planned: planned, Envelope: []EnvelopeReading{{Metric: "cpu", Limit: 0.8, Value: cpu,
			Prediction: &Band{Value: cpu, Lower: cpu - 0.02, Upper: cpu + 0.04, HorizonS: 2, By: "guard"}}}}
		if planned > 200 {
			sp.Decisions = append(sp.Decisions, ShaperMark{Shaper: "guard", Strategy: "predictive_rate_limit", Changed: fmt.Sprintf("rate %.0f -> 200", planned),
				Reason: fmt.Sprintf("cpu binds: predicted to reach 0.8 at 200 rps; the planned rate is %.0f", planned), RateBefore: planned, RateAfter: 200, Contention: "cpu"})
		}
		if i >= 12 && i <= 14 {
			sp.Decisions = append(sp.Decisions, ShaperMark{Shaper: "rule", Strategy: "script", Fallback: true, RateBefore: 200, RateAfter: 200,
				Error: `rules/r.star:2:16: in shape: key "checkout" not in dict`})
		}
		if i >= 25 && i <= 28 {
			sp.SafeMode = "safe mode lower: cpu stale"
			sp.Envelope[0].Stale = true
		}
		s.Timeline = append(s.Timeline, TickPoint{T: float64(i + 1), Phase: phase, Rate: shaped, Requests: int64(shaped), Throughput: shaped * 0.98, P99: 40, Shaping: sp})
	}
	return s
}

// The run's report shows shaping: per envelope metric the readings, the
// prediction band and the limit; the planned against the shaped rate with
// each shaper's decisions marked; safe-mode and fallback spans; hover
// values on every tick of every chart; the shapers and their failures.
func TestHTMLReportShowsShaping(t *testing.T) {
	s := shapedSummary()
	var b bytes.Buffer
	if err := s.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		"Throughput per tick (req/s), with the planned and the shaped rate",
		"cpu against its limit (0.80)",
		`<polygon class="band"`, `<line class="limit"`, ">limit 0.80</text>",
		`<path class="mark"`, "<title>guard at 17.0s: rate 210 -&gt; 200 — cpu binds",
		"<title>rule at 13.0s: FAILED: rules/r.star:2:16: in shape: key &#34;checkout&#34; not in dict</title>",
		`<rect class="span"`, "<title>shaper failed from 12.0s to 15.0s: rule: rules/r.star:2:16",
		"<title>safe mode from 25.0s to 29.0s: safe mode lower: cpu stale</title>",
		// Hover: the tick's values.
		"<title>13.0s · ramp\nplanned 170/s · shaped 170/s · completed 167/s\nrule FAILED: rules/r.star:2:16",
		"<title>20.0s · ramp\ncpu 0.80 of 0.80 (100% of the limit)\npredicted for 22.0s by guard: 0.80 (band 0.78 – 0.84)</title>",
		"<title>26.0s · ramp\ncpu 0.80 (stale) of 0.80",
		// The shapers, a failing one loud at the top and in the table.
		`<div class="verdict bad">shaper &#34;rule&#34; failed on 3 ticks (first at 13.0s)`,
		`<td class="err">FAILED: rules/r.star:2:16: in shape: key &#34;checkout&#34; not in dict</td>`,
		"Safe mode: 4 ticks, first at 26.0s",
		"<h2>Shaper decisions</h2>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	// One hover column per tick on each of the three charts.
	if n := strings.Count(page, `<rect class="hov"`); n != 3*len(s.Timeline) {
		t.Errorf("%d hover columns, want %d", n, 3*len(s.Timeline))
	}
	// A decision is marked where it starts or its reason changes, not on
	// every tick it repeats with new figures: the guard from 17 s on.
	if n := strings.Count(page, "<title>guard at "); n != 1 {
		t.Errorf("%d guard marks, want 1 (it acts for the same reason from 17 s on)", n)
	}
	// The band is drawn at the time it predicts: the first band point is
	// the first tick's time plus its horizon (1 s + 2 s), not the tick's.
	if !strings.Contains(page, `<polygon class="band" points="`+fmt.Sprintf("%.1f,", chartLeft+(chartW-chartLeft-chartRight)*3/40)) {
		t.Errorf("the band does not start at the time its first prediction is for")
	}
}

// The same report rendered by a real browser (headless chromium): the
// shaping drawing shows — the red limit lines, marks and fallback spans,
// the orange prediction bands and safe-mode spans — where the report of
// the same run without the control loop's data has none of it. Skips
// without chromium (.ci/run installs it).
func TestHTMLReportScreenshot(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium): no screenshot")
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	shaped := shapedSummary()
	plain := shapedSummary()
	for i := range plain.Timeline {
		plain.Timeline[i].Shaping = nil
	}
	shot := func(name string, s *Summary) image.Image {
		dir := t.TempDir()
		page := filepath.Join(dir, name+".html")
		if err := s.WriteHTMLFile(page); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, name+".png")
		cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+filepath.Join(dir, "profile"),
			"--screenshot="+out, "--window-size=1400,2000", "file://"+page)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("chromium: %v\n%s", err, b)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		if *screenshotOut != "" && name == "shaped" {
			b, _ := os.ReadFile(out)
			if err := os.WriteFile(*screenshotOut, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return img
	}
	red, orange := countHues(shot("shaped", shaped))
	pRed, pOrange := countHues(shot("plain", plain))
	t.Logf("red/orange pixels: %d/%d with shaping, %d/%d without", red, orange, pRed, pOrange)
	if red < 800 || orange < 3000 {
		t.Errorf("the browser drew %d red and %d orange pixels: the limit, marks, spans and bands are not rendered", red, orange)
	}
	if pRed > red/10 || pOrange > orange/10 {
		t.Errorf("without shaping %d red and %d orange pixels: the colours are not the shaping drawing's", pRed, pOrange)
	}
}

// countHues counts strongly red pixels (the limit lines, marks, fallback
// spans) and orange ones (bands, safe-mode spans).
func countHues(img image.Image) (red, orange int) {
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			h, s, v := hsv(float64(r)/65535, float64(g)/65535, float64(b)/65535)
			switch {
			case (h < 8 || h > 352) && s > 0.12 && v > 0.5:
				red++
			case h >= 18 && h <= 40 && s > 0.12 && v > 0.6:
				orange++
			}
		}
	}
	return red, orange
}

func hsv(r, g, b float64) (h, s, v float64) {
	mx, mn := math.Max(r, math.Max(g, b)), math.Min(r, math.Min(g, b))
	v = mx
	if mx == 0 || mx == mn {
		return 0, 0, v
	}
	s = (mx - mn) / mx
	switch mx {
	case r:
		h = 60 * math.Mod((g-b)/(mx-mn), 6)
	case g:
		h = 60 * ((b-r)/(mx-mn) + 2)
	default:
		h = 60 * ((r-g)/(mx-mn) + 4)
	}
	if h < 0 {
		h += 360
	}
	return h, s, v
}
