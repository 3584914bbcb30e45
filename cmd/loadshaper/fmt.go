package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/loadshaper/loadshaper/lang"
)

func init() {
	register(&command{
		Name:    "fmt",
		Summary: "rewrite plans in the canonical format",
		Usage: `Usage: loadshaper fmt [-check] [-w] [-diff] PATH...

Formats .lshcl files canonically (aligned equals signs, two-space indent).
A directory stands for the .lshcl files in it. Files with syntax errors
are refused and left untouched.

Without -w the formatted source of each file is printed; with -w files are
rewritten in place and their names printed. -check prints the names of
files that are not formatted and exits 1 if there are any. "-" reads
standard input.

Flags:
  -w       write the result back to the files
  -check   only check; exit 1 when a file would change

Example:
  loadshaper fmt -w examples/
  loadshaper fmt -check plans/
`,
		Run: runFmt,
	})
}

func runFmt(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("fmt", stderr)
	write := fs.Bool("w", false, "write result to the files")
	check := fs.Bool("check", false, "exit 1 if a file is not formatted")
	if err := parseAll(fs, args); err != nil {
		return ExitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "loadshaper fmt: name at least one file or directory (or - for standard input)")
		return ExitUsage
	}
	var files []string
	for _, p := range fs.Args() {
		if p == "-" {
			files = append(files, p)
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(stderr, "loadshaper fmt: %v\n", err)
			return ExitError
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		_ = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, lang.PlanExt) {
				found = append(found, path)
			}
			return nil
		})
		sort.Strings(found)
		files = append(files, found...)
	}
	code := ExitOK
	for _, f := range files {
		var src []byte
		var err error
		if f == "-" {
			src, err = io.ReadAll(os.Stdin)
		} else {
			src, err = os.ReadFile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "loadshaper fmt: %v\n", err)
			code = ExitError
			continue
		}
		out, d := lang.Format(f, src)
		if d.Diags.HasErrors() {
			_ = d.WriteText(stderr, 0, false)
			fmt.Fprintf(stderr, "loadshaper fmt: %s not formatted: it has syntax errors\n", f)
			code = ExitError
			continue
		}
		changed := !bytes.Equal(src, out)
		switch {
		case *check:
			if changed {
				fmt.Fprintln(stdout, f)
				code = ExitError
			}
		case *write && f != "-":
			if changed {
				if err := os.WriteFile(f, out, 0o644); err != nil {
					fmt.Fprintf(stderr, "loadshaper fmt: %v\n", err)
					code = ExitError
					continue
				}
				fmt.Fprintln(stdout, f)
			}
		default:
			_, _ = stdout.Write(out)
		}
	}
	return code
}
