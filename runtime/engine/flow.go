package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/valyala/fasthttp"
)

// A flow is a user journey. Each instance runs the flow's steps in order
// with its own cookie jar, variables and data row. In the open model an
// arrival starts an instance (the rate counts starts) on a goroutine of
// its own, so think times do not hold a sender; past maxFlowInstances
// running at once, the arrival's sender runs it itself, which slows the
// arrivals down like any busy sender (their latency shows it). In the
// closed model each virtual user runs its flow, then the next, in a loop.
//
// What a flow instance allocates: an open-model start spawns a goroutine
// (its closure and stack); instances, their request, response and
// buffers come from a pool. Inline (closed model, or at the bound) it
// allocates nothing after the first instance of the worker.

// maxFlowInstances bounds the open-model instances running at once per
// generator.
const maxFlowInstances = 4096

type dataOrder uint8

const (
	dataSequential dataOrder = iota
	dataRandom
	dataUnique
)

type stepKind uint8

const (
	stepRequest stepKind = iota
	stepThink
	stepLoop
)

type flowStep struct {
	kind            stepKind
	req             *compiledRequest
	abort           bool // on_fail = "abort_flow"
	think, thinkMax time.Duration
	count           int // loop: iterations; 0 = a while loop
	while           int // while loop: the variable's slot
	max             int // while loop: bound on iterations
	body            []flowStep
}

type compiledFlow struct {
	idx   int // index in the run's flows
	name  string
	steps []flowStep
	nvars int
	data  *dataset
	order dataOrder
	next  atomic.Uint64      // rows handed out (sequential, unique)
	reqs  []*compiledRequest // its requests, loops included
}

// compileFlows compiles the plan's flows: their requests join the run's
// requests (so each step has its own latency, by_request "flow/step") and
// each flow joins its target's mix as an entry that starts an instance.
func (e *engine) compileFlows(targets map[string]*lang.Target, byTarget map[string][]*compiledRequest) error {
	for fi, f := range e.plan.Flows {
		t := targets[f.Target]
		if t == nil {
			if f.Target == "" && len(e.plan.Targets) == 1 {
				t = e.plan.Targets[0]
			} else {
				return fmt.Errorf("flow %q: no target %q", f.Name, f.Target)
			}
		}
		cf := &compiledFlow{idx: fi, name: f.Name, nvars: len(f.Vars)}
		switch f.DataOrder {
		case "random":
			cf.order = dataRandom
		case "unique":
			cf.order = dataUnique
		}
		if f.DataFile != "" {
			d, err := loadDataset(f.DataFile)
			if err != nil {
				return fmt.Errorf("flow %q: %w", f.Name, err)
			}
			cf.data = d
		}
		slots := map[string]int{}
		for i, v := range f.Vars {
			slots[v] = i
		}
		steps, err := e.compileSteps(cf, f, f.Steps, t, slots)
		if err != nil {
			return err
		}
		cf.steps = steps
		cls := stdlib.PriorityIndex(f.Priority)
		if cls < 0 {
			cls = stdlib.PriorityIndex("normal")
		}
		byTarget[t.Name] = append(byTarget[t.Name], &compiledRequest{idx: -1, name: f.Name, class: cls, flow: cf})
	}
	return nil
}

func (e *engine) compileSteps(cf *compiledFlow, f *lang.Flow, steps []*lang.Step, t *lang.Target, slots map[string]int) ([]flowStep, error) {
	var out []flowStep
	for _, s := range steps {
		var fs flowStep
		switch s.Kind {
		case "request":
			cr, err := compileRequest(len(e.reqs), s.Request, t)
			if err != nil {
				return nil, fmt.Errorf("flow %q: %w", f.Name, err)
			}
			if err := cr.bindVars(slots); err != nil {
				return nil, fmt.Errorf("flow %q: %w", f.Name, err)
			}
			// The row comes from the flow instance, not from the request.
			cr.data = nil
			cr.name = f.Name + "/" + s.Request.Name
			fs = flowStep{kind: stepRequest, req: cr, abort: s.Request.OnFail == "abort_flow"}
			cf.reqs = append(cf.reqs, cr)
			e.reqs = append(e.reqs, cr)
			e.reqNames = append(e.reqNames, cr.name)
		case "think":
			fs = flowStep{kind: stepThink, think: s.Think, thinkMax: s.ThinkMax}
		case "loop":
			body, err := e.compileSteps(cf, f, s.Steps, t, slots)
			if err != nil {
				return nil, err
			}
			fs = flowStep{kind: stepLoop, count: s.Count, max: s.Max, while: -1, body: body}
			if s.Count == 0 {
				w, ok := slots[s.While]
				if !ok {
					return nil, fmt.Errorf("flow %q: loop while %q: no step extracts it", f.Name, s.While)
				}
				fs.while = w
			}
		default:
			return nil, fmt.Errorf("flow %q: unknown step %q", f.Name, s.Kind)
		}
		out = append(out, fs)
	}
	return out, nil
}

