package lang

import "github.com/loadshaper/loadshaper/stdlib"

// InspectFlow is a flow as inspect prints it: its steps in order.
type InspectFlow struct {
	Name      string        `json:"name"`
	Target    string        `json:"target"`
	Weight    float64       `json:"weight"`
	Share     float64       `json:"share"` // of the mix: of the starts in the open model
	Priority  string        `json:"priority"`
	DataFile  string        `json:"data_file,omitempty"`
	DataOrder string        `json:"data,omitempty"`
	OnFail    string        `json:"on_fail"`
	Vars      []string      `json:"vars,omitempty"`
	Steps     []InspectStep `json:"steps"`
}

// InspectStep is one step of a flow.
type InspectStep struct {
	Kind     string          `json:"kind"`
	Request  *InspectRequest `json:"request,omitempty"`
	Think    string          `json:"think,omitempty"`
	ThinkMax string          `json:"think_max,omitempty"`
	Count    int             `json:"count,omitempty"`
	While    string          `json:"while,omitempty"`
	Max      int             `json:"max,omitempty"`
	Steps    []InspectStep   `json:"steps,omitempty"`
}

// InspectCheck is one check of a request.
type InspectCheck struct {
	Name         string   `json:"name"`
	Subject      string   `json:"subject"`
	Status       []int    `json:"status,omitempty"`
	Header       string   `json:"header,omitempty"`
	JSON         string   `json:"json,omitempty"`
	ResponseTime string   `json:"response_time,omitempty"`
	Equals       *string  `json:"equals,omitempty"`
	Contains     string   `json:"contains,omitempty"`
	Matches      string   `json:"matches,omitempty"`
	Min          *float64 `json:"min,omitempty"`
	Max          *float64 `json:"max,omitempty"`
}

// InspectExtract is one extract of a flow's request.
type InspectExtract struct {
	Var  string `json:"var"`
	From string `json:"from"`
	Expr string `json:"expr"`
}

func inspectRequest(p *Plan, r *Request) InspectRequest {
	ir := InspectRequest{Name: r.Name, Target: r.Target, Method: r.Method, Path: r.Path, Body: r.Body, Weight: r.Weight, Priority: r.Priority,
		DataFile: rel(p.Dir, r.DataFile), OnFail: r.OnFail}
	if r.Flow != "" {
		ir.DataFile = "" // the flow's
	}
	if len(r.Query) > 0 {
		ir.Query = r.Query
	}
	if len(r.Headers) > 0 {
		ir.Headers = redactHeaders(r.Headers)
	}
	for _, c := range r.Checks {
		ic := InspectCheck{Name: c.Name, Subject: c.Subject, Status: c.Status, Header: c.Header, JSON: c.JSON, Equals: c.Equals,
			Contains: c.Contains, Matches: c.Matches, Min: c.Min, Max: c.Max}
		if c.ResponseTime > 0 {
			ic.ResponseTime = stdlib.FormatDuration(c.ResponseTime)
		}
		ir.Checks = append(ir.Checks, ic)
	}
	for _, e := range r.Extracts {
		ir.Extracts = append(ir.Extracts, InspectExtract{Var: e.Name, From: e.From, Expr: e.Expr})
	}
	return ir
}

func inspectFlows(p *Plan, total float64) []InspectFlow {
	var out []InspectFlow
	for _, f := range p.Flows {
		in := InspectFlow{Name: f.Name, Target: f.Target, Weight: f.Weight, Priority: f.Priority, DataFile: rel(p.Dir, f.DataFile),
			OnFail: f.OnFail, Vars: f.Vars, Steps: inspectSteps(p, f.Steps)}
		if f.DataFile != "" {
			in.DataOrder = f.DataOrder
		}
		if total > 0 {
			in.Share = roundTo(f.Weight/total, 4)
		}
		out = append(out, in)
	}
	return out
}

func inspectSteps(p *Plan, steps []*Step) []InspectStep {
	out := []InspectStep{}
	for _, s := range steps {
		is := InspectStep{Kind: s.Kind}
		switch s.Kind {
		case "request":
			ir := inspectRequest(p, s.Request)
			ir.Weight, ir.Priority = 0, ""
			is.Request = &ir
		case "think":
			is.Think = stdlib.FormatDuration(s.Think)
			if s.ThinkMax > 0 {
				is.ThinkMax = stdlib.FormatDuration(s.ThinkMax)
			}
		case "loop":
			is.Count, is.While, is.Max, is.Steps = s.Count, s.While, s.Max, inspectSteps(p, s.Steps)
		}
		out = append(out, is)
	}
	return out
}
