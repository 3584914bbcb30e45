package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Scrape reads a /metrics endpoint (Prometheus text or OpenMetrics) and
// picks one value per metric with a selector. Counters (and the _sum,
// _count and _bucket series of histograms and summaries) become rates per
// second between two reads; gauges are taken as they are.
type Scrape struct {
	url     string
	client  *http.Client
	tr      *http.Transport
	sels    map[string]*Selector
	mu      sync.Mutex
	prev    map[string]counterReading
	maxBody int64
}

type counterReading struct {
	v  float64
	at time.Time
}

func newScrape(_ string, spec *lang.MetricsSource) (Source, error) {
	if err := checkEndpoint(spec); err != nil {
		return nil, err
	}
	if len(spec.Queries) == 0 {
		return nil, errors.New("no selectors: name at least one metric, e.g. requests = \"http_requests_total{code=\\\"200\\\"}\"")
	}
	s := &Scrape{url: spec.Endpoint, sels: map[string]*Selector{}, prev: map[string]counterReading{}, maxBody: 64 << 20}
	var errs []error
	for name, q := range spec.Queries {
		sel, err := ParseSelector(q)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		s.sels[name] = sel
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var rt http.RoundTripper
	s.tr, rt = newTransport(spec)
	s.client = &http.Client{Transport: rt, Timeout: timeoutOf(spec)}
	return s, nil
}

// Close drops idle connections.
func (s *Scrape) Close() error { s.tr.CloseIdleConnections(); return nil }

// acceptHeader prefers the text format, which parses fastest; servers that
// speak only OpenMetrics are rewritten to it (openMetricsToText).
const acceptHeader = `text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,*/*;q=0.1`

// Read implements Source.
func (s *Scrape) Read(ctx context.Context, _ time.Time) (map[string]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", acceptHeader)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	at := time.Now()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", s.url, resp.Status)
	}
	body := io.Reader(io.LimitReader(resp.Body, s.maxBody))
	format := expfmt.ResponseFormat(resp.Header)
	switch format.FormatType() {
	case expfmt.TypeOpenMetrics:
		if body, err = openMetricsToText(body); err != nil {
			return nil, fmt.Errorf("GET %s: %w", s.url, err)
		}
		format = expfmt.NewFormat(expfmt.TypeTextPlain)
	case expfmt.TypeUnknown:
		format = expfmt.NewFormat(expfmt.TypeTextPlain)
	}
	series, err := parseExposition(body, format)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", s.url, err)
	}
	return s.pick(series, at), nil
}

// flatSeries is one series of a scrape, as PromQL would name it.
type flatSeries struct {
	name       string
	labels     map[string]string
	value      float64
	cumulative bool // counter-like: becomes a rate
}

func parseExposition(r io.Reader, format expfmt.Format) ([]flatSeries, error) {
	dec := expfmt.NewDecoder(r, format)
	var out []flatSeries
	for {
		var f dto.MetricFamily
		if err := dec.Decode(&f); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		out = appendFamily(out, &f)
	}
}

func labelsOf(m *dto.Metric, extra ...string) map[string]string {
	l := make(map[string]string, len(m.Label)+1)
	for _, p := range m.Label {
		l[p.GetName()] = p.GetValue()
	}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

func appendFamily(out []flatSeries, f *dto.MetricFamily) []flatSeries {
	name := f.GetName()
	for _, m := range f.Metric {
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			n := name
			// OpenMetrics names a counter family without the _total its
			// samples carry: offer the series under both names.
			if !strings.HasSuffix(n, "_total") {
				n += "_total"
			}
			out = append(out, flatSeries{n, labelsOf(m), m.GetCounter().GetValue(), true})
			if n != name {
				out = append(out, flatSeries{name, labelsOf(m), m.GetCounter().GetValue(), true})
			}
		case dto.MetricType_GAUGE:
			out = append(out, flatSeries{name, labelsOf(m), m.GetGauge().GetValue(), false})
		case dto.MetricType_UNTYPED:
			out = append(out, flatSeries{name, labelsOf(m), m.GetUntyped().GetValue(), false})
		case dto.MetricType_SUMMARY:
			s := m.GetSummary()
			for _, q := range s.Quantile {
				out = append(out, flatSeries{name, labelsOf(m, "quantile", fmt.Sprint(q.GetQuantile())), q.GetValue(), false})
			}
			out = append(out,
				flatSeries{name + "_sum", labelsOf(m), s.GetSampleSum(), true},
				flatSeries{name + "_count", labelsOf(m), float64(s.GetSampleCount()), true})
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			h := m.GetHistogram()
			cum := f.GetType() == dto.MetricType_HISTOGRAM
			for _, b := range h.Bucket {
				out = append(out, flatSeries{name + "_bucket", labelsOf(m, "le", fmt.Sprint(b.GetUpperBound())), float64(b.GetCumulativeCount()), cum})
			}
			if n := len(h.Bucket); n == 0 || !math.IsInf(h.Bucket[n-1].GetUpperBound(), 1) {
				out = append(out, flatSeries{name + "_bucket", labelsOf(m, "le", "+Inf"), float64(h.GetSampleCount()), cum})
			}
			out = append(out,
				flatSeries{name + "_sum", labelsOf(m), h.GetSampleSum(), cum},
				flatSeries{name + "_count", labelsOf(m), float64(h.GetSampleCount()), cum})
		}
	}
	return out
}

func (s *Scrape) pick(series []flatSeries, at time.Time) map[string]Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Sample, len(s.sels))
	names := make([]string, 0, len(s.sels))
	for n := range s.sels {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sel := s.sels[n]
		var sum float64
		found, cum := 0, false
		for _, fs := range series {
			if sel.Match(fs.name, fs.labels) {
				sum += fs.value
				found++
				cum = cum || fs.cumulative
			}
		}
		switch {
		case found == 0:
			out[n] = Sample{At: at, Stale: true, Reason: "no series matches " + sel.Name}
		case !cum:
			out[n] = Sample{Value: sum, At: at}
		default:
			prev, ok := s.prev[n]
			s.prev[n] = counterReading{sum, at}
			dt := at.Sub(prev.at).Seconds()
			if !ok || dt <= 0 {
				out[n] = Sample{At: at, Stale: true, Reason: "a rate needs two readings"}
				continue
			}
			inc := sum - prev.v
			if inc < 0 { // counter reset: the process restarted
				inc = sum
			}
			r := inc / dt
			if math.IsNaN(r) || math.IsInf(r, 0) {
				out[n] = Sample{At: at, Stale: true, Reason: "not a number"}
				continue
			}
			out[n] = Sample{Value: r, At: at}
		}
	}
	return out
}