// flowRuntime is a generator's running flow instances during a phase.
type flowRuntime struct {
	ctx   context.Context
	end   time.Duration // the phase's end (offset from its start)
	async bool          // open model: instances run on goroutines of their own
	sem   chan struct{}
	wg    sync.WaitGroup
	pool  sync.Pool
}

// flowScope prepares the generator's flows for a phase (async for the
// open model); the function it returns waits for the instances still
// running. A generator without flows pays nothing.
func (g *Generator) flowScope(ctx context.Context, end time.Duration, async bool) func() {
	fr := &g.flows
	fr.ctx, fr.end, fr.async = ctx, end, async
	if fr.sem == nil {
		fr.sem = make(chan struct{}, maxFlowInstances)
	}
	return fr.wg.Wait
}

// cookie is one cookie of a flow instance's jar. A flow talks to one
// target, so the jar keeps every cookie it sets (domain and path are not
// matched) until the target deletes it (Max-Age <= 0).
type cookie struct{ name, value []byte }

// flowInst is one running instance of a flow.
type flowInst struct {
	w    *worker // sends its requests
	f    *compiledFlow
	vars [][]byte
	jar  []cookie
	row  [][]byte
	pcg  *rand.PCG // an async instance's own worker's random source, reseeded per instance
}

// startFlow starts an instance of f for an arrival intended at off.
func (w *worker) startFlow(f *compiledFlow, off time.Duration) {
	g := w.g
	fr := &g.flows
	if fr.async {
		select {
		case fr.sem <- struct{}{}:
			fi, _ := fr.pool.Get().(*flowInst)
			if fi == nil {
				fi = &flowInst{w: g.newWorker(w.id, w.start), pcg: rand.NewPCG(0, 0)}
				fi.w.rng = rand.New(fi.pcg)
			}
			fi.w.start, fi.w.id = w.start, w.id
			fi.pcg.Seed(w.rng.Uint64(), w.rng.Uint64()|1)
			fr.wg.Add(1)
			go func() {
				defer fr.wg.Done()
				fi.run(f, off)
				fr.pool.Put(fi)
				<-fr.sem
			}()
			return
		default: // at the bound: this sender runs it
		}
	}
	if w.fl == nil {
		w.fl = &flowInst{w: w}
	}
	w.fl.run(f, off)
}

// run runs the instance of f from its first step, intended at off.
func (fi *flowInst) run(f *compiledFlow, off time.Duration) {
	w := fi.w
	rec := w.g.rec
	fi.f, fi.row = f, nil
	if f.data != nil {
		n := uint64(len(f.data.rows))
		switch f.order {
		case dataSequential:
			fi.row = f.data.rows[(f.next.Add(1)-1)%n]
		case dataRandom:
			fi.row = f.data.rows[w.rng.Uint64N(n)]
		case dataUnique:
			i := f.next.Add(1) - 1
			if i >= n {
				rec.addFlow(w.id, f.idx, flowExhausted)
				return
			}
			fi.row = f.data.rows[i]
		}
	}
	if cap(fi.vars) < f.nvars {
		fi.vars = make([][]byte, f.nvars)
	}
	fi.vars = fi.vars[:f.nvars]
	for i := range fi.vars {
		fi.vars[i] = fi.vars[i][:0]
	}
	fi.jar = fi.jar[:0]
	rec.addFlow(w.id, f.idx, flowStarted)
	due := off
	rec.addFlow(w.id, f.idx, fi.steps(f.steps, &due))
}

// Outcomes of a flow instance (and what else the flow counters count).
const (
	flowStarted     = iota
	flowCompleted   // every step ran
	flowAborted     // a step failed with on_fail = "abort_flow"
	flowInterrupted // the phase ended (or the run stopped) before its last step
	flowExhausted   // data = "unique" had no row left: not started
	numFlowCounts
)

// FlowCountNames name the counters in the summary, in flowStarted.. order.
var FlowCountNames = [numFlowCounts]string{"started", "completed", "aborted", "interrupted", "data_exhausted"}

