package engine

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/stdlib"
)

// AttackConfig is an ad-hoc run against one URL (`loadshaper attack`).
type AttackConfig struct {
	URL                string
	Method             string
	Body               string
	Headers            map[string]string
	Rate               float64 // requests per second; 0 = as fast as the connections allow (closed model)
	Duration           time.Duration
	Connections        int
	Timeout            time.Duration
	Arrival            string // uniform | poisson
	KeepAlive          bool
	InsecureSkipVerify bool
}

// AttackPlan builds the one-phase plan an attack runs.
func AttackPlan(c AttackConfig) (*lang.Plan, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http:// or https:// URL", c.URL)
	}
	if c.Duration <= 0 {
		return nil, errors.New("duration must be positive")
	}
	if c.Connections <= 0 {
		return nil, errors.New("connections must be positive")
	}
	if c.Rate < 0 {
		return nil, errors.New("rate must be positive or max")
	}
	if c.Arrival == "" {
		c.Arrival = "uniform"
	}
	if c.Arrival != "uniform" && c.Arrival != "poisson" {
		return nil, fmt.Errorf("arrival must be uniform or poisson, not %q", c.Arrival)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	query := map[string]string{}
	for k, vs := range u.Query() {
		query[k] = strings.Join(vs, ",")
	}
	t := &lang.Target{Name: "target", URL: u.Scheme + "://" + u.Host, Timeout: c.Timeout, MaxConnections: c.Connections,
		KeepAlive: c.KeepAlive, InsecureSkipVerify: c.InsecureSkipVerify}
	r := &lang.Request{Name: "attack", Target: "target", Method: c.Method, Path: path, Query: query, Headers: c.Headers,
		Body: c.Body, Weight: 1, Priority: "normal"}
	ph := &lang.Phase{Name: "attack", Duration: c.Duration, Arrival: c.Arrival}
	if c.Rate > 0 {
		ph.Rate = stdlib.Constant(c.Rate)
	} else {
		ph.Concurrency = c.Connections
	}
	return &lang.Plan{Name: "attack", Targets: []*lang.Target{t}, Requests: []*lang.Request{r}, Phases: []*lang.Phase{ph},
		Settings: lang.Settings{Tick: time.Second}}, nil
}
