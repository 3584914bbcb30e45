package engine

import (
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
)

// A template is compiled once per request into segments; rendering appends
// to a worker's reused buffer, so the hot path does not allocate.
type segKind uint8

const (
	segLit segKind = iota
	segSeq
	segUUID
	segRandInt
	segData
	segVar // {{vars.NAME}}: a flow instance's variable, bound to a slot by bindVars
)

type seg struct {
	kind segKind
	lit  []byte
	col  int    // segData: the column; segVar: the variable's slot
	name string // segVar: the variable
}

type tmpl struct {
	segs     []seg
	usesSeq  bool // {{seq}}
	usesData bool // {{data.col}}
}

// iterCtx is what one iteration's templates draw from.
type iterCtx struct {
	seq uint64
	rng *rand.Rand
	row [][]byte
	// vars are the flow instance's variables by slot (nil outside a
	// flow); an unset one is empty.
	vars [][]byte
	fl   *flowInst // the flow instance the request is a step of; nil for a request of the mix
}

// compileTemplate parses s, with {{seq}}, {{uuid}}, {{rand_int}} and
// {{data.column}} (columns of data; nil when the request has no data file).
func compileTemplate(s string, data *dataset) (tmpl, error) {
	var t tmpl
	for len(s) > 0 {
		i := strings.Index(s, "{{")
		if i < 0 {
			t.segs = append(t.segs, seg{kind: segLit, lit: []byte(s)})
			break
		}
		if i > 0 {
			t.segs = append(t.segs, seg{kind: segLit, lit: []byte(s[:i])})
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return t, fmt.Errorf("unclosed template %q", s[i:])
		}
		name := strings.TrimSpace(s[i+2 : i+j])
		s = s[i+j+2:]
		switch {
		case name == "seq":
			t.segs = append(t.segs, seg{kind: segSeq})
			t.usesSeq = true
		case name == "uuid":
			t.segs = append(t.segs, seg{kind: segUUID})
		case name == "rand_int":
			t.segs = append(t.segs, seg{kind: segRandInt})
		case strings.HasPrefix(name, "vars."):
			t.segs = append(t.segs, seg{kind: segVar, name: strings.TrimPrefix(name, "vars."), col: -1})
		case strings.HasPrefix(name, "data."):
			col := strings.TrimPrefix(name, "data.")
			if data == nil {
				return t, fmt.Errorf("template {{%s}} needs the request's data_file", name)
			}
			idx, ok := data.cols[col]
			if !ok {
				return t, fmt.Errorf("template {{%s}}: data file %s has no column %q (columns: %s)", name, data.path, col, strings.Join(data.names, ", "))
			}
			t.segs = append(t.segs, seg{kind: segData, col: idx})
			t.usesData = true
		default:
			return t, fmt.Errorf("unknown template {{%s}} (known: seq, uuid, rand_int, data.<column>, vars.<name>)", name)
		}
	}
	return t, nil
}

const hexDigits = "0123456789abcdef"

func (t *tmpl) appendTo(dst []byte, c *iterCtx) []byte {
	for i := range t.segs {
		sg := &t.segs[i]
		switch sg.kind {
		case segLit:
			dst = append(dst, sg.lit...)
		case segSeq:
			dst = strconv.AppendUint(dst, c.seq, 10)
		case segRandInt:
			dst = strconv.AppendUint(dst, c.rng.Uint64()>>33, 10)
		case segUUID:
			// A version 4 (random) UUID.
			var b [16]byte
			hi, lo := c.rng.Uint64(), c.rng.Uint64()
			for k := 0; k < 8; k++ {
				b[k] = byte(hi >> (8 * k))
				b[8+k] = byte(lo >> (8 * k))
			}
			b[6] = b[6]&0x0f | 0x40
			b[8] = b[8]&0x3f | 0x80
			for k, x := range b {
				if k == 4 || k == 6 || k == 8 || k == 10 {
					dst = append(dst, '-')
				}
				dst = append(dst, hexDigits[x>>4], hexDigits[x&0xf])
			}
		case segData:
			if sg.col < len(c.row) {
				dst = append(dst, c.row[sg.col]...)
			}
		case segVar:
			if sg.col >= 0 && sg.col < len(c.vars) {
				dst = append(dst, c.vars[sg.col]...)
			}
		}
	}
	return dst
}

// dataset is a CSV file whose first row names the columns; iteration n uses
// row n modulo the row count.
type dataset struct {
	path  string
	names []string
	cols  map[string]int
	rows  [][][]byte
}

func loadDataset(path string) (*dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data file: %w", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("data file %s: %w", path, err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("data file %s: needs a header row and at least one data row", path)
	}
	d := &dataset{path: path, names: recs[0], cols: map[string]int{}}
	for i, n := range recs[0] {
		d.cols[strings.TrimSpace(n)] = i
	}
	for _, r := range recs[1:] {
		row := make([][]byte, len(r))
		for i, v := range r {
			row[i] = []byte(v)
		}
		d.rows = append(d.rows, row)
	}
	return d, nil
}

// appendQueryEscaped appends s escaped for a URL query component.
func appendQueryEscaped(dst, s []byte) []byte {
	for _, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&0xf])
		}
	}
	return dst
}
