package lang

import (
	"bufio"
	"encoding/csv"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// RequestTemplates are the {{name}} placeholders the engine fills in per
// request (see runtime/engine/template.go); {{data.COLUMN}} reads a column
// of the request's data_file.
var RequestTemplates = []string{"seq", "uuid", "rand_int"}

// checkTemplates reports unknown or malformed {{...}} placeholders in a
// request's strings before any traffic is sent. columns is nil when the
// request has no data file, empty when its header could not be read.
func (l *loader) checkTemplates(a *hcl.Attribute, s string, columns []string, hasData bool) {
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
		default:
			l.errorf(exprRange(a), "Unknown template", "{{%s}} is not a request template; use {{seq}}, {{uuid}}, {{rand_int}} or {{data.COLUMN}}.%s", name, didYouMean(name, RequestTemplates))
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
