package engine

import (
	"bytes"
	"fmt"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
)

// Checks and extracts are compiled once per request, before the run, and
// evaluated on the fasthttp response a worker already holds. What
// allocates per response (BenchmarkIteration measures it):
//   - status, header and response_time checks, JSON paths on a body whose
//     strings have no escapes, body_contains: nothing;
//   - a JSON value that is a string with escapes (\n, \u00e9): gjson
//     unescapes it into a new string;
//   - regular expressions: nothing for a check; an extract with a
//     capture group allocates the small slice of its match indices;
//   - a compressed body (the target sent Content-Encoding although
//     loadshaper asks for none): decompressing it.
// Extracted values are copied into the flow instance's variable buffers,
// which grow to the largest value once and are reused after.

type checkKind uint8

const (
	ckStatus checkKind = iota
	ckHeader
	ckJSON
	ckBody
	ckTime
)

type compiledCheck struct {
	name     string
	kind     checkKind
	status   []int
	header   headerName
	path     string // gjson path
	equals   []byte
	isEquals bool
	contains []byte
	re       *regexp.Regexp
	min, max float64
	hasMin   bool
	hasMax   bool
	limit    time.Duration
}

type extractKind uint8

const (
	exJSON extractKind = iota
	exHeader
	exCookie
	exRegexp
)

type compiledExtract struct {
	name   string
	slot   int // the flow's variable slot; -1 until bindVars
	kind   extractKind
	header headerName
	cookie []byte
	path   string
	re     *regexp.Regexp
}

// responseSpec is what a request does with its response.
type responseSpec struct {
	checks   []compiledCheck
	extracts []compiledExtract
	base     int  // index of its first check in the run's check list
	needBody bool // a check or extract reads the body
	// status is the bit of its first status check (0 = none): a status
	// the plan expects, 401 say, is then no bad_status error.
	status uint64
}

// headerName is a header's name as written, canonical and lower case:
// the responses' header names are not normalised (DisableHeaderNamesNormalizing),
// so a lookup tries the spellings servers use.
type headerName [3][]byte

func newHeaderName(s string) headerName {
	return headerName{[]byte(s), []byte(textproto.CanonicalMIMEHeaderKey(s)), []byte(strings.ToLower(s))}
}

func (h *headerName) peek(rh *fasthttp.ResponseHeader) ([]byte, bool) {
	for i := range h {
		if v := rh.PeekBytes(h[i]); v != nil {
			return v, true
		}
	}
	return nil, false
}

// compileResponse compiles r's checks and extracts into cr.resp (nil when
// it has none) and refuses {{vars.NAME}} outside a flow.
func (cr *compiledRequest) compileResponse(r *lang.Request) error {
	if r.Flow == "" {
		if name, ok := cr.firstVar(); ok {
			return fmt.Errorf("request %q: template {{vars.%s}} is only available in a flow's requests", r.Name, name)
		}
	}
	if len(r.Checks) == 0 && len(r.Extracts) == 0 {
		return nil
	}
	if len(r.Checks)+len(r.Extracts) > lang.MaxChecks {
		return fmt.Errorf("request %q: more than %d checks and extracts", r.Name, lang.MaxChecks)
	}
	rs := &responseSpec{}
	for _, c := range r.Checks {
		cc, err := compileCheck(c)
		if err != nil {
			return fmt.Errorf("request %q: check %q: %w", r.Name, c.Name, err)
		}
		rs.needBody = rs.needBody || cc.kind == ckJSON || cc.kind == ckBody
		if cc.kind == ckStatus && rs.status == 0 {
			rs.status = 1 << uint(len(rs.checks))
		}
		rs.checks = append(rs.checks, cc)
	}
	for _, x := range r.Extracts {
		ce := compiledExtract{name: x.Name, slot: -1}
		switch x.From {
		case "json":
			p, err := lang.JSONPath(x.Expr)
			if err != nil {
				return fmt.Errorf("request %q: extract %q: %w", r.Name, x.Name, err)
			}
			ce.kind, ce.path = exJSON, p
		case "header":
			ce.kind, ce.header = exHeader, newHeaderName(x.Expr)
		case "cookie":
			ce.kind, ce.cookie = exCookie, []byte(x.Expr)
		case "regexp":
			re, err := regexp.Compile(x.Expr)
			if err != nil {
				return fmt.Errorf("request %q: extract %q: %w", r.Name, x.Name, err)
			}
			ce.kind, ce.re = exRegexp, re
		default:
			return fmt.Errorf("request %q: extract %q: unknown source %q", r.Name, x.Name, x.From)
		}
		rs.needBody = rs.needBody || ce.kind == exJSON || ce.kind == exRegexp
		rs.extracts = append(rs.extracts, ce)
	}
	cr.resp = rs
	return nil
}

