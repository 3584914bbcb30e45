package shapers

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Starlark's `%` operator has no field width, precision or flags, but rule
// authors write Python: "cpu %.2f" % x. Before compiling a script we wrap
// every string literal on the left of `%` that uses them in a call to
// pyFormatName, whose value formats like Python. Positions are unchanged, so
// backtraces still point at the script's own lines.
const pyFormatName = "_pyformat"

// rewritePercentFormats wraps literal format strings that need Python's
// conversion specifiers; it reports whether it changed anything.
func rewritePercentFormats(f *syntax.File) bool {
	changed := false
	syntax.Walk(f, func(n syntax.Node) bool {
		b, ok := n.(*syntax.BinaryExpr)
		if !ok || b.Op != syntax.PERCENT {
			return true
		}
		lit, ok := b.X.(*syntax.Literal)
		if !ok || lit.Token != syntax.STRING {
			return true
		}
		s, _ := lit.Value.(string)
		if !needsPyFormat(s) {
			return true
		}
		b.X = &syntax.CallExpr{
			Fn:     &syntax.Ident{NamePos: lit.TokenPos, Name: pyFormatName},
			Lparen: lit.TokenPos,
			Args:   []syntax.Expr{lit},
			Rparen: lit.TokenPos,
		}
		changed = true
		return true
	})
	return changed
}

// needsPyFormat reports whether a format string uses flags, width or
// precision, which only our formatter handles.
func needsPyFormat(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 >= len(s) {
			continue
		}
		j := i + 1
		if s[j] == '%' {
			i = j
			continue
		}
		if s[j] == '(' {
			if k := strings.IndexByte(s[j:], ')'); k >= 0 {
				j += k + 1
			}
		}
		if j < len(s) && strings.IndexByte("-+ #0123456789.*", s[j]) >= 0 {
			return true
		}
	}
	return false
}

var pyFormatBuiltin = starlark.NewBuiltin(pyFormatName, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
		return nil, err
	}
	return pyFormatString(s), nil
})

// pyFormatString is a format string that supports Python's %-conversions
// with flags, width and precision.
type pyFormatString string

var _ starlark.HasBinary = pyFormatString("")

func (p pyFormatString) String() string        { return starlark.String(p).String() }
func (p pyFormatString) Type() string          { return "string" }
func (p pyFormatString) Freeze()               {}
func (p pyFormatString) Truth() starlark.Bool  { return len(p) > 0 }
func (p pyFormatString) Hash() (uint32, error) { return starlark.String(p).Hash() }

func (p pyFormatString) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	if op != syntax.PERCENT || side != starlark.Left {
		// Behave as the plain string for anything else.
		if side == starlark.Left {
			return starlark.Binary(op, starlark.String(p), y)
		}
		return starlark.Binary(op, y, starlark.String(p))
	}
	return pyInterpolate(string(p), y)
}

func pyInterpolate(format string, x starlark.Value) (starlark.Value, error) {
	var buf strings.Builder
	index := 0
	nargs := 1
	tuple, isTuple := x.(starlark.Tuple)
	if isTuple {
		nargs = len(tuple)
	}
	next := func() (starlark.Value, error) {
		if index >= nargs {
			return nil, fmt.Errorf("not enough arguments for format string")
		}
		var v starlark.Value = x
		if isTuple {
			v = tuple[index]
		}
		index++
		return v, nil
	}
	usedMapping := false
	for {
		i := strings.IndexByte(format, '%')
		if i < 0 {
			buf.WriteString(format)
			break
		}
		buf.WriteString(format[:i])
		format = format[i+1:]
		if strings.HasPrefix(format, "%") {
			buf.WriteByte('%')
			format = format[1:]
			continue
		}
		var arg starlark.Value
		if strings.HasPrefix(format, "(") {
			j := strings.IndexByte(format, ')')
			if j < 0 {
				return nil, fmt.Errorf("incomplete format key")
			}
			key := format[1:j]
			format = format[j+1:]
			m, ok := x.(starlark.Mapping)
			if !ok {
				return nil, fmt.Errorf("format requires a mapping")
			}
			v, found, err := m.Get(starlark.String(key))
			if err != nil {
				return nil, err
			}
			if !found {
				return nil, fmt.Errorf("key not found: %s", key)
			}
			arg, usedMapping = v, true
		}
		// flags, width, precision
		j := 0
		for j < len(format) && strings.IndexByte("-+ #0", format[j]) >= 0 {
			j++
		}
		for j < len(format) && format[j] >= '0' && format[j] <= '9' {
			j++
		}
		if j < len(format) && format[j] == '.' {
			j++
			for j < len(format) && format[j] >= '0' && format[j] <= '9' {
				j++
			}
		}
		if j >= len(format) {
			return nil, fmt.Errorf("incomplete format")
		}
		if strings.IndexByte(format[:j], '*') >= 0 {
			return nil, fmt.Errorf("'*' width or precision is not supported")
		}
		spec, conv := format[:j], format[j]
		format = format[j+1:]
		if arg == nil {
			var err error
			if arg, err = next(); err != nil {
				return nil, err
			}
		}
		switch conv {
		case 's':
			str, ok := starlark.AsString(arg)
			if !ok {
				str = arg.String()
			}
			fmt.Fprintf(&buf, "%"+spec+"s", str)
		case 'r':
			fmt.Fprintf(&buf, "%"+spec+"s", arg.String())
		case 'd', 'i', 'o', 'x', 'X':
			n, err := starlark.NumberToInt(arg)
			if err != nil {
				return nil, fmt.Errorf("%%%c format requires integer: %v", conv, err)
			}
			verb := conv
			if verb == 'i' {
				verb = 'd'
			}
			fmt.Fprintf(&buf, "%"+spec+string(verb), n.BigInt())
		case 'e', 'f', 'g', 'E', 'F', 'G':
			f, ok := starlark.AsFloat(arg)
			if !ok {
				return nil, fmt.Errorf("%%%c format requires float, not %s", conv, arg.Type())
			}
			if !strings.Contains(spec, ".") && (conv == 'e' || conv == 'f' || conv == 'E' || conv == 'F') {
				spec += ".6" // Python's default precision
			}
			fmt.Fprintf(&buf, "%"+spec+string(conv), f)
		case 'c':
			s, err := starlark.Binary(syntax.PERCENT, starlark.String("%c"), arg)
			if err != nil {
				return nil, err
			}
			str, _ := starlark.AsString(s)
			fmt.Fprintf(&buf, "%"+spec+"s", str)
		default:
			return nil, fmt.Errorf("unknown conversion %%%c", conv)
		}
	}
	if index < nargs && !usedMapping {
		if _, ok := x.(starlark.Mapping); !ok {
			return nil, fmt.Errorf("not all arguments converted during string formatting")
		}
	}
	return starlark.String(buf.String()), nil
}
