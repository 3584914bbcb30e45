// Command loadshaper is the CLI: it parses flags, wires lang and runtime
// together, and turns outcomes into exit codes. Logic lives in lang and
// runtime; each subcommand is one file here that registers itself.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand. Run returns the process exit code.
type command struct {
	Name    string
	Summary string // one line for the command list
	Usage   string // full --help text, with an example
	Run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.Name]; dup {
		panic("duplicate command " + c.Name)
	}
	commands[c.Name] = c
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				fmt.Fprint(stdout, c.Usage)
				return ExitOK
			}
		}
		usage(stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "loadshaper: unknown command %q\n\n", args[0])
		usage(stderr)
		return ExitUsage
	}
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" || a == "-help" {
			fmt.Fprint(stdout, c.Usage)
			return ExitOK
		}
	}
	return c.Run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "loadshaper: predictive load shaping.")
	fmt.Fprintln(w, "\nUsage: loadshaper COMMAND [flags] [args]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %s%s  %s\n", n, strings.Repeat(" ", width-len(n)), commands[n].Summary)
	}
	fmt.Fprintln(w, "\nRun 'loadshaper COMMAND --help' for a command's flags and an example.")
}

// parseAll parses flags that may come before or after the positional
// arguments (`loadshaper plan demo.lshcl --format json`), leaving the
// positional ones in fs.Args().
func parseAll(fs *flag.FlagSet, args []string) error {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	return fs.Parse(append([]string{"--"}, pos...))
}
