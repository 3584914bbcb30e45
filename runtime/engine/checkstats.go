package engine

import (
	"sort"
	"time"
)

// runMeta names the run's checks and flows, for the figures of an
// aggregate. Aggregates pick it up as they merge the recorder's shards.
type runMeta struct {
	checks []checkMeta
	flows  []flowMeta
}

type flowMeta struct {
	name  string
	idx   int                // compiledFlow.idx
	steps []*compiledRequest // its requests in order (a loop's once)
}

type checkMeta struct {
	name    string
	request string // the request (a flow's: "flow/request") it checks
}

// meta lists the checks of the run's requests in order, giving each
// request's checks their place in the list.
func (e *engine) meta() *runMeta {
	m := &runMeta{}
	for _, g := range e.gens {
		for _, r := range g.reqs {
			if r.flow != nil {
				m.flows = append(m.flows, flowMeta{name: r.flow.name, idx: r.flow.idx, steps: r.flow.reqs})
			}
		}
	}
	sort.Slice(m.flows, func(i, j int) bool { return m.flows[i].name < m.flows[j].name })
	for _, r := range e.reqs {
		if r.resp == nil {
			continue
		}
		r.resp.base = len(m.checks)
		for _, c := range r.resp.checks {
			m.checks = append(m.checks, checkMeta{name: c.name, request: r.name})
		}
	}
	return m
}

// setMeta hands the run's names to every shard.
func (r *recorder) setMeta(m *runMeta) {
	for i := range r.shards {
		r.shards[i].a.meta = m
	}
}

// journeys is the part of an aggregate that counts checks and flows. Its
// slices grow on first use, so a run without checks or flows carries none.
type journeys struct {
	meta    *runMeta
	chkPass []int64 // by check index
	chkFail []int64
	flows   [][numFlowCounts]int64 // by flow index
}

func grow[T any](s []T, n int) []T {
	if len(s) < n {
		s = append(s, make([]T, n-len(s))...)
	}
	return s
}

func (j *journeys) add(o *journeys) {
	if j.meta == nil {
		j.meta = o.meta
	}
	j.chkPass = grow(j.chkPass, len(o.chkPass))
	j.chkFail = grow(j.chkFail, len(o.chkFail))
	for i := range o.chkPass {
		j.chkPass[i] += o.chkPass[i]
		j.chkFail[i] += o.chkFail[i]
	}
	j.flows = grow(j.flows, len(o.flows))
	for i := range o.flows {
		for k := range o.flows[i] {
			j.flows[i][k] += o.flows[i][k]
		}
	}
}

func (j *journeys) reset() {
	clear(j.chkPass)
	clear(j.chkFail)
	clear(j.flows)
}

// addChecks counts one response's checks (under the shard's lock).
func (a *agg) addChecks(res *result) {
	n := int(res.chkBase) + int(res.chkN)
	a.chkPass = grow(a.chkPass, n)
	a.chkFail = grow(a.chkFail, n)
	for i := 0; i < int(res.chkN); i++ {
		if res.chkFail&(1<<uint(i)) != 0 {
			a.chkFail[int(res.chkBase)+i]++
		} else {
			a.chkPass[int(res.chkBase)+i]++
		}
	}
}

// addFlow counts one event of a flow: started, or how an instance ended.
func (r *recorder) addFlow(worker, flow, event int) {
	s := &r.shards[worker%numShards]
	s.mu.Lock()
	s.a.flows = grow(s.a.flows, flow+1)
	s.a.flows[flow][event]++
	s.mu.Unlock()
}

// checkTotals is how many checks passed and failed.
func (j *journeys) checkTotals() (passed, failed int64) {
	for i := range j.chkPass {
		passed += j.chkPass[i]
		failed += j.chkFail[i]
	}
	return passed, failed
}

