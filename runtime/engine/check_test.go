package engine

import (
	"bufio"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/valyala/fasthttp"
)

func ptr[T any](v T) *T { return &v }

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

// testResponse is a response as a generator receives it: header names as
// the server spelled them (the client does not normalise them).
func testResponse(t *testing.T, raw string) *fasthttp.Response {
	t.Helper()
	resp := &fasthttp.Response{}
	resp.Header.DisableNormalizing()
	if err := resp.Read(bufioReader(raw)); err != nil {
		t.Fatal(err)
	}
	return resp
}

const shopJSON = `{"token":"abc123","user":"ann","items":[{"id":"sku-1","price":12.5},{"id":"sku-2","price":"7"}],"next":null,"note":"a\nb","ok":true}`

func shopResponse(t *testing.T) *fasthttp.Response {
	return testResponse(t, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nX-Request-Id: r-42\r\n"+
		"Set-Cookie: session=ann.sig; Path=/; HttpOnly\r\nContent-Length: "+strconv.Itoa(len(shopJSON))+"\r\n\r\n"+shopJSON)
}

func TestChecks(t *testing.T) {
	resp := shopResponse(t)
	cases := []struct {
		c    lang.Check
		took time.Duration
		want bool
	}{
		{lang.Check{Subject: "status", Status: []int{200}}, 0, true},
		{lang.Check{Subject: "status", Status: []int{201, 204}}, 0, false},
		{lang.Check{Subject: "header", Header: "Content-Type"}, 0, true}, // sent lower case, found by its canonical spelling too
		{lang.Check{Subject: "header", Header: "x-request-id", Equals: ptr("r-42")}, 0, true},
		{lang.Check{Subject: "header", Header: "X-Request-Id", Matches: `^r-\d+$`}, 0, true},
		{lang.Check{Subject: "header", Header: "X-Missing"}, 0, false},
		{lang.Check{Subject: "header", Header: "Content-Type", Contains: "xml"}, 0, false},
		{lang.Check{Subject: "json", JSON: "$.token"}, 0, true},
		{lang.Check{Subject: "json", JSON: "$.missing"}, 0, false},
		{lang.Check{Subject: "json", JSON: "$.items[0].id", Equals: ptr("sku-1")}, 0, true},
		{lang.Check{Subject: "json", JSON: "$.items[1].id", Equals: ptr("sku-1")}, 0, false},
		{lang.Check{Subject: "json", JSON: "$.items[0].price", Min: ptr(10.0), Max: ptr(20.0)}, 0, true},
		{lang.Check{Subject: "json", JSON: "$.items[1].price", Min: ptr(10.0)}, 0, false}, // "7": a string holding a number
		{lang.Check{Subject: "json", JSON: "$.items.length()", Min: ptr(2.0)}, 0, true},
		{lang.Check{Subject: "json", JSON: "$.ok", Equals: ptr("true")}, 0, true},
		{lang.Check{Subject: "json", JSON: "$.user", Min: ptr(1.0)}, 0, false}, // not a number
		{lang.Check{Subject: "json", JSON: "items.#(id==\"sku-2\").price", Equals: ptr("7")}, 0, true},
		{lang.Check{Subject: "body", Contains: `"user":"ann"`}, 0, true},
		{lang.Check{Subject: "body", Matches: `"token":"[a-z]+\d+"`}, 0, true},
		{lang.Check{Subject: "body", Contains: "nope"}, 0, false},
		{lang.Check{Subject: "response_time", ResponseTime: 200 * time.Millisecond}, 150 * time.Millisecond, true},
		{lang.Check{Subject: "response_time", ResponseTime: 200 * time.Millisecond}, 250 * time.Millisecond, false},
	}
	for i, c := range cases {
		cc, err := compileCheck(&c.c)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if got := cc.eval(resp, bodyOf(resp), c.took); got != c.want {
			t.Errorf("%d %+v: got %v, want %v", i, c.c, got, c.want)
		}
	}
}