// steps runs a list of steps; due is the intended start of the next one.
func (fi *flowInst) steps(steps []flowStep, due *time.Duration) int {
	w := fi.w
	fr := &w.g.flows
	for i := range steps {
		s := &steps[i]
		if fi.stopped() {
			return flowInterrupted
		}
		switch s.kind {
		case stepRequest:
			ic := iterCtx{rng: w.rng, row: fi.row, vars: fi.vars, fl: fi}
			if s.req.needsSeq {
				ic.seq = w.g.seq.Add(1) - 1
			}
			ok := w.exchange(s.req, &ic, *due)
			*due = time.Since(w.start)
			if !ok && s.abort {
				return flowAborted
			}
		case stepThink:
			d := s.think
			if s.thinkMax > s.think {
				d += time.Duration(w.rng.Int64N(int64(s.thinkMax - s.think)))
			}
			*due += d
			if left := fr.end + dropGrace - time.Since(w.start); d > left {
				d = max(left, 0)
			}
			sleepCtx(fr.ctx, d)
		case stepLoop:
			for n := 0; ; n++ {
				if s.count > 0 && n >= s.count || s.count == 0 && (n >= s.max || len(fi.vars[s.while]) == 0) {
					break
				}
				if out := fi.steps(s.body, due); out != flowCompleted {
					return out
				}
			}
		}
	}
	return flowCompleted
}

// stopped: the run was stopped, or the phase is over past the grace its
// arrivals get.
func (fi *flowInst) stopped() bool {
	fr := &fi.w.g.flows
	return (fr.ctx != nil && fr.ctx.Err() != nil) || time.Since(fi.w.start) >= fr.end+dropGrace
}

// addCookies sends the jar's cookies with req.
func (fi *flowInst) addCookies(req *fasthttp.Request) {
	for i := range fi.jar {
		req.Header.SetCookieBytesKV(fi.jar[i].name, fi.jar[i].value)
	}
}

// keepCookies stores the response's Set-Cookie headers in the jar.
func (fi *flowInst) keepCookies(resp *fasthttp.Response) {
	for key, value := range resp.Header.Cookies() {
		fi.keep(key, value)
	}
}

// keep stores one Set-Cookie in the jar. The jar's buffers are reused
// from instance to instance: a deleted cookie is swapped past the end, not
// copied over, so no two entries share a buffer.
func (fi *flowInst) keep(key, setCookie []byte) {
	v, expired := cookieValue(setCookie)
	for i := range fi.jar {
		if string(fi.jar[i].name) == string(key) {
			if last := len(fi.jar) - 1; expired {
				fi.jar[i], fi.jar[last] = fi.jar[last], fi.jar[i]
				fi.jar = fi.jar[:last]
			} else {
				fi.jar[i].value = append(fi.jar[i].value[:0], v...)
			}
			return
		}
	}
	if expired {
		return
	}
	if n := len(fi.jar); n < cap(fi.jar) {
		fi.jar = fi.jar[:n+1]
	} else {
		fi.jar = append(fi.jar, cookie{})
	}
	c := &fi.jar[len(fi.jar)-1]
	c.name = append(c.name[:0], key...)
	c.value = append(c.value[:0], v...)
}

// afterResponse is what a request with checks, extracts or a flow does
// with its response before the worker reuses it: keep cookies, run the
// checks and extracts, note the failed checks in res. err is the
// request's transport error: every check of a request without a
// response fails.
func (w *worker) afterResponse(r *compiledRequest, ic *iterCtx, res *result, err error) {
	if err == nil && ic.fl != nil {
		ic.fl.keepCookies(w.resp)
	}
	rs := r.resp
	if rs == nil {
		return
	}
	res.chkBase, res.chkN = int32(rs.base), uint8(len(rs.checks))
	if err != nil {
		res.chkFail = 1<<uint(len(rs.checks)) - 1
		return
	}
	res.chkFail = rs.evalResponse(w.resp, res.service, ic.vars)
	if rs.status != 0 && res.chkFail&rs.status == 0 && res.errClass == ErrBadStatus {
		res.errClass = -1 // the status its check expects
	}
}

// eachRequest calls fn for every request the generator sends: those of its
// mix and its flows' steps.
func (g *Generator) eachRequest(fn func(*compiledRequest)) {
	for _, r := range g.reqs {
		if r.flow == nil {
			fn(r)
			continue
		}
		for _, s := range r.flow.reqs {
			fn(s)
		}
	}
}