func compileCheck(c *lang.Check) (compiledCheck, error) {
	cc := compiledCheck{name: c.Name, status: c.Status, contains: []byte(c.Contains), limit: c.ResponseTime}
	if c.Equals != nil {
		cc.equals, cc.isEquals = []byte(*c.Equals), true
	}
	if c.Min != nil {
		cc.min, cc.hasMin = *c.Min, true
	}
	if c.Max != nil {
		cc.max, cc.hasMax = *c.Max, true
	}
	if c.Matches != "" {
		re, err := regexp.Compile(c.Matches)
		if err != nil {
			return cc, err
		}
		cc.re = re
	}
	switch c.Subject {
	case "status":
		cc.kind = ckStatus
	case "header":
		cc.kind, cc.header = ckHeader, newHeaderName(c.Header)
	case "json":
		p, err := lang.JSONPath(c.JSON)
		if err != nil {
			return cc, err
		}
		cc.kind, cc.path = ckJSON, p
	case "body":
		cc.kind = ckBody
	case "response_time":
		cc.kind = ckTime
	default:
		return cc, fmt.Errorf("unknown subject %q", c.Subject)
	}
	return cc, nil
}

// firstVar is the first {{vars.NAME}} of the request's templates.
func (cr *compiledRequest) firstVar() (string, bool) {
	for _, t := range cr.templates() {
		for _, sg := range t.segs {
			if sg.kind == segVar {
				return sg.name, true
			}
		}
	}
	return "", false
}

func (cr *compiledRequest) templates() []*tmpl {
	ts := []*tmpl{&cr.path, &cr.body}
	for i := range cr.query {
		ts = append(ts, &cr.query[i].val)
	}
	for i := range cr.headers {
		ts = append(ts, &cr.headers[i].val)
	}
	return ts
}

// bindVars gives the request's {{vars.NAME}} and extracts their flow's
// variable slots.
func (cr *compiledRequest) bindVars(slots map[string]int) error {
	for _, t := range cr.templates() {
		for i := range t.segs {
			sg := &t.segs[i]
			if sg.kind != segVar {
				continue
			}
			s, ok := slots[sg.name]
			if !ok {
				return fmt.Errorf("request %q: template {{vars.%s}}: no step of its flow extracts %q", cr.name, sg.name, sg.name)
			}
			sg.col = s
		}
	}
	if cr.resp != nil {
		for i := range cr.resp.extracts {
			x := &cr.resp.extracts[i]
			x.slot = slots[x.name]
		}
	}
	return nil
}

// bodyOf is the response body the checks read.
func bodyOf(resp *fasthttp.Response) []byte {
	if len(resp.Header.ContentEncoding()) > 0 {
		if b, err := resp.BodyUncompressed(); err == nil {
			return b
		}
	}
	return resp.Body()
}

// unsafeString views b as a string without copying; gjson only reads it,
// and every value it returns is copied out before the response is reset.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// eval reports whether the check passes on resp, answered took after it was sent.
func (c *compiledCheck) eval(resp *fasthttp.Response, body []byte, took time.Duration) bool {
	switch c.kind {
	case ckStatus:
		code := resp.StatusCode()
		for _, s := range c.status {
			if s == code {
				return true
			}
		}
		return false
	case ckTime:
		return took <= c.limit
	case ckBody:
		if len(c.contains) > 0 && !bytes.Contains(body, c.contains) {
			return false
		}
		return c.re == nil || c.re.Match(body)
	case ckHeader:
		v, ok := c.header.peek(&resp.Header)
		return ok && c.compare(v, false, 0)
	case ckJSON:
		res := gjson.Get(unsafeString(body), c.path)
		if !res.Exists() {
			return false
		}
		v := res.Raw
		if res.Type == gjson.String {
			v = res.Str
		}
		isNum := res.Type == gjson.Number
		return c.compare(unsafe.Slice(unsafe.StringData(v), len(v)), isNum, res.Num)
	}
	return false
}

