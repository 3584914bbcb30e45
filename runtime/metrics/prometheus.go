package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

func init() {
	Register("prometheus", newPrometheus)
	Register("scrape", newScrape)
	Register("process", newProcess)
	Register("host", newHost)
}

// authTransport adds basic or bearer credentials to every request.
type authTransport struct {
	base            http.RoundTripper
	user, pass, tok string
}

func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.user == "" && t.tok == "" {
		return t.base.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	if t.tok != "" {
		r.Header.Set("Authorization", "Bearer "+t.tok)
	} else {
		r.SetBasicAuth(t.user, t.pass)
	}
	return t.base.RoundTrip(r)
}

func newTransport(spec *lang.MetricsSource) (*http.Transport, http.RoundTripper) {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
	}
	return tr, &authTransport{base: tr, user: spec.Username, pass: spec.Password, tok: spec.Token}
}

func checkEndpoint(spec *lang.MetricsSource) error {
	if spec.Endpoint == "" {
		return errors.New("endpoint is required")
	}
	u, err := url.Parse(spec.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("endpoint %q is not an http(s) URL", spec.Endpoint)
	}
	if spec.Token != "" && spec.Username != "" {
		return errors.New("set either username/password or token, not both")
	}
	return nil
}

// Prometheus runs one PromQL instant query per metric against a
// Prometheus server's HTTP API, concurrently, each with its own timeout.
type Prometheus struct {
	api     v1.API
	tr      *http.Transport
	queries map[string]string
	timeout time.Duration
}

func newPrometheus(_ string, spec *lang.MetricsSource) (Source, error) {
	if err := checkEndpoint(spec); err != nil {
		return nil, err
	}
	if len(spec.Queries) == 0 {
		return nil, errors.New("no queries: name at least one metric, e.g. cpu = \"rate(process_cpu_seconds_total[10s])\"")
	}
	tr, rt := newTransport(spec)
	client, err := api.NewClient(api.Config{Address: spec.Endpoint, RoundTripper: rt})
	if err != nil {
		return nil, err
	}
	return &Prometheus{api: v1.NewAPI(client), tr: tr, queries: spec.Queries, timeout: timeoutOf(spec)}, nil
}

// Close drops idle connections.
func (p *Prometheus) Close() error { p.tr.CloseIdleConnections(); return nil }

// Read implements Source. A query that fails, times out or returns no
// series gives a stale sample; the source fails only when every query does.
func (p *Prometheus) Read(ctx context.Context, now time.Time) (map[string]Sample, error) {
	var mu sync.Mutex
	out := make(map[string]Sample, len(p.queries))
	var errs []string
	var wg sync.WaitGroup
	for name, q := range p.queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qctx, cancel := context.WithTimeout(ctx, p.timeout)
			defer cancel()
			s, err := p.query(qctx, q, now)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", name, err))
				s = Sample{Stale: true, Reason: err.Error()}
			}
			out[name] = s
		}()
	}
	wg.Wait()
	if len(errs) == len(p.queries) {
		sort.Strings(errs)
		return nil, errors.New(errs[0])
	}
	return out, nil
}

func (p *Prometheus) query(ctx context.Context, q string, now time.Time) (Sample, error) {
	val, _, _, err := p.api.Query(ctx, q, now, v1.WithTimeout(p.timeout))
	if err != nil {
		if ctx.Err() != nil {
			return Sample{}, fmt.Errorf("query timed out after %s", p.timeout)
		}
		return Sample{}, err
	}
	return sampleOf(val)
}

// sampleOf reduces a query result to one number: a scalar as is, a vector
// summed over its series (use avg() or max() in the query to choose
// otherwise). An empty vector is stale: the query matched nothing.
func sampleOf(val model.Value) (Sample, error) {
	switch v := val.(type) {
	case *model.Scalar:
		return Sample{Value: float64(v.Value), At: v.Timestamp.Time()}, nil
	case model.Vector:
		if len(v) == 0 {
			return Sample{Stale: true, Reason: "query returned no series"}, nil
		}
		s := Sample{}
		for _, e := range v {
			s.Value += float64(e.Value)
			if t := e.Timestamp.Time(); t.After(s.At) {
				s.At = t
			}
		}
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			return Sample{Stale: true, Reason: "query returned " + fmt.Sprint(s.Value)}, nil
		}
		return s, nil
	}
	return Sample{}, fmt.Errorf("query returned a %s; want an instant vector or a scalar", val.Type())
}
