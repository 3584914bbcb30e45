package engine

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/loadshaper/loadshaper/stdlib"
)

var htmlOut = flag.String("html-out", "", "also write the test run's HTML report here")

// TestHTMLReport runs a short two-phase plan against the testbed and
// checks the HTML report carries its figures and nothing from elsewhere.
func TestHTMLReport(t *testing.T) {
	tb := startTestbed(t, testbed.Config{Capacity: 20000, Workers: 32, Cost: time.Microsecond})
	p := onePhase(tb.URL, 16, &lang.Phase{Name: "warm", Duration: time.Second, Rate: stdlib.Constant(50), Warmup: true})
	p.Phases = append(p.Phases, &lang.Phase{Name: "steady", Duration: 2 * time.Second, Rate: stdlib.Ramp{From: 100, To: 300},
		Chaos: []*lang.Chaos{{Kind: "abort", Duration: 2 * time.Second, Fraction: 0.1}}})
	minTput, maxP99 := 1e6, 5.0 // the first cannot hold, the second must
	p.Thresholds = []*lang.Threshold{
		{Name: "huge-throughput", Metric: "throughput", Min: &minTput},
		{Name: "p99-under-5s", Metric: "latency_p99", Max: &maxP99},
	}
	s := mustRun(t, p, Options{})
	path := filepath.Join(t.TempDir(), "out", "report.html")
	if err := s.WriteHTMLFile(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if *htmlOut != "" {
		if err := os.WriteFile(*htmlOut, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	page := string(b)
	if len(s.Timeline) < 8 || s.Timeline[0].Phase != "warm" || s.Timeline[len(s.Timeline)-1].Phase != "steady" {
		t.Fatalf("timeline %+v", s.Timeline)
	}
	want := []string{
		"<!DOCTYPE html>", "warm (warm-up)", "steady", "huge-throughput", "p99-under-5s",
		">FAIL<", ">PASS<", "thresholds failed",
		"Throughput per tick", "p99 latency per tick", "<svg", "<polyline",
		// The figures, formatted as the text summary formats them.
		">" + strconv.FormatInt(s.Phases[0].Requests, 10) + "<",
		">" + strconv.FormatInt(s.Phases[1].Requests, 10) + "<",
		">" + strconv.FormatInt(s.Overall.Aborted, 10) + "<",
		">" + ms(s.Overall.Latency.P99) + "<",
		">" + ms(s.Overall.Service.P50) + "<",
		">200<", ">" + strconv.FormatInt(s.Overall.Status["200"], 10) + "<",
	}
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("HTML lacks %q", w)
		}
	}
	if s.Overall.Aborted == 0 {
		t.Error("abort chaos aborted nothing")
	}
	// Self-contained: no script, no stylesheet or image from elsewhere.
	ext := regexp.MustCompile(`(?i)<script|<link|<img|src=|url\(|@import|https?://`)
	for _, m := range ext.FindAllString(strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, ""), -1) {
		t.Errorf("HTML refers to something outside the file: %q", m)
	}
	// One phase rule and label per phase on each chart.
	if n := strings.Count(page, ">steady</text>"); n != 2 {
		t.Errorf("phase label on %d charts, want 2", n)
	}
}

// TestHTMLEscapes: names from the plan cannot inject markup.
func TestHTMLEscapes(t *testing.T) {
	s := &Summary{Plan: `<b>x</b>`, Outcome: OutcomeCompleted, Phases: []PhaseSummary{{Name: `<script>alert(1)</script>`}},
		Timeline: []TickPoint{{T: 1, Phase: `<script>alert(1)</script>`, Throughput: 10, P99: 2}}}
	var b bytes.Buffer
	if err := s.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>") || strings.Contains(b.String(), "<b>x") {
		t.Fatal("plan names are not escaped")
	}
}