func TestExtracts(t *testing.T) {
	resp := shopResponse(t)
	r := &lang.Request{Name: "r", Flow: "f", Extracts: []*lang.Extract{
		{Name: "token", From: "json", Expr: "$.token"},
		{Name: "item", From: "json", Expr: "$.items[1].id"},
		{Name: "next", From: "json", Expr: "$.next"}, // null: left empty
		{Name: "note", From: "json", Expr: "$.note"}, // an escaped string is unescaped
		{Name: "rid", From: "header", Expr: "x-request-id"},
		{Name: "session", From: "cookie", Expr: "session"},
		{Name: "user", From: "regexp", Expr: `"user":"(\w+)"`},
		{Name: "whole", From: "regexp", Expr: `sku-\d`},
	}}
	cr := &compiledRequest{name: "r"}
	if err := cr.compileResponse(r); err != nil {
		t.Fatal(err)
	}
	slots := map[string]int{}
	for i, x := range r.Extracts {
		slots[x.Name] = i
	}
	if err := cr.bindVars(slots); err != nil {
		t.Fatal(err)
	}
	vars := make([][]byte, len(slots))
	vars[slots["next"]] = []byte("stale") // a previous page's value is cleared
	cr.resp.evalResponse(resp, 0, vars)
	want := map[string]string{"token": "abc123", "item": "sku-2", "next": "", "note": "a\nb", "rid": "r-42", "session": "ann.sig",
		"user": "ann", "whole": "sku-1"}
	for name, w := range want {
		if got := string(vars[slots[name]]); got != w {
			t.Errorf("extract %s = %q, want %q", name, got, w)
		}
	}
}

func TestCookieValue(t *testing.T) {
	for _, c := range []struct {
		in      string
		value   string
		expired bool
	}{
		{"session=abc; Path=/; HttpOnly", "abc", false},
		{"a=b", "b", false},
		{"session=; Path=/; Max-Age=0", "", true},
		{"session=x; max-age=-1", "x", true},
		{"session=x; Max-Age=60", "x", false},
	} {
		v, exp := cookieValue([]byte(c.in))
		if string(v) != c.value || exp != c.expired {
			t.Errorf("%q: %q %v, want %q %v", c.in, v, exp, c.value, c.expired)
		}
	}
}

func TestVarsOutsideAFlowRefused(t *testing.T) {
	p := onePhase("http://127.0.0.1:1", 1, &lang.Phase{Duration: time.Second, Rate: stdlib.Constant(1)},
		&lang.Request{Name: "r", Path: "/{{vars.token}}"})
	if err := Prepare(p); err == nil {
		t.Fatal("a request of the mix using {{vars.token}} was accepted")
	}
}

// jsonServer answers every request with shopJSON.
func jsonServer(t testing.TB) string {
	return cannedResponse(t, []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Request-Id: r-42\r\n"+
		"Content-Length: %d\r\n\r\n%s", len(shopJSON), shopJSON)))
}

