package metrics

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Selector picks series out of a scrape, as a PromQL instant vector
// selector does: `http_requests_total{code="200",method=~"GET|HEAD"}`.
type Selector struct {
	Name     string
	Matchers []Matcher
}

// Matcher is one label condition: =, !=, =~ or !~ (regexps are anchored).
type Matcher struct {
	Label, Op, Value string
	re               *regexp.Regexp
}

// ParseSelector reads a selector; errors say where it went wrong.
func ParseSelector(s string) (*Selector, error) {
	src := s
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && isNameChar(s[i], i == 0) {
		i++
	}
	sel := &Selector{Name: s[:i]}
	if sel.Name == "" {
		return nil, fmt.Errorf("selector %q: want a metric name first", src)
	}
	rest := strings.TrimSpace(s[i:])
	if rest == "" {
		return sel, nil
	}
	if rest[0] != '{' || rest[len(rest)-1] != '}' {
		return nil, fmt.Errorf("selector %q: want name{label=\"value\",...}", src)
	}
	body := rest[1 : len(rest)-1]
	for {
		body = strings.TrimLeft(body, " \t")
		if body == "" {
			break
		}
		j := 0
		for j < len(body) && isNameChar(body[j], j == 0) && body[j] != ':' {
			j++
		}
		if j == 0 {
			return nil, fmt.Errorf("selector %q: want a label name at %q", src, body)
		}
		m := Matcher{Label: body[:j]}
		body = strings.TrimLeft(body[j:], " \t")
		for _, op := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(body, op) {
				m.Op = op
				break
			}
		}
		if m.Op == "" {
			return nil, fmt.Errorf("selector %q: label %s: want =, !=, =~ or !~", src, m.Label)
		}
		body = strings.TrimLeft(body[len(m.Op):], " \t")
		if body == "" || body[0] != '"' {
			return nil, fmt.Errorf("selector %q: label %s: want a quoted value", src, m.Label)
		}
		end := 1
		for end < len(body) && body[end] != '"' {
			if body[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(body) {
			return nil, fmt.Errorf("selector %q: label %s: unterminated value", src, m.Label)
		}
		v, err := strconv.Unquote(body[:end+1])
		if err != nil {
			return nil, fmt.Errorf("selector %q: label %s: %v", src, m.Label, err)
		}
		m.Value = v
		if m.Op == "=~" || m.Op == "!~" {
			re, err := regexp.Compile("^(?:" + v + ")$")
			if err != nil {
				return nil, fmt.Errorf("selector %q: label %s: %v", src, m.Label, err)
			}
			m.re = re
		}
		sel.Matchers = append(sel.Matchers, m)
		body = strings.TrimLeft(body[end+1:], " \t")
		if body == "" {
			break
		}
		if body[0] != ',' {
			return nil, fmt.Errorf("selector %q: want , between labels at %q", src, body)
		}
		body = body[1:]
	}
	return sel, nil
}

func isNameChar(c byte, first bool) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

// Match reports whether a series (name and labels) is selected. A label
// that is absent matches as the empty string, as in PromQL.
func (s *Selector) Match(name string, labels map[string]string) bool {
	if name != s.Name {
		return false
	}
	for _, m := range s.Matchers {
		v := labels[m.Label]
		switch m.Op {
		case "=":
			if v != m.Value {
				return false
			}
		case "!=":
			if v == m.Value {
				return false
			}
		case "=~":
			if !m.re.MatchString(v) {
				return false
			}
		case "!~":
			if m.re.MatchString(v) {
				return false
			}
		}
	}
	return true
}