// ChecksStat is what the requests' checks found over a span.
type ChecksStat struct {
	Passed int64 `json:"passed"`
	Failed int64 `json:"failed"`
	// Rate is the fraction that passed (the "checks" metric); 1 with none.
	Rate    float64     `json:"rate"`
	ByCheck []CheckStat `json:"by_check"`
}

// CheckStat is one check of one request.
type CheckStat struct {
	Name    string  `json:"name"`
	Request string  `json:"request"`
	Passed  int64   `json:"passed"`
	Failed  int64   `json:"failed"`
	Rate    float64 `json:"rate"` // fraction passed
}

// FlowStat is what the instances of one flow did over a span.
type FlowStat struct {
	Started       int64   `json:"started"`
	Completed     int64   `json:"completed"`
	Aborted       int64   `json:"aborted"`        // a step failed with on_fail = "abort_flow"
	Interrupted   int64   `json:"interrupted"`    // the phase ended before their last step
	DataExhausted int64   `json:"data_exhausted"` // data = "unique" had no row left: not started
	StartRate     float64 `json:"start_rate"`     // instances started per second
	// Steps are its requests in the order of the flow, each with its
	// latency (from the step's intended start).
	Steps []StepStat `json:"steps"`
}

// StepStat is one request of a flow.
type StepStat struct {
	Name string `json:"name"`
	ReqStat
}

func passRate(passed, failed int64) float64 {
	if passed+failed == 0 {
		return 1
	}
	return float64(passed) / float64(passed+failed)
}

// fill adds the checks and flows to a span's figures.
func (a *agg) fillJourneys(s *Stats, d time.Duration) {
	j := &a.journeys
	m := j.meta
	if m == nil {
		return
	}
	if len(m.checks) > 0 {
		cs := &ChecksStat{ByCheck: make([]CheckStat, len(m.checks))}
		for i, c := range m.checks {
			st := CheckStat{Name: c.name, Request: c.request}
			if i < len(j.chkPass) {
				st.Passed, st.Failed = j.chkPass[i], j.chkFail[i]
			}
			st.Rate = passRate(st.Passed, st.Failed)
			cs.Passed += st.Passed
			cs.Failed += st.Failed
			cs.ByCheck[i] = st
		}
		cs.Rate = passRate(cs.Passed, cs.Failed)
		s.Checks = cs
	}
	if len(m.flows) > 0 {
		s.Flows = make(map[string]FlowStat, len(m.flows))
		for _, fm := range m.flows {
			var c [numFlowCounts]int64
			if i := fm.idx; i < len(j.flows) {
				c = j.flows[i]
			}
			fs := FlowStat{Started: c[flowStarted], Completed: c[flowCompleted], Aborted: c[flowAborted],
				Interrupted: c[flowInterrupted], DataExhausted: c[flowExhausted]}
			if d > 0 {
				fs.StartRate = float64(fs.Started) / d.Seconds()
			}
			for _, r := range fm.steps {
				fs.Steps = append(fs.Steps, StepStat{Name: r.name[len(fm.name)+1:],
					ReqStat: ReqStat{Requests: a.reqCount[r.idx], Errors: a.reqErr[r.idx], Latency: percentiles(a.byReq[r.idx])}})
			}
			s.Flows[fm.name] = fs
		}
	}
}

// requestChecks is how many of r's checks passed and failed.
func (j *journeys) requestChecks(r *compiledRequest) (passed, failed int64) {
	if r.resp == nil {
		return 0, 0
	}
	for i := r.resp.base; i < r.resp.base+len(r.resp.checks) && i < len(j.chkPass); i++ {
		passed += j.chkPass[i]
		failed += j.chkFail[i]
	}
	return passed, failed
}

// CheckFailureRate is the fraction of the checks that failed (0 with none):
// the check_failure_rate metric the shapers see.
func (s *Stats) CheckFailureRate() float64 {
	if s.Checks == nil {
		return 0
	}
	return 1 - s.Checks.Rate
}
