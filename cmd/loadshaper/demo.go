package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/loadshaper/loadshaper/runtime/testbed"
)

func init() {
	register(&command{
		Name:    "demo",
		Summary: "start the bundled testbed on a free 127.0.0.1 port and run a plan against it",
		Usage: `Usage: loadshaper demo [flags] [PLAN]

Starts the testbed (see 'loadshaper testbed --help') in this process on a
free 127.0.0.1 port, then runs PLAN (default examples/demo.lshcl) with the
variable base_url set to the testbed's URL. Nothing leaves this machine.

Flags:
  --capacity R     the testbed's capacity in requests per second (default 500)
  --workers N      the testbed's worker pool (default 16)
  --cost D         the testbed's CPU time per request (default 100us)
  and every flag of 'loadshaper run' (--var, --var-file, --out, --quiet, --progress, --seed)

Example:
  loadshaper demo --out out/demo.json
`,
		Run: runDemo,
	})
}

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f runFlags
	f.register(fs)
	cfg := testbed.Config{Addr: "127.0.0.1:0"}
	fs.Float64Var(&cfg.Capacity, "capacity", 500, "")
	fs.IntVar(&cfg.Workers, "workers", 16, "")
	fs.DurationVar(&cfg.Cost, "cost", 100*time.Microsecond, "")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(paths) == 0 {
		paths = []string{"examples/demo.lshcl"}
		if _, err := os.Stat(paths[0]); err != nil {
			fmt.Fprintln(stderr, "loadshaper demo: examples/demo.lshcl not found: run it from the repository's root or name a plan")
			return ExitUsage
		}
	}
	srv, err := testbed.Start(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper demo: %v\n", err)
		return ExitError
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "testbed on %s (capacity %g req/s); running %v\n", srv.URL, cfg.Capacity, paths)
	return executePlan(paths, f, map[string]string{"base_url": srv.URL}, stdout, stderr)
}
