package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/loadshaper/loadshaper/runtime/testbed"
)

func init() {
	register(&command{
		Name:    "testbed",
		Summary: "run the bundled demo target (an HTTP server that saturates) on 127.0.0.1",
		Usage: `Usage: loadshaper testbed [flags]

Serves HTTP on 127.0.0.1 until interrupted (or for --for). Every path is a
unit of work: it waits for one of --workers workers, holds it for
workers/capacity seconds (burning --cost of CPU within that time), and
answers "ok". Beyond --capacity requests per second they queue and latency
grows; past --queue waiting requests they get 503.

  GET  /metrics                    Prometheus metrics: process CPU and memory, testbed_* counters
  GET  /health                     no cost
  GET  /admin/state                capacity, queue, workers as JSON
  POST /admin/stall?d=1s           freeze request handling for d
  POST /admin/capacity?rps=N       set capacity (or ?factor=0.5 to halve it)
  POST /shop/login                 {"user": U, "password": U+"-pw"}: a session cookie and {"token"}
  GET  /shop/items?page=N          needs the session: JSON items and "next" (3 pages)
  GET  /shop/items/ID              POST /shop/cart {"item": ID}   POST /shop/logout
  POST /shop/checkout              needs the session and X-Token: 201 {"order", "status"}
                                   (examples/journey.lshcl walks the shop)

Flags:
  --port N              port on 127.0.0.1 (default 8080; 0 = a free port)
  --capacity R          requests per second sustained (default 2000)
  --workers N           requests in service at once (default 16)
  --cost D              CPU time per request (default 100us)
  --memory BYTES        allocated per request in service (default 0)
  --baseline BYTES      held for the server's life (default 0)
  --queue N             waiting requests allowed (default 10000)
  --stall-after D       freeze once, this long after start ...
  --stall-for D         ... for this long (default 0: never)
  --for D               stop after D (default: until interrupted)

Example:
  loadshaper testbed --port 8080 --capacity 500 --cost 1ms
`,
		Run: runTestbed,
	})
}

func runTestbed(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("testbed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 8080, "")
	var cfg testbed.Config
	fs.Float64Var(&cfg.Capacity, "capacity", 2000, "")
	fs.IntVar(&cfg.Workers, "workers", 16, "")
	fs.DurationVar(&cfg.Cost, "cost", 100*time.Microsecond, "")
	fs.Int64Var(&cfg.Memory, "memory", 0, "")
	fs.Int64Var(&cfg.Baseline, "baseline", 0, "")
	fs.IntVar(&cfg.Queue, "queue", 10000, "")
	fs.DurationVar(&cfg.StallAfter, "stall-after", 0, "")
	fs.DurationVar(&cfg.StallFor, "stall-for", 0, "")
	runFor := fs.Duration("for", 0, "")
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loadshaper testbed: unexpected argument %q\n", fs.Arg(0))
		return ExitUsage
	}
	if *port < 0 || *port > 65535 || cfg.Capacity <= 0 || cfg.Workers <= 0 || cfg.Cost < 0 {
		fmt.Fprintln(stderr, "loadshaper testbed: --port must be 0..65535; --capacity, --workers positive; --cost not negative")
		return ExitUsage
	}
	cfg.Addr = "127.0.0.1:" + strconv.Itoa(*port)
	srv, err := testbed.Start(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper testbed: %v\n", err)
		return ExitError
	}
	fmt.Fprintf(stdout, "testbed listening on %s (capacity %g req/s, %d workers, cost %s)\n", srv.URL, cfg.Capacity, cfg.Workers, cfg.Cost)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *runFor)
		defer cancel()
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	fmt.Fprintln(stdout, "testbed stopped")
	return ExitOK
}
