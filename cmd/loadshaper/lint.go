package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/loadshaper/loadshaper/lang"
)

func init() {
	register(&command{
		Name:    "lint",
		Summary: "check plans and their scripts without sending traffic",
		Usage: `Usage: loadshaper lint [flags] PLAN...

Parses, evaluates and validates each PLAN (a .lshcl file, or a directory of
them forming one plan) and compiles the Starlark scripts it names. Prints
every error and warning with its file, line and a snippet. Exits 0 when all
plans are valid (warnings allowed), 1 on any error.

Flags:
  --format text|json   output format; json has the shape of terraform validate -json
  --var NAME=VALUE     set a variable (repeatable)
  --var-file FILE      read variables from an HCL file of NAME = VALUE lines (repeatable)
  --no-color           plain text output (also NO_COLOR=1; color is used only on terminals)

Variables are also read from LOADSHAPER_VAR_<name> environment variables.

Example:
  loadshaper lint examples/*.lshcl
  loadshaper lint --format json --var base_url=http://127.0.0.1:9000 plan.lshcl
`,
		Run: runLint,
	})
}

// planFlags are the flags every command that loads a plan takes.
type planFlags struct {
	vars     map[string]string
	varFiles []string
}

func (pf *planFlags) register(fs *flag.FlagSet) {
	pf.vars = map[string]string{}
	fs.Func("var", "set a variable: NAME=VALUE", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want NAME=VALUE, got %q", s)
		}
		pf.vars[k] = v
		return nil
	})
	fs.Func("var-file", "read variables from an HCL file", func(s string) error {
		pf.varFiles = append(pf.varFiles, s)
		return nil
	})
}

func (pf *planFlags) options() lang.LoadOptions {
	return lang.LoadOptions{Vars: pf.vars, VarFiles: pf.varFiles, Environ: os.Environ()}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, "Run 'loadshaper %s --help' for usage.\n", name) }
	return fs
}

func runLint(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("lint", stderr)
	var pf planFlags
	pf.register(fs)
	format := fs.String("format", "text", "text or json")
	noColor := fs.Bool("no-color", false, "plain text output")
	if err := parseAll(fs, args); err != nil {
		return ExitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "loadshaper lint: --format must be text or json, not %q\n", *format)
		return ExitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "loadshaper lint: name at least one plan (a .lshcl file or a directory)")
		return ExitUsage
	}
	color := !*noColor && isTerminal(stdout) && os.Getenv("NO_COLOR") == ""
	all := lang.Diagnostics{Files: nil}
	for _, path := range fs.Args() {
		_, d := lang.LoadWithFiles([]string{path}, pf.options())
		all.Diags = append(all.Diags, d.Diags...)
		if all.Files == nil {
			all.Files = d.Files
		} else {
			for k, v := range d.Files {
				all.Files[k] = v
			}
		}
	}
	if *format == "json" {
		_ = all.WriteJSON(stdout)
	} else {
		_ = all.WriteText(stdout, 0, color)
		errs, warns := 0, 0
		for _, d := range all.Diags {
			if d.Severity == 1 {
				errs++
			} else {
				warns++
			}
		}
		if errs == 0 {
			fmt.Fprintf(stdout, "Success! %d plan(s) valid%s.\n", fs.NArg(), plural(warns, "warning"))
		} else {
			fmt.Fprintf(stdout, "%d error(s)%s.\n", errs, plural(warns, "warning"))
		}
	}
	if all.Diags.HasErrors() {
		return ExitError
	}
	return ExitOK
}

func plural(n int, what string) string {
	switch n {
	case 0:
		return ""
	case 1:
		return ", 1 " + what
	}
	return fmt.Sprintf(", %d %ss", n, what)
}

// isTerminal reports whether w is a terminal: color only helps people, and
// would litter CI logs and pipes with escape codes.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