// checkedStep is a one-step flow whose request checks status, a header and
// a JSON value and extracts a JSON value, against jsonServer.
func checkedStep(t testing.TB, checks, extract bool) (*engine, *worker, *flowInst, *compiledRequest) {
	r := &lang.Request{Name: "r", Path: "/items/{{seq}}", Headers: map[string]string{"X-Id": "{{uuid}}"},
		Checks: []*lang.Check{
			{Name: "status is 200", Subject: "status", Status: []int{200}},
			{Name: "json", Subject: "header", Header: "Content-Type", Contains: "json"},
			{Name: "first item", Subject: "json", JSON: "$.items[0].id", Equals: ptr("sku-1")},
		}}
	if !checks {
		r.Checks = nil
	}
	f := &lang.Flow{Name: "f", Target: "t", Weight: 1, Priority: "normal", Steps: []*lang.Step{{Kind: "request", Request: r}}}
	if extract {
		r.Extracts = []*lang.Extract{{Name: "token", From: "json", Expr: "$.token"}}
		f.Vars = []string{"token"}
	}
	r.Flow, r.Target = "f", "t"
	p := onePhase(jsonServer(t), 1, &lang.Phase{Duration: time.Second, Rate: stdlib.Constant(1)})
	p.Requests, p.Flows = nil, []*lang.Flow{f}
	e, err := newEngine(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := e.gens[0]
	w := g.newWorker(0, time.Now())
	fi := &flowInst{w: w, f: g.reqs[0].flow, vars: make([][]byte, len(f.Vars))}
	return e, w, fi, g.reqs[0].flow.reqs[0]
}

func TestCheckAndExtractDoNotAllocate(t *testing.T) {
	e, w, fi, r := checkedStep(t, true, true)
	defer w.release()
	send := func() bool {
		ic := iterCtx{rng: w.rng, vars: fi.vars, fl: fi, seq: 1}
		return w.exchange(r, &ic, time.Since(w.start))
	}
	if !send() { // warms the connection and the variable's buffer
		t.Fatal("the checks failed")
	}
	allocs := testing.AllocsPerRun(200, func() {
		if !send() {
			t.Fatal("the checks failed")
		}
	})
	if allocs > 0 {
		t.Fatalf("a request with three checks and an extract allocates %v times", allocs)
	}
	if string(fi.vars[0]) != "abc123" {
		t.Fatalf("token = %q", fi.vars[0])
	}
	a := e.rec.shards[0].a
	if p, f := a.checkTotals(); p != 3*202 || f != 0 {
		t.Fatalf("checks passed %d failed %d, want %d and 0", p, f, 3*202)
	}
}

// BenchmarkIterationChecks is BenchmarkIteration's request as a step of a
// flow against a JSON response: without checks, with three checks
// (status, a header, a JSON value), then with an extract too: the cost
// per request of what a response is checked for, against the same request
// unchecked in the same run.
func BenchmarkIterationChecks(b *testing.B) {
	for _, v := range []struct {
		name            string
		checks, extract bool
	}{{"none", false, false}, {"checks", true, false}, {"checks+extract", true, true}} {
		b.Run(v.name, func(b *testing.B) {
			_, w, fi, r := checkedStep(b, v.checks, v.extract)
			defer w.release()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ic := iterCtx{rng: w.rng, vars: fi.vars, fl: fi, seq: uint64(i)}
				w.exchange(r, &ic, time.Since(w.start))
			}
		})
	}
}

// BenchmarkEvalResponse is the checks and extract of BenchmarkIterationChecks
// alone, on a response in memory: their cost without the network's noise.
func BenchmarkEvalResponse(b *testing.B) {
	resp := &fasthttp.Response{}
	resp.Header.DisableNormalizing()
	raw := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(shopJSON), shopJSON)
	if err := resp.Read(bufioReader(raw)); err != nil {
		b.Fatal(err)
	}
	_, w, fi, r := checkedStep(b, true, true)
	defer w.release()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r.resp.evalResponse(resp, time.Millisecond, fi.vars) != 0 {
			b.Fatal("a check failed")
		}
	}
}

func TestCookieJar(t *testing.T) {
	fi := &flowInst{}
	jar := func() string {
		var parts []string
		for _, c := range fi.jar {
			parts = append(parts, string(c.name)+"="+string(c.value))
		}
		sort.Strings(parts)
		return strings.Join(parts, " ")
	}
	fi.keep([]byte("a"), []byte("a=1; Path=/"))
	fi.keep([]byte("b"), []byte("b=2"))
	fi.keep([]byte("a"), []byte("a=3"))
	if got := jar(); got != "a=3 b=2" {
		t.Fatalf("jar %q", got)
	}
	fi.keep([]byte("a"), []byte("a=; Max-Age=0"))
	fi.keep([]byte("c"), []byte("c=4")) // reuses the deleted cookie's buffers
	if got := jar(); got != "b=2 c=4" {
		t.Fatalf("jar %q", got)
	}
	fi.jar = fi.jar[:0] // a new instance
	fi.keep([]byte("d"), []byte("d=5"))
	fi.keep([]byte("e"), []byte("e=6"))
	if got := jar(); got != "d=5 e=6" {
		t.Fatalf("jar %q", got)
	}
}

