package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/loadshaper/loadshaper/shapers"
)

// loadPlan writes files (name -> content) into a directory and loads the
// plan in plan.lshcl with base_url set to url.
func loadPlan(t *testing.T, url string, files map[string]string) *lang.Plan {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, diags := lang.Load([]string{filepath.Join(dir, "plan.lshcl")}, lang.LoadOptions{Vars: map[string]string{"base_url": url}, Environ: []string{}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return p
}

const shopHead = `
variable "base_url" { default = "http://127.0.0.1:1" }
settings {
  tick = "250ms"
  seed = 7
}
target "shop" { url = var.base_url }
`

const loginStep = `
  request "login" {
    method = "POST"
    path   = "/shop/login"
    body   = jsonencode({ user = "{{data.user}}", password = "{{data.password}}" })
    check "logged in" { status = 200 }
    extract "token" { json = "$.token" }
  }
`

func TestFlowJourneyExample(t *testing.T) {
	tb := startTestbed(t, testbed.Config{Capacity: 5000, Workers: 32, Cost: time.Microsecond})
	p, diags := lang.Load([]string{"../../examples/journey.lshcl"}, lang.LoadOptions{Vars: map[string]string{"base_url": tb.URL}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	for _, ph := range p.Phases {
		ph.Duration = 1500 * time.Millisecond
	}
	s := mustRun(t, p, Options{})
	o := s.Overall
	f := o.Flows["shopper"]
	if f.Started == 0 || f.Aborted != 0 || f.Completed+f.Interrupted != f.Started {
		t.Fatalf("flows %+v", f)
	}
	if o.Checks == nil || o.Checks.Failed != 0 || o.Checks.Passed == 0 {
		t.Fatalf("checks %+v", o.Checks)
	}
	// Every completed journey checked out with the token and session cookie
	// of its login, and paged through all three pages.
	steps := stepCounts(f)
	if o.Status["201"] != steps["checkout"] || steps["checkout"] < f.Completed || steps["next_page"] < 2*f.Completed {
		t.Fatalf("status %v, steps %v, flows %+v", o.Status, steps, f)
	}
	if len(s.Thresholds) == 0 || !s.Passed() {
		t.Fatalf("thresholds %+v", s.Thresholds)
	}
	var text, html strings.Builder
	s.WriteText(&text)
	if err := s.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"✓ shopper/checkout: order confirmed", "flow shopper:", "step next_page"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, text.String())
		}
	}
	for _, want := range []string{"<h2>Checks (overall)</h2>", "✓ order confirmed", "<h2>Flow shopper</h2>", "<td class=\"l\">next_page</td>"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
}

func TestFlowOnFail(t *testing.T) {
	tb := startTestbed(t, testbed.Config{Capacity: 5000, Workers: 32, Cost: time.Microsecond})
	for _, onFail := range []string{"abort_flow", "continue"} {
		t.Run(onFail, func(t *testing.T) {
			p := loadPlan(t, tb.URL, map[string]string{"users.csv": "user,password\nann,wrong\n", "plan.lshcl": shopHead + `
flow "shopper" {
  data_file = "users.csv"
  on_fail   = "` + onFail + `"
` + loginStep + `
  request "browse" {
    path = "/shop/items"
    check "listed" { status = 200 }
  }
}
phase "p" {
  duration = "1s"
  rate     = 20
}
threshold "checks" { min = 0.99 }
threshold "window" {
  metric = "check_failure_rate"
  max    = 0.01
  window = "500ms"
}
`})
			s := mustRun(t, p, Options{})
			o := s.Overall
			f := o.Flows["shopper"]
			byName := stepCounts(f)
			if f.Started == 0 || o.Checks.Passed != 0 || o.Status["401"] != o.Requests {
				t.Fatalf("flows %+v checks %+v status %v", f, o.Checks, o.Status)
			}
			switch onFail {
			case "abort_flow": // the failed login ends every instance
				if f.Aborted != f.Started || byName["browse"] != 0 {
					t.Fatalf("flows %+v, steps %v", f, byName)
				}
			case "continue": // browse runs, without a session: 401
				if f.Aborted != 0 || f.Completed+f.Interrupted != f.Started || byName["browse"] != byName["login"] {
					t.Fatalf("flows %+v, steps %v", f, byName)
				}
			}
			for _, th := range s.Thresholds {
				if th.Pass || th.Observed == nil {
					t.Fatalf("threshold %s passed or has no data: %+v", th.Name, th)
				}
			}
		})
	}
}

func TestFlowCookieJarAndLoops(t *testing.T) {
	tb := startTestbed(t, testbed.Config{Capacity: 5000, Workers: 32, Cost: time.Microsecond})
	p := loadPlan(t, tb.URL, map[string]string{"users.csv": "user,password\nann,ann-pw\nbob,bob-pw\n", "plan.lshcl": shopHead + `
flow "pager" {
  data_file = "users.csv"
  on_fail   = "abort_flow"
` + loginStep + `
  request "first" {
    path = "/shop/items"
    check "listed" { status = 200 }
    extract "next" { json = "$.next" }
  }
  loop {
    while = "vars.next"
    request "page" {
      path  = "/shop/items"
      query = { page = "{{vars.next}}" }
      check "listed" { status = 200 }
      extract "next" { json = "$.next" }
    }
  }
  loop {
    count = 2
    request "again" {
      path = "/shop/items"
      check "listed" { status = 200 }
    }
  }
  request "logout" {
    method = "POST"
    path   = "/shop/logout"
    check "logged out" { status = 200 }
  }
  # The logout's Max-Age=0 took the session out of the jar.
  request "after" {
    path = "/shop/items"
    check "no session" { status = 401 }
  }
}
phase "p" {
  duration    = "1s"
  concurrency = 2
}
`})
	s := mustRun(t, p, Options{})
	o := s.Overall
	f := o.Flows["pager"]
	n := stepCounts(f)
	if f.Completed == 0 || f.Aborted != 0 || o.Checks.Failed != 0 {
		t.Fatalf("flows %+v checks %+v", f, o.Checks)
	}
	// Three pages: the first, then two while next holds; the count loop twice.
	if n["page"] != 2*n["first"] || n["again"] != 2*n["first"] || n["after"] != f.Completed {
		t.Fatalf("steps %v, flows %+v", n, f)
	}
}

func TestFlowUniqueDataAndShedding(t *testing.T) {
	tb := startTestbed(t, testbed.Config{Capacity: 5000, Workers: 32, Cost: time.Microsecond})
	p := loadPlan(t, tb.URL, map[string]string{"users.csv": "user,password\nann,ann-pw\nbob,bob-pw\ncat,cat-pw\n", "plan.lshcl": shopHead + `
flow "once" {
  data_file = "users.csv"
  data      = "unique"
  priority  = "critical"
` + loginStep + `
}
flow "browse" {
  priority = "low"
  request "items" { path = "/health" }
}
phase "p" {
  duration = "1s"
  rate     = 40
}
`})
	// Shed every low-priority start: the critical flow is untouched.
	ctl := shapedBy(t, p, func(_ TickInfo, in shapers.Instruction) shapers.Instruction {
		in.Shed = map[string]float64{"low": 1}
		return in
	})
	s := mustRun(t, p, Options{Controller: ctl})
	o := s.Overall
	once, browse := o.Flows["once"], o.Flows["browse"]
	if once.Started != 3 || once.Completed != 3 || once.DataExhausted == 0 || o.Checks.Failed != 0 {
		t.Fatalf("unique data: %+v, checks %+v", once, o.Checks)
	}
	if browse.Started != 0 || o.Classes["low"].Shed == 0 {
		t.Fatalf("shed low flow: %+v, classes %+v", browse, o.Classes)
	}
}

// stepCounts is how many requests each step of a flow sent.
func stepCounts(f FlowStat) map[string]int64 {
	n := map[string]int64{}
	for _, st := range f.Steps {
		n[st.Name] = st.Requests
	}
	return n
}

// An instance still thinking a second after its phase ends is interrupted
// before its next step: a flow never holds the run past the grace.
func TestFlowInterruptedAtPhaseEnd(t *testing.T) {
	tb := startTestbed(t, testbed.Config{Capacity: 5000, Workers: 32, Cost: time.Microsecond})
	p := loadPlan(t, tb.URL, map[string]string{"plan.lshcl": shopHead + `
flow "slow" {
  request "first" { path = "/health" }
  think { duration = "10s" }
  request "second" { path = "/health" }
}
phase "open" {
  duration = "500ms"
  rate     = 10
}
phase "closed" {
  duration    = "500ms"
  concurrency = 2
}
`})
	s := mustRun(t, p, Options{})
	for _, ph := range s.Phases {
		f := ph.Flows["slow"]
		n := stepCounts(f)
		if f.Started == 0 || f.Interrupted != f.Started || n["first"] != f.Started || n["second"] != 0 {
			t.Fatalf("phase %s: flows %+v, steps %v", ph.Name, f, n)
		}
	}
}
