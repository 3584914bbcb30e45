package lang

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// RequestTemplates are the {{name}} placeholders the engine fills in per
// request (see runtime/engine/template.go); {{data.COLUMN}} reads a column
// of the request's (or its flow's) data_file, {{vars.NAME}} a variable an
// earlier step of the flow extracted.
var RequestTemplates = []string{"seq", "uuid", "rand_int"}

// checkTemplates reports unknown or malformed {{...}} placeholders in a
// request's strings before any traffic is sent. columns is nil when the
// request has no data file, empty when its header could not be read. fl is
// the flow the request is a step of, nil for a request of the mix.
func (l *loader) checkTemplates(a *hcl.Attribute, s string, columns []string, hasData bool, fl *flowScope) {
	for len(s) > 0 {
		i := strings.Index(s, "{{")
		if i < 0 {
			return
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			l.errorf(exprRange(a), "Unclosed template", "%q opens a {{ placeholder that is never closed with }}.", s[i:])
			return
		}
		raw := s[i : i+j+2]
		name := strings.TrimSpace(s[i+2 : i+j])
		s = s[i+j+2:]
		switch {
		case contains(RequestTemplates, name):
		case strings.HasPrefix(name, "data."):
			col := strings.TrimPrefix(name, "data.")
			if !hasData {
				l.errorf(exprRange(a), "Template needs a data file", "{{%s}} reads a column of the request's data_file; set data_file = \"<file>.csv\".", name)
			} else if columns != nil && !contains(columns, col) {
				l.errorf(exprRange(a), "Unknown data column", "The data file has no column %q; its columns are %s.%s", col, quotedList(columns), didYouMean(col, columns))
			}
		case strings.HasPrefix(name, "vars."):
			v := strings.TrimPrefix(name, "vars.")
			switch {
			case fl == nil:
				l.errorf(l.narrow(exprRange(a), raw), "Template needs a flow", "{{%s}} reads a variable that an earlier step of a flow extracted; this request is not in a flow block.", name)
			case !fl.known[v]:
				detail := fmt.Sprintf("{{%s}} reads variable %q, but no earlier step of flow %q extracts it", name, v, fl.flow.Name)
				if fl.later[v] {
					detail += " (a later step does: values are only there once the step that extracts them has run)"
				}
				l.errorf(l.narrow(exprRange(a), raw), "Variable not extracted yet", "%s. Add extract %q { ... } to a request before this one.%s", detail, v, didYouMean(v, sortedSet(fl.known)))
			}
		default:
			l.errorf(exprRange(a), "Unknown template", "{{%s}} is not a request template; use {{seq}}, {{uuid}}, {{rand_int}}, {{data.COLUMN}} or {{vars.NAME}}.%s", name, didYouMean(name, RequestTemplates))
		}
	}
}

// csvColumns reads the header line of a CSV file; nil when it cannot.
func csvColumns(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	header, err := r.Read()
	if err != nil {
		return nil
	}
	out := make([]string, len(header))
	for i, h := range header {
		out[i] = strings.TrimSpace(h)
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// narrow is the range of the text needle within rng when the source there
// holds it literally (a placeholder in a string), else rng: a diagnostic
// then points at the placeholder's own line and column.
func (l *loader) narrow(rng *hcl.Range, needle string) *hcl.Range {
	f := l.parser.files[rng.Filename]
	if f == nil || rng.End.Byte > len(f.Bytes) || rng.Start.Byte >= rng.End.Byte {
		return rng
	}
	src := f.Bytes[rng.Start.Byte:rng.End.Byte]
	k := strings.Index(string(src), needle)
	if k < 0 {
		return rng
	}
	pos := rng.Start
	for _, c := range string(src[:k]) {
		pos.Byte += len(string(c))
		if c == '\n' {
			pos.Line++
			pos.Column = 1
		} else {
			pos.Column++
		}
	}
	end := pos
	end.Byte += len(needle)
	end.Column += len([]rune(needle))
	return &hcl.Range{Filename: rng.Filename, Start: pos, End: end}
}
