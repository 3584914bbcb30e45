package lang

import (
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
)

// Plan is a decoded, evaluated and validated .lshcl plan: everything the
// runtime needs to execute it, and everything `inspect` prints. Values are
// concrete (durations, sizes and rates parsed); references between blocks
// are by name and have been checked to exist and to be of the right kind.
type Plan struct {
	Name  string   // the plan's name: the base name of its first file without extension
	Files []string // the .lshcl files, then the Starlark scripts they name, in load order
	Dir   string   // directory of the plan; relative paths in the plan resolve here

	Variables map[string]cty.Value // final values of input variables
	Sensitive map[string]bool      // variables declared sensitive = true: inspect does not print them

	Targets    []*Target
	Envelopes  []*Envelope
	Requests   []*Request
	Flows      []*Flow
	Predictors []*Predictor
	Shapers    []*Shaper
	Phases     []*Phase
	Thresholds []*Threshold
	Outputs    []*Output
	Intents    []*Intent
	Simulate   *Simulate // nil when the plan has no simulate block
	Settings   Settings
}

// Settings are the plan-wide knobs of the optional top-level `settings` block.
type Settings struct {
	Tick        time.Duration // control tick; default 1s
	MaxRate     float64       // hard limit no shaper can exceed; 0 = none
	Seed        int64         // seed for arrivals and templating; 0 = random per run
	HistoryPath string        // overrides the default history file; "" = default
	HistoryKeep time.Duration // retention; 0 = keep forever
}

// Target is a system under test reachable over HTTP.
type Target struct {
	Name               string
	URL                string // absolute http:// or https:// URL, validated
	Timeout            time.Duration
	MaxConnections     int  // 0 = engine default
	KeepAlive          bool // default true
	InsecureSkipVerify bool
	Headers            map[string]string
	Metrics            []*MetricsSource
	// Config is the configuration fingerprint the plan gives the target
	// (`config = "v2.3-4cores"`); "" = none, and Fingerprint is the block's
	// hash. Learnt models are kept in history under it.
	Config    string
	DeclRange hcl.Range
}

// MetricsSource is one `metrics "<kind>"` block of a target.
type MetricsSource struct {
	Kind      string            // prometheus | scrape | process | host
	Endpoint  string            // prometheus server URL, or /metrics URL for scrape
	Queries   map[string]string // metric name (cpu, memory, ...) -> PromQL query or scrape selector
	Timeout   time.Duration     // per query; default 2s
	Interval  time.Duration     // how often to read; default = plan tick
	Username  string            // basic auth
	Password  string
	Token     string // bearer auth
	PID       int    // process source
	Process   string // process source: name to look up
	OnStale   string // what the run does when a metric this source provides goes stale: hold | lower | ignore
	DeclRange hcl.Range
}

// Envelope is a safe operating envelope: an upper limit per metric.
type Envelope struct {
	Name      string
	Limits    []Limit // sorted by metric name
	DeclRange hcl.Range
}

// Limit bounds one metric. Max is in the metric's base unit: a fraction for
// cpu and error_rate, bytes for memory, seconds for latency metrics,
// requests per second for throughput.
type Limit struct {
	Metric string
	Max    float64
	Unit   string // fraction | bytes | seconds | rps | number
}

// Request is one kind of request in the mix.
type Request struct {
	Name      string
	Target    string // target name
	Method    string
	Path      string // may contain templates: {{seq}}, {{uuid}}, {{rand_int}}, {{data.column}}
	Query     map[string]string
	Headers   map[string]string
	Body      string
	Weight    float64    // > 0, default 1
	Priority  string     // one of stdlib.PriorityClasses, default "normal"
	DataFile  string     // CSV file for {{data.column}} templates, resolved to an absolute path
	Checks    []*Check   // assertions on the response
	Extracts  []*Extract // values saved into the flow's variables (flow steps only)
	OnFail    string     // flow steps: what a failed check or request does: continue | abort_flow
	Flow      string     // the flow this request is a step of; "" = a request of the mix
	DeclRange hcl.Range
}

// Check is one `check "NAME"` block of a request: an assertion on its
// response. Subject says what it looks at; the other fields that apply to
// that subject are set.
type Check struct {
	Name         string
	Subject      string        // status | header | json | body | response_time
	Status       []int         // status: the response's status is one of these
	Header       string        // header: its name; alone it must be present
	JSON         string        // json: the path as written ($.items[0].id); alone it must exist
	ResponseTime time.Duration // response_time: the response came within this
	Equals       *string       // header, json: the value equals this
	Contains     string        // header, json, body: the value contains this
	Matches      string        // header, json, body: the value matches this regular expression
	Min, Max     *float64      // json: the value is a number within these bounds
	DeclRange    hcl.Range
}

// Extract is one `extract "VAR"` block of a flow's request: a value of the
// response saved into the flow instance's variable VAR ({{vars.VAR}}).
type Extract struct {
	Name      string // the variable
	From      string // json | header | cookie | regexp
	Expr      string // the path, header or cookie name, or regular expression
	DeclRange hcl.Range
}

