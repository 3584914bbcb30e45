package lang

import (
	"encoding/json"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Inspection is what `loadshaper inspect` prints: the decoded, evaluated
// plan with durations as strings, rates described, and derived figures
// (phase start and end, total duration, request shares) spelled out.
type Inspection struct {
	Name          string                     `json:"name"`
	Files         []string                   `json:"files"`
	TotalDuration string                     `json:"total_duration"`
	Variables     map[string]json.RawMessage `json:"variables"`
	Settings      InspectSettings            `json:"settings"`
	Targets       []InspectTarget            `json:"targets"`
	Envelopes     []InspectEnvelope          `json:"envelopes"`
	Requests      []InspectRequest           `json:"requests"`
	Flows         []InspectFlow              `json:"flows,omitempty"`
	Predictors    []InspectPredictor         `json:"predictors"`
	Shapers       []InspectShaper            `json:"shapers"`
	Phases        []InspectPhase             `json:"phases"`
	Thresholds    []InspectThreshold         `json:"thresholds"`
	Outputs       []*Output                  `json:"outputs"`
	Intents       []InspectIntent            `json:"intents"`
	Simulate      *InspectSimulate           `json:"simulate,omitempty"`
}

type InspectSettings struct {
	Tick        string  `json:"tick"`
	MaxRate     float64 `json:"max_rate"`
	Seed        int64   `json:"seed"`
	History     string  `json:"history,omitempty"`
	HistoryKeep string  `json:"history_keep,omitempty"`
}

type InspectTarget struct {
	Name           string            `json:"name"`
	URL            string            `json:"url"`
	Timeout        string            `json:"timeout"`
	MaxConnections int               `json:"max_connections"`
	KeepAlive      bool              `json:"keep_alive"`
	Headers        map[string]string `json:"headers,omitempty"`
	Config         string            `json:"config,omitempty"` // as the plan sets it; absent: the block's hash is the fingerprint
	Metrics        []InspectMetrics  `json:"metrics"`
}

type InspectMetrics struct {
	Kind     string            `json:"kind"`
	Endpoint string            `json:"endpoint,omitempty"`
	Queries  map[string]string `json:"queries,omitempty"`
	Timeout  string            `json:"timeout"`
	PID      int               `json:"pid,omitempty"`
	Process  string            `json:"process,omitempty"`
	Auth     string            `json:"auth,omitempty"` // "basic" | "bearer"; secrets are never printed
	OnStale  string            `json:"on_stale"`
}

type InspectEnvelope struct {
	Name   string         `json:"name"`
	Limits []InspectLimit `json:"limits"`
}

type InspectLimit struct {
	Metric  string  `json:"metric"`
	Max     float64 `json:"max"`
	Unit    string  `json:"unit"`
	Display string  `json:"display"`
}

type InspectRequest struct {
	Name     string            `json:"name"`
	Target   string            `json:"target"`
	Method   string            `json:"method"`
	Path     string            `json:"path"`
	Query    map[string]string `json:"query,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
	Body     string            `json:"body,omitempty"`
	Weight   float64           `json:"weight,omitempty"` // omitted for a flow's steps
	Share    float64           `json:"share,omitempty"`  // weight / sum of weights
	Priority string            `json:"priority,omitempty"`
	DataFile string            `json:"data_file,omitempty"`
	Checks   []InspectCheck    `json:"checks,omitempty"`
	Extracts []InspectExtract  `json:"extracts,omitempty"`
	OnFail   string            `json:"on_fail,omitempty"`
}

type InspectPredictor struct {
	Name    string                     `json:"name"`
	Metric  string                     `json:"metric"`
	Target  string                     `json:"target,omitempty"`
	Model   string                     `json:"model"`
	Horizon string                     `json:"horizon"`
	History string                     `json:"history"`
	Params  map[string]json.RawMessage `json:"params"`
}

type InspectShaper struct {
	Name     string                     `json:"name"`
	Strategy string                     `json:"strategy,omitempty"`
	Script   string                     `json:"script,omitempty"`
	OnError  string                     `json:"on_error,omitempty"` // only when not the default fallback
	Envelope string                     `json:"envelope,omitempty"`
	Params   map[string]json.RawMessage `json:"params"`
}

type InspectPhase struct {
	Name        string         `json:"name"`
	Start       string         `json:"start"`
	End         string         `json:"end"`
	Duration    string         `json:"duration"`
	Model       string         `json:"model"` // open | closed
	Rate        string         `json:"rate,omitempty"`
	PeakRate    float64        `json:"peak_rate,omitempty"`
	Requests    float64        `json:"expected_requests,omitempty"` // integral of the rate over the phase
	Concurrency int            `json:"concurrency,omitempty"`
	ThinkTime   string         `json:"think_time,omitempty"`
	Arrival     string         `json:"arrival,omitempty"`
	MaxRate     float64        `json:"max_rate,omitempty"`
	Shapers     []string       `json:"shapers"`
	RequestMix  []string       `json:"requests"`
	FlowMix     []string       `json:"flows,omitempty"`
	Warmup      bool           `json:"warmup"`
	Chaos       []InspectChaos `json:"chaos,omitempty"`
}

type InspectChaos struct {
	Kind           string            `json:"kind"`
	At             string            `json:"at"`
	Duration       string            `json:"duration"`
	Factor         float64           `json:"factor,omitempty"`
	Fraction       float64           `json:"fraction,omitempty"`
	Headers        map[string]string `json:"headers,omitempty"`
	WithinEnvelope bool              `json:"within_envelope"`
}

type InspectThreshold struct {
	Name   string   `json:"name"`
	Metric string   `json:"metric"`
	Max    *float64 `json:"max,omitempty"`
	Min    *float64 `json:"min,omitempty"`
	Window string   `json:"window"`
	Abort  bool     `json:"abort"`
	Delay  string   `json:"delay,omitempty"`
	Phase  string   `json:"phase,omitempty"`
}

type InspectIntent struct {
	Name   string  `json:"name"`
	Kind   string  `json:"kind"`
	At     string  `json:"at"`
	Metric string  `json:"metric,omitempty"`
	Change float64 `json:"change,omitempty"`
	Growth float64 `json:"growth,omitempty"`
}

type InspectSimulate struct {
	Capacity         float64 `json:"capacity"`
	Cores            float64 `json:"cores"`
	BaseCPU          float64 `json:"base_cpu"`
	CostPerRequest   string  `json:"cost_per_request"`
	BaseMemory       float64 `json:"base_memory"`
	MemoryPerConn    float64 `json:"memory_per_conn"`
	BaseLatency      string  `json:"base_latency"`
	Noise            float64 `json:"noise"`
	CapacityChangeAt string  `json:"capacity_change_at,omitempty"`
	CapacityChangeTo float64 `json:"capacity_change_to,omitempty"`
}

func ctyJSON(v cty.Value) json.RawMessage {
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}

func ctyMap(m map[string]cty.Value) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range m {
		out[k] = ctyJSON(v)
	}
	return out
}

func limitDisplay(l Limit) string {
	switch l.Unit {
	case UnitSeconds:
		return stdlib.FormatDuration(secondsDur(l.Max))
	case UnitBytes:
		return stdlib.FormatSize(l.Max)
	case UnitFraction:
		return fmtNum(l.Max*100) + "%"
	case UnitRPS:
		return fmtNum(l.Max) + " requests/s"
	}
	return fmtNum(l.Max)
}

// Inspect builds the inspection of a plan.
func Inspect(p *Plan) *Inspection {
	dur := stdlib.FormatDuration
	in := &Inspection{
		Name: p.Name, Files: p.Files, TotalDuration: dur(p.TotalDuration()),
		Variables: inspectVars(p),
		Settings: InspectSettings{Tick: dur(p.Settings.Tick), MaxRate: p.Settings.MaxRate, Seed: p.Settings.Seed,
			History: rel(p.Dir, p.Settings.HistoryPath)},
		Targets: []InspectTarget{}, Envelopes: []InspectEnvelope{}, Requests: []InspectRequest{}, Predictors: []InspectPredictor{},
		Shapers: []InspectShaper{}, Phases: []InspectPhase{}, Thresholds: []InspectThreshold{}, Outputs: p.Outputs, Intents: []InspectIntent{},
	}
	if in.Outputs == nil {
		in.Outputs = []*Output{}
	}
	if p.Settings.HistoryKeep > 0 {
		in.Settings.HistoryKeep = dur(p.Settings.HistoryKeep)
	}
	for _, t := range p.Targets {
		it := InspectTarget{Name: t.Name, URL: t.URL, Timeout: dur(t.Timeout), MaxConnections: t.MaxConnections, KeepAlive: t.KeepAlive, Config: t.Config, Metrics: []InspectMetrics{}}
		if len(t.Headers) > 0 {
			it.Headers = redactHeaders(t.Headers)
		}
		for _, m := range t.Metrics {
			im := InspectMetrics{Kind: m.Kind, Endpoint: m.Endpoint, Queries: m.Queries, Timeout: dur(m.Timeout), PID: m.PID, Process: m.Process, OnStale: m.OnStale}
			if m.Token != "" {
				im.Auth = "bearer"
			} else if m.Username != "" {
				im.Auth = "basic"
			}
			it.Metrics = append(it.Metrics, im)
		}
		in.Targets = append(in.Targets, it)
	}
	for _, e := range p.Envelopes {
		ie := InspectEnvelope{Name: e.Name, Limits: []InspectLimit{}}
		limits := append([]Limit(nil), e.Limits...)
		sort.Slice(limits, func(i, j int) bool { return limits[i].Metric < limits[j].Metric })
		for _, l := range limits {
			ie.Limits = append(ie.Limits, InspectLimit{Metric: l.Metric, Max: l.Max, Unit: l.Unit, Display: limitDisplay(l)})
		}
		in.Envelopes = append(in.Envelopes, ie)
	}
	total := 0.0
	for _, m := range p.Mix() {
		total += m.Weight
	}
	for _, r := range p.Requests {
		ir := inspectRequest(p, r)
		if total > 0 {
			ir.Share = roundTo(r.Weight/total, 4)
		}
		in.Requests = append(in.Requests, ir)
	}
	in.Flows = inspectFlows(p, total)
	for _, pr := range p.Predictors {
		in.Predictors = append(in.Predictors, InspectPredictor{Name: pr.Name, Metric: pr.Metric, Target: pr.Target, Model: pr.Model,
			Horizon: dur(pr.Horizon), History: dur(pr.History), Params: ctyMap(pr.Params)})
	}
	for _, s := range p.Shapers {
		in.Shapers = append(in.Shapers, InspectShaper{Name: s.Name, Strategy: s.Strategy, Script: rel(p.Dir, s.Script), OnError: nonDefault(s.OnError, "fallback"), Envelope: s.Envelope, Params: ctyMap(s.Params)})
	}
	for _, ph := range p.Phases {
		ip := InspectPhase{Name: ph.Name, Start: dur(ph.Start), End: dur(ph.Start + ph.Duration), Duration: dur(ph.Duration),
			MaxRate: ph.MaxRate, Shapers: ph.Shapers, RequestMix: ph.Requests, FlowMix: ph.Flows, Warmup: ph.Warmup}
		if ip.Shapers == nil {
			ip.Shapers = []string{}
		}
		if ip.RequestMix == nil {
			ip.RequestMix = []string{}
		}
		if ph.Concurrency > 0 {
			ip.Model, ip.Concurrency = "closed", ph.Concurrency
			if ph.ThinkTime > 0 {
				ip.ThinkTime = dur(ph.ThinkTime)
			}
		} else if ph.Rate != nil {
			ip.Model, ip.Rate, ip.Arrival = "open", ph.Rate.String(), ph.Arrival
			ip.PeakRate = ph.Rate.Peak(ph.Duration)
			ip.Requests = roundTo(expectedRequests(ph)*p.RequestsPerArrival(ph), 1)
		}
		for _, c := range ph.Chaos {
			ip.Chaos = append(ip.Chaos, InspectChaos{Kind: c.Kind, At: dur(c.At), Duration: dur(c.Duration), Factor: c.Factor, Fraction: c.Fraction, Headers: c.Headers, WithinEnvelope: c.WithinEnvelope})
		}
		in.Phases = append(in.Phases, ip)
	}
	for _, t := range p.Thresholds {
		it := InspectThreshold{Name: t.Name, Metric: t.Metric, Max: t.Max, Min: t.Min, Window: "run", Abort: t.Abort, Phase: t.Phase}
		if t.Window > 0 {
			it.Window = dur(t.Window)
		}
		if t.Delay > 0 {
			it.Delay = dur(t.Delay)
		}
		in.Thresholds = append(in.Thresholds, it)
	}
	for _, i := range p.Intents {
		in.Intents = append(in.Intents, InspectIntent{Name: i.Name, Kind: i.Kind, At: dur(i.At), Metric: i.Metric, Change: i.Change, Growth: i.Growth})
	}
	if s := p.Simulate; s != nil {
		is := &InspectSimulate{Capacity: s.Capacity, Cores: s.Cores, BaseCPU: s.BaseCPU, CostPerRequest: dur(s.CostPerRequest), BaseMemory: s.BaseMemory,
			MemoryPerConn: s.MemoryPerConn, BaseLatency: dur(s.BaseLatency), Noise: s.Noise, CapacityChangeTo: s.CapacityChangeTo}
		if s.CapacityChangeAt > 0 {
			is.CapacityChangeAt = dur(s.CapacityChangeAt)
		}
		in.Simulate = is
	}
	return in
}

// expectedRequests integrates the rate over the phase (1000 slices: exact
// for constants and ramps, close for the rest), before any shaping.
func expectedRequests(ph *Phase) float64 {
	const n = 1000
	sum := 0.0
	for i := 0; i < n; i++ {
		t := ph.Duration * time.Duration(2*i+1) / (2 * n)
		sum += ph.Rate.At(t, ph.Duration)
	}
	return roundTo(sum/n*ph.Duration.Seconds(), 1)
}

func roundTo(f float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(f*p) / p
}

// rel shows a path of the plan relative to the plan's directory, as the
// plan wrote it, so inspect output does not depend on the machine.
func rel(dir, path string) string {
	if path == "" || dir == "" {
		return path
	}
	if r, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

func secondsDur(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// WriteInspection prints the inspection of p as indented JSON.
func WriteInspection(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Inspect(p))
}

// redacted stands in for values inspect does not print.
const redacted = "(redacted)"

func inspectVars(p *Plan) map[string]json.RawMessage {
	out := ctyMap(p.Variables)
	for name := range p.Sensitive {
		if _, ok := out[name]; ok {
			out[name] = json.RawMessage(`"(sensitive)"`)
		}
	}
	return out
}

// redactHeaders hides credentials: inspect output ends up in CI logs and
// issue reports.
func redactHeaders(h map[string]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		lk := strings.ToLower(k)
		if lk == "authorization" || lk == "proxy-authorization" || lk == "cookie" ||
			strings.Contains(lk, "token") || strings.Contains(lk, "secret") || strings.Contains(lk, "api-key") || strings.Contains(lk, "apikey") {
			v = redacted
		}
		out[k] = v
	}
	return out
}

func nonDefault(v, def string) string {
	if v == def {
		return ""
	}
	return v
}