// compare applies the check's comparisons to a header or JSON value; with
// none it passes (the value is there). min and max need a number (a JSON
// number, or a string holding one).
func (c *compiledCheck) compare(v []byte, isNum bool, num float64) bool {
	if c.isEquals && !bytes.Equal(v, c.equals) {
		return false
	}
	if len(c.contains) > 0 && !bytes.Contains(v, c.contains) {
		return false
	}
	if c.re != nil && !c.re.Match(v) {
		return false
	}
	if c.hasMin || c.hasMax {
		if !isNum {
			f, err := strconv.ParseFloat(unsafeString(v), 64)
			if err != nil {
				return false
			}
			num = f
		}
		if (c.hasMin && num < c.min) || (c.hasMax && num > c.max) {
			return false
		}
	}
	return true
}

// extract saves the value into vars[x.slot] (reusing its buffer); an
// absent value clears the variable. It reports whether a value was found.
func (x *compiledExtract) extract(resp *fasthttp.Response, body []byte, vars [][]byte) bool {
	if x.slot < 0 || x.slot >= len(vars) {
		return false
	}
	dst := vars[x.slot][:0]
	found := false
	switch x.kind {
	case exJSON:
		res := gjson.Get(unsafeString(body), x.path)
		if res.Exists() && res.Type != gjson.Null {
			v := res.Raw
			if res.Type == gjson.String {
				v = res.Str
			}
			dst, found = append(dst, v...), true
		}
	case exHeader:
		if v, ok := x.header.peek(&resp.Header); ok {
			dst, found = append(dst, v...), true
		}
	case exCookie:
		for key, value := range resp.Header.Cookies() {
			if bytes.Equal(key, x.cookie) {
				v, _ := cookieValue(value)
				dst, found = append(dst, v...), true
				break
			}
		}
	case exRegexp:
		if m := x.re.FindSubmatchIndex(body); m != nil {
			lo, hi := m[0], m[1]
			if len(m) >= 4 && m[2] >= 0 {
				lo, hi = m[2], m[3]
			}
			dst, found = append(dst, body[lo:hi]...), true
		}
	}
	vars[x.slot] = dst
	return found
}

// cookieValue splits a Set-Cookie value ("name=value; Path=/; Max-Age=0")
// into the cookie's value and whether it deletes the cookie (Max-Age of
// zero or less).
func cookieValue(setCookie []byte) (value []byte, expired bool) {
	attrs := setCookie
	if i := bytes.IndexByte(setCookie, ';'); i >= 0 {
		value, attrs = setCookie[:i], setCookie[i+1:]
	} else {
		value, attrs = setCookie, nil
	}
	if i := bytes.IndexByte(value, '='); i >= 0 {
		value = value[i+1:]
	}
	value = bytes.TrimSpace(value)
	for len(attrs) > 0 {
		a := attrs
		if i := bytes.IndexByte(attrs, ';'); i >= 0 {
			a, attrs = attrs[:i], attrs[i+1:]
		} else {
			attrs = nil
		}
		a = bytes.TrimSpace(a)
		if len(a) > 8 && asciiEqualFold(a[:8], "max-age=") {
			if n, err := strconv.Atoi(unsafeString(a[8:])); err == nil && n <= 0 {
				expired = true
			}
		}
	}
	return value, expired
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// evalResponse runs r's checks and extracts on the response; it returns
// the mask of failed checks (bit i: check i).
func (rs *responseSpec) evalResponse(resp *fasthttp.Response, took time.Duration, vars [][]byte) uint64 {
	var body []byte
	if rs.needBody {
		body = bodyOf(resp)
	}
	var failed uint64
	for i := range rs.checks {
		if !rs.checks[i].eval(resp, body, took) {
			failed |= 1 << uint(i)
		}
	}
	if vars != nil {
		for i := range rs.extracts {
			rs.extracts[i].extract(resp, body, vars)
		}
	}
	return failed
}
