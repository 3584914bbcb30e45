package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/loadshaper/loadshaper/runtime/history"
)

func init() {
	register(&command{
		Name:    "models",
		Summary: "list, show, forget, export and import the models runs learnt",
		Usage: `Usage:
  loadshaper models list [--format text|json]
  loadshaper models show MODEL [--format text|json]
  loadshaper models forget MODEL...
  loadshaper models export MODEL [--output FILE]
  loadshaper models import FILE.json

The history file keeps what runs learnt of their targets — load-response
lines with their noise and lag, per-class costs, forecasters, capacity
estimates — keyed by the target's host, its configuration fingerprint
(target { config = "..." }, default the target block's hash) and the
request mix, with the git commit it was learnt at (see spec/models.md).

  list    every model: target, host, config, mix, age, ticks of evidence,
          fit error, the runs that fed it, and whether it was demoted
  show    one model: its key and record, then what each part learnt
  forget  delete models, so the next run of their target starts cold
  export  a model as JSON, to keep it or carry it to another machine
  import  a model exported before, as a new model (its age starts now)

Flags:
  --history PATH   history file (default $XDG_DATA_HOME/loadshaper/history.db,
                   or ~/.local/share/loadshaper/history.db)

Examples:
  loadshaper models list
  loadshaper models show 3
  loadshaper models export 3 --output api-v2.json
  loadshaper models forget 3 4
`,
		Run: runModels,
	})
}

func runModels(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "loadshaper models: want a subcommand: list, show, forget, export or import (see --help)")
		return ExitUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("models "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("history", "", "history file")
	format := fs.String("format", "text", "output format")
	output := fs.String("output", "", "write to this file instead of stdout")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return ExitUsage
	}
	usage := func(msg string) int {
		fmt.Fprintf(stderr, "loadshaper models %s: %s\n", sub, msg)
		return ExitUsage
	}
	wantArgs := map[string][2]int{"list": {0, 0}, "show": {1, 1}, "forget": {1, 1 << 20}, "export": {1, 1}, "import": {1, 1}}
	n, ok := wantArgs[sub]
	if !ok {
		return usage("unknown subcommand (want list, show, forget, export or import)")
	}
	if len(pos) < n[0] || len(pos) > n[1] {
		return usage(fmt.Sprintf("wrong number of arguments %q (see --help)", pos))
	}
	if *format != "text" && *format != "json" {
		return usage(fmt.Sprintf("--format %q: want text or json", *format))
	}
	var ids []int
	if sub != "import" {
		for _, a := range pos {
			id, err := history.ParseModelID(a)
			if err != nil {
				return usage(err.Error())
			}
			ids = append(ids, id)
		}
	}
	file, err := history.ResolvePath(*path, "")
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper models: %v\n", err)
		return ExitError
	}
	store, err := history.Open(file)
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper models: %v\n", err)
		return ExitError
	}
	defer store.Close()
	ms := store.Models()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "loadshaper models %s: %v\n", sub, err)
		return ExitError
	}
	now := time.Now()
	switch sub {
	case "list":
		models, err := ms.List()
		if err != nil {
			return fail(err)
		}
		if *format == "json" {
			err = history.WriteModelListJSON(stdout, models)
		} else {
			err = history.WriteModelList(stdout, models, now)
		}
		if err != nil {
			return fail(err)
		}
	case "show":
		m, err := ms.Get(ids[0])
		if err != nil {
			return fail(err)
		}
		if *format == "json" {
			err = writeModelJSON(stdout, m)
		} else {
			err = history.WriteModelShow(stdout, m, now)
		}
		if err != nil {
			return fail(err)
		}
	case "forget":
		var errs []error
		for _, id := range ids {
			if err := ms.Forget(id); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintf(stdout, "forgot model %d\n", id)
		}
		if err := errors.Join(errs...); err != nil {
			return fail(err)
		}
	case "export":
		m, err := ms.Get(ids[0])
		if err != nil {
			return fail(err)
		}
		w := stdout
		if *output != "" {
			f, err := os.Create(*output)
			if err != nil {
				return fail(err)
			}
			defer f.Close()
			w = f
		}
		if err := writeModelJSON(w, m); err != nil {
			return fail(err)
		}
	case "import":
		b, err := os.ReadFile(pos[0])
		if err != nil {
			return fail(err)
		}
		var m history.Model
		if err := json.Unmarshal(b, &m); err != nil {
			return fail(fmt.Errorf("%s: not a model exported by loadshaper models export: %w", pos[0], err))
		}
		if err := m.Check(); err != nil {
			return fail(fmt.Errorf("%s: %w", pos[0], err))
		}
		was := m.ID
		m.ID, m.Created = 0, time.Time{}
		if err := ms.Put(&m, now); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "imported the model of %s (exported as model %d) as model %d\n", m.Key.Target, was, m.ID)
	}
	return ExitOK
}

func writeModelJSON(w io.Writer, m history.Model) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}