// A whole flow instance run inline (closed model) allocates nothing once
// its worker has run one: variables, cookie jar and buffers are reused.
func TestInlineFlowDoesNotAllocate(t *testing.T) {
	e := loginFlow(t, cannedLogin(t), 1)
	g := e.gens[0]
	g.flowScope(context.Background(), time.Hour, false)
	w := g.newWorker(0, time.Now())
	defer w.release()
	w.iterate(0)
	allocs := testing.AllocsPerRun(100, func() { w.iterate(time.Since(w.start)) })
	if allocs > 0 {
		t.Fatalf("one flow instance allocates %v times", allocs)
	}
	a := e.rec.shards[0].a
	if c := a.flows[0]; c[flowStarted] != 102 || c[flowCompleted] != 102 || a.requests != 3*102 || a.errors != 0 {
		t.Fatalf("flows %v, requests %d, errors %d", c, a.requests, a.errors)
	}
	if string(w.fl.vars[0]) != "abc" || len(w.fl.jar) != 1 || string(w.fl.jar[0].value) != "s1" {
		t.Fatalf("vars %q jar %v", w.fl.vars, w.fl.jar)
	}
}

// BenchmarkFlowInstance is one instance of a three-request flow (a login
// with a check and an extract, then two requests using the variable and
// the session cookie): run inline by its sender (closed model) and started
// on a goroutine of its own (open model). Per instance, not per request.
func BenchmarkFlowInstance(b *testing.B) {
	url := cannedLogin(b)
	for _, async := range []bool{false, true} {
		name := "inline"
		if async {
			name = "async"
		}
		b.Run(name, func(b *testing.B) {
			g := loginFlow(b, url, 4).gens[0]
			wait := g.flowScope(context.Background(), time.Hour, async)
			w := g.newWorker(0, time.Now())
			defer w.release()
			w.iterate(0)
			wait()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w.iterate(time.Since(w.start))
				if async && i%4 == 3 {
					wait() // at most 4 instances at once: the 4 connections
				}
			}
			wait()
		})
	}
}

// cannedLogin answers every request with a token and a session cookie.
func cannedLogin(t testing.TB) string {
	body := `{"token":"abc"}`
	return cannedResponse(t, []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: session=s1; Path=/\r\n"+
		"Content-Length: %d\r\n\r\n%s", len(body), body)))
}

// loginFlow is an engine with one flow: a login with a check and an
// extract, then two requests (a loop) that send the token and the cookie.
func loginFlow(t testing.TB, url string, conns int) *engine {
	login := &lang.Request{Name: "login", Path: "/login", Flow: "f", Target: "t",
		Checks:   []*lang.Check{{Name: "ok", Subject: "status", Status: []int{200}}},
		Extracts: []*lang.Extract{{Name: "token", From: "json", Expr: "$.token"}}}
	next := &lang.Request{Name: "next", Path: "/items", Flow: "f", Target: "t", Headers: map[string]string{"X-Token": "{{vars.token}}"}}
	p := onePhase(url, conns, &lang.Phase{Duration: time.Second, Concurrency: 1})
	p.Requests = nil
	p.Flows = []*lang.Flow{{Name: "f", Target: "t", Weight: 1, Priority: "normal", Vars: []string{"token"},
		Steps: []*lang.Step{{Kind: "request", Request: login}, {Kind: "loop", Count: 2, Steps: []*lang.Step{{Kind: "request", Request: next}}}}}}
	e, err := newEngine(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