// Flow is a user journey: an ordered list of steps that each flow
// instance runs with its own cookie jar, variables and data row.
type Flow struct {
	Name      string
	Target    string  // target name
	Weight    float64 // share of the mix (open model: of the starts), default 1
	Priority  string  // priority class of its instances, default "normal"
	DataFile  string  // CSV file, one row per instance; absolute path
	DataOrder string  // sequential | random | unique
	OnFail    string  // default of its requests' on_fail: continue (default) | abort_flow
	Steps     []*Step
	Vars      []string // the variables its requests extract, in order of first extraction
	DeclRange hcl.Range
}

// Step is one step of a flow: a request, a think time or a loop.
type Step struct {
	Kind      string        // request | think | loop
	Request   *Request      // request
	Think     time.Duration // think: the pause (the shortest when ThinkMax is set)
	ThinkMax  time.Duration // think: > Think draws the pause uniformly in [Think, ThinkMax]
	Count     int           // loop: iterations; 0 with While
	While     string        // loop: a variable; the loop goes on while it is set and not empty
	Max       int           // loop: bound on iterations of a while loop (default 100)
	Steps     []*Step       // loop: its body
	DeclRange hcl.Range
}

// Predictor is a model kept over one metric.
type Predictor struct {
	Name      string
	Metric    string
	Target    string        // target name; "" = the only target
	Model     string        // ewma | holt | holt_winters | load_response | usl | auto | ...
	Horizon   time.Duration // default 30s
	History   time.Duration // how much history to learn from; default 1h
	Params    map[string]cty.Value
	DeclRange hcl.Range
}

// Shaper is one shaper of the chain: a built-in strategy or a Starlark script.
type Shaper struct {
	Name     string
	Strategy string // built-in strategy name; "" when Script is set
	Script   string // absolute path of the Starlark script; "" when Strategy is set
	// ScriptName is the script as diagnostics name it (the plan's directory
	// as given, joined with the path the plan wrote): what a failing rule's
	// file:line:col says at run time too.
	ScriptName string
	Envelope   string // envelope name; "" = none
	OnError    string // what a failure does: "fallback" (the default) or "fail" (OnErrorActions)
	Params     map[string]cty.Value
	DeclRange  hcl.Range
}

// Phase is one step of the timeline.
type Phase struct {
	Name        string
	Start       time.Duration // offset from the start of the run (sum of earlier durations)
	Duration    time.Duration
	Rate        stdlib.RateShape // arrival rate over the phase (open model)
	Concurrency int              // > 0 selects the closed model
	ThinkTime   time.Duration    // closed model only
	Arrival     string           // uniform | poisson
	MaxRate     float64          // hard limit for this phase; 0 = none
	Shapers     []string         // shaper names, in chain order
	Requests    []string         // request names to use; empty (and Flows empty) = all
	Flows       []string         // flow names to use; empty (and Requests empty) = all
	Warmup      bool             // reported on its own, excluded from totals
	Chaos       []*Chaos
	DeclRange   hcl.Range
}

// Chaos is one `chaos "<kind>"` block of a phase.
type Chaos struct {
	Kind           string        // spike | abort | slow_client | fault_header
	At             time.Duration // offset within the phase
	Duration       time.Duration
	Factor         float64           // spike
	Fraction       float64           // abort, slow_client, fault_header: share of requests affected
	Headers        map[string]string // fault_header
	WithinEnvelope bool              // only while predicted headroom allows it
	DeclRange      hcl.Range
}

// Threshold is a pass/fail criterion over the run or a sliding window.
type Threshold struct {
	Name      string
	Metric    string // latency_p50|p90|p95|p99|p999|max, error_rate, throughput, ...
	Max       *float64
	Min       *float64
	Window    time.Duration // 0 = whole run
	Abort     bool
	Delay     time.Duration
	Phase     string // "" = all non-warmup phases
	DeclRange hcl.Range
}

// Output is where a summary is written at the end of a run.
type Output struct {
	Name      string
	Format    string // json | html | text
	Path      string
	DeclRange hcl.Range
}

// Intent is an anticipated change that predictions must take into account.
type Intent struct {
	Name      string
	Kind      string        // deployment | growth
	At        time.Duration // offset from the start of the run
	Metric    string        // metric affected; "" = all
	Change    float64       // deployment: multiplicative change of the metric per unit of load (1.2 = 20% more)
	Growth    float64       // growth: factor applied to the planned rate (1.5 = 50% more traffic)
	DeclRange hcl.Range
}

// Simulate describes a simulated target for dry-runs when history has none.
type Simulate struct {
	Capacity         float64       // requests per second at cpu = 1.0
	Cores            float64       // cores the target may use; default 1
	BaseCPU          float64       // cpu fraction at zero load
	CostPerRequest   time.Duration // CPU time per request
	BaseMemory       float64       // bytes
	MemoryPerConn    float64       // bytes
	BaseLatency      time.Duration
	Noise            float64 // relative noise, e.g. 0.05
	CapacityChangeAt time.Duration
	CapacityChangeTo float64 // factor: 0.5 halves capacity at CapacityChangeAt
	DeclRange        hcl.Range
}

// TotalDuration is the sum of the phases' durations.
func (p *Plan) TotalDuration() time.Duration {
	var d time.Duration
	for _, ph := range p.Phases {
		d += ph.Duration
	}
	return d
}
