package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/loadshaper/loadshaper/runtime/engine"
)

func init() {
	register(&command{
		Name:    "attack",
		Summary: "send ad-hoc load to one URL and report latency and throughput",
		Usage: `Usage: loadshaper attack URL [flags]

Sends GET requests (or --method) to URL for --duration, at a fixed arrival
rate that does not wait for responses (--rate N, latency measured from each
request's intended start), or as fast as --connections allow (--rate max).

Flags:
  --rate N|max          requests per second, or max (default 50)
  --duration D          how long to send (default 10s)
  --connections C       connection pool size (default 64)
  --timeout D           per request (default 10s)
  --arrival A           uniform or poisson (default uniform)
  --method M            HTTP method (default GET)
  --body S              request body
  -H "Name: value"      a request header (repeatable)
  --no-keepalive        a new connection per request
  --insecure            skip TLS certificate verification
  --format text|json    output format (default text)
  --out FILE            also write the full summary: .json, .html or .txt

Exit codes: 0 done, 1 failed to run, 2 bad flags, 130 interrupted.

Example:
  loadshaper attack http://127.0.0.1:8080/ --rate 1000 --duration 5s --connections 32 --format json
`,
		Run: runAttack,
	})
}

// headerFlags collects repeated -H values.
type headerFlags map[string]string

func (h headerFlags) String() string { return "" }
func (h headerFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("header %q: want \"Name: value\"", v)
	}
	h[strings.TrimSpace(k)] = strings.TrimSpace(val)
	return nil
}

// parseInterspersed parses flags that may come before or after positional
// arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func runAttack(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("attack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rate := fs.String("rate", "50", "")
	dur := fs.Duration("duration", 10*time.Second, "")
	conns := fs.Int("connections", 64, "")
	timeout := fs.Duration("timeout", 10*time.Second, "")
	arrival := fs.String("arrival", "uniform", "")
	method := fs.String("method", "GET", "")
	body := fs.String("body", "", "")
	noKA := fs.Bool("no-keepalive", false, "")
	insecure := fs.Bool("insecure", false, "")
	format := fs.String("format", "text", "")
	out := fs.String("out", "", "")
	hdrs := headerFlags{}
	fs.Var(hdrs, "H", "")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "loadshaper attack: want exactly one URL (see --help)")
		return ExitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "loadshaper attack: --format must be text or json, not %q\n", *format)
		return ExitUsage
	}
	outFmt, ok := outFormat("attack", *out, stderr)
	if !ok {
		return ExitUsage
	}
	cfg := engine.AttackConfig{URL: pos[0], Method: *method, Body: *body, Headers: hdrs, Duration: *dur, Connections: *conns,
		Timeout: *timeout, Arrival: *arrival, KeepAlive: !*noKA, InsecureSkipVerify: *insecure}
	if *rate != "max" {
		r, err := strconv.ParseFloat(*rate, 64)
		if err != nil || !(r > 0) {
			fmt.Fprintf(stderr, "loadshaper attack: --rate must be a positive number or max, not %q\n", *rate)
			return ExitUsage
		}
		cfg.Rate = r
	}
	plan, err := engine.AttackPlan(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper attack: %v\n", err)
		return ExitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := engine.Run(ctx, plan, engine.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper attack: %v\n", err)
		return ExitError
	}
	if *out != "" {
		if err := sum.WriteFile(*out, outFmt); err != nil {
			fmt.Fprintf(stderr, "loadshaper attack: %v\n", err)
			return ExitError
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(sum.Overall)
	} else {
		sum.WriteText(stdout)
	}
	if sum.Outcome == engine.OutcomeInterrupted {
		return ExitInterrupted
	}
	return ExitOK
}
