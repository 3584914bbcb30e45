package metrics

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// exposition of a typical Go service (Go runtime and process collectors
// plus a request counter and histogram), in the given format.
func benchExposition(b *testing.B, accept string) []byte {
	reg := prometheus.NewRegistry()
	// No Go collector: expfmt's OpenMetrics parser rejects its output
	// (TestScrapeOpenMetricsGoCollector), and the three parsers must read
	// the same page.
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "r"}, []string{"code"})
	lat := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "latency_seconds", Help: "l"})
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), reqs, lat)
	reqs.WithLabelValues("200").Add(10)
	lat.Observe(0.1)
	rr := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", accept)
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}).ServeHTTP(rr, req)
	b.SetBytes(int64(rr.Body.Len()))
	return rr.Body.Bytes()
}

// Parsing one scrape: the text format, OpenMetrics through our rewrite,
// and OpenMetrics through expfmt's own parser (why we rewrite).
func BenchmarkScrapeParseText(b *testing.B) {
	body := benchExposition(b, "text/plain;version=0.0.4")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := parseExposition(bytes.NewReader(body), expfmt.NewFormat(expfmt.TypeTextPlain)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScrapeParseOpenMetricsRewrite(b *testing.B) {
	body := benchExposition(b, "application/openmetrics-text;version=1.0.0")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := openMetricsToText(bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := parseExposition(r, expfmt.NewFormat(expfmt.TypeTextPlain)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScrapeParseOpenMetricsExpfmt(b *testing.B) {
	body := benchExposition(b, "application/openmetrics-text;version=1.0.0")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := parseExposition(bytes.NewReader(body), expfmt.FmtOpenMetrics_1_0_0); err != nil {
			b.Fatal(err)
		}
	}
}

// The Collector's own cost per tick: 10 sources of 5 metrics each that
// answer at once.
func BenchmarkCollectorRead(b *testing.B) {
	c := &Collector{}
	for i := 0; i < 10; i++ {
		c.Add(Spec{Target: "api", Name: "s", Source: SourceFunc(func(_ context.Context, now time.Time) (map[string]Sample, error) {
			return map[string]Sample{"a": {Value: 1}, "b": {Value: 2}, "c": {Value: 3}, "d": {Value: 4}, "e": {Value: 5}}, nil
		})})
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := c.Read(ctx, time.Unix(int64(i), 0))
		if len(s.Targets["api"]) != 5 {
			b.Fatal("missing metrics")
		}
	}
}
