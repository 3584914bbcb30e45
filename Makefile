# loadshaper's build. `make test` is everything CI runs.
GO          ?= go
BIN         := bin/loadshaper
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: all build demo test test-short lint fmt fuzz bench eval eval-targets eval-forecast eval-plan clean bench-history

all: build

build:
	$(GO) build -o $(BIN) ./cmd/loadshaper

# The main job: lint the bundled examples, then run examples/demo.lshcl
# against the bundled testbed on a free 127.0.0.1 port (about 16 s).
demo: build
	$(BIN) lint examples/*.lshcl
	$(BIN) inspect examples/at-a-glance.lshcl
	$(BIN) demo

test: lint
	$(GO) test -count=1 ./...
	$(MAKE) fuzz FUZZTIME=10s

test-short:
	$(GO) test -short ./...

$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: $(STATICCHECK)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

FUZZTIME ?= 30s
fuzz:
	$(GO) test ./lang -run '^$$' -fuzz '^FuzzLint$$' -fuzztime $(FUZZTIME)

clean:
	rm -rf bin out

# History store at scale: 24 h of 1 s ticks x 50 series, file size and a
# one-hour range query (spec/history.md). Large: not part of `make test`.
bench-history:
	$(GO) test -run '^$$' -bench 'RecordTick50' -benchtime 3000x ./runtime/history/
	LOADSHAPER_BENCH_HISTORY=1 $(GO) test -run '^$$' -bench 'SeriesOneHourOf24h' -benchtime 200x ./runtime/history/

# The shaping evaluation (runtime/eval): no shaper, aimd, gradient and
# predictive_rate_limit against the testbed (capacity 300 req/s, its
# utilisation read through a real Prometheus, 1 s scrape, rate over 5 s) on a
# slow ramp, a fast ramp + hold and a capacity halving. Prints the table the
# README quotes; about 15 minutes of load on 127.0.0.1. Needs prometheus.
eval:
	LOADSHAPER_EVAL=1 $(GO) test -count=1 -run '^TestShapingEval$$' -v -timeout 40m ./runtime/eval/

# The same comparison against real targets other than the testbed, to check
# that the result carries over (spec/eval.md): a cpu-bound Go server (one
# core, its CPU through Prometheus, scored by the kernel's CPU time) and
# nginx with limit_req (envelope on the generator's error rate and p99,
# scored by nginx's access log). Slow ramp and fast ramp + hold; one table
# per target; about 15 minutes on 127.0.0.1. Needs prometheus and nginx.
eval-targets:
	LOADSHAPER_EVAL=1 $(GO) test -count=1 -run '^TestShapingEvalTargets$$' -v -timeout 40m ./runtime/eval/

# Forecast accuracy on the NAB sample series (horizon 12, rolling origin over
# the last 20%, up to 100 refits per series and model) and anomaly detection
# against the labelled windows. Prints tables; takes a minute or two.
NAB ?= ../shared/data/nab
eval-forecast: build
	$(BIN) forecast eval $(NAB)/*.csv --horizon 12
	@echo
	$(BIN) forecast anomalies $(NAB)/*.csv --windows $(NAB)/windows.json

# The load engine against wrk, hey and vegeta on loopback (nginx target,
# taskset-pinned). Installs what it needs; prints one table. Noisy on a busy machine.
bench:
	runtime/testdata/bench/bench.sh

# Dry-run accuracy: run a plan for real against the testbed (127.0.0.1),
# dry-run it from that run's history, run it again and compare (shaped rate,
# peak cpu, p99, time of the first limit) against the bounds in
# spec/dry-run.md. Prints the table; fails past a bound. About a minute.
eval-plan:
	LOADSHAPER_EVAL=1 $(GO) test -count=1 -run '^TestEvalPlan$$' ./runtime/eval/ -v -args -eval-print
