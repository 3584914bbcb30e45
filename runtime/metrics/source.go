package metrics

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/stdlib"
)

// Sample is one reading of one metric.
type Sample struct {
	Value float64
	At    time.Time // when the value was measured (the source's own time when it has one)
	// Stale means Value cannot be trusted this tick: the source failed or
	// timed out (Value is then the last good reading, if any), the query
	// returned nothing, or a rate has no earlier reading yet.
	Stale  bool
	Reason string // why it is stale
	// Window is the span of load the value averages over when the source
	// declares one (a simulated cpu's averaging window); 0 = unknown or an
	// instant reading. The control tick prefers the range of the plan's
	// query when there is one.
	Window time.Duration
}

// Source reads a set of named metrics. Read must honour ctx's deadline.
// A metric it could not read is returned Stale (with a Reason) or left
// out; a non-nil error means the whole source failed this time.
type Source interface {
	Read(ctx context.Context, now time.Time) (map[string]Sample, error)
}

// SourceFunc adapts a function to a Source.
type SourceFunc func(ctx context.Context, now time.Time) (map[string]Sample, error)

// Read calls f.
func (f SourceFunc) Read(ctx context.Context, now time.Time) (map[string]Sample, error) {
	return f(ctx, now)
}

// Closer is implemented by sources that hold resources (connections).
type Closer interface{ Close() error }

// Factory builds (and validates) a source from a target's metrics block.
type Factory func(target string, spec *lang.MetricsSource) (Source, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register adds the implementation of a kind of source declared in
// stdlib.MetricsSources (the table lang checks plans against). It panics
// on an undeclared or duplicate kind, a programming error caught at init.
func Register(kind string, f Factory) {
	if _, ok := stdlib.LookupMetricsSource(kind); !ok {
		panic("metrics: source kind " + kind + " is not declared in stdlib")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[kind]; dup {
		panic("metrics: duplicate source kind " + kind)
	}
	registry[kind] = f
}

// Kinds lists the registered kinds of source, sorted.
func Kinds() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	ks := make([]string, 0, len(registry))
	for k := range registry {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// New builds the source a metrics block describes.
func New(target string, spec *lang.MetricsSource) (Source, error) {
	registryMu.RLock()
	f, ok := registry[spec.Kind]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("target %q: unknown metrics source %q (known: %v)", target, spec.Kind, Kinds())
	}
	src, err := f(target, spec)
	if err != nil {
		return nil, fmt.Errorf("target %q: metrics %q: %w", target, spec.Kind, err)
	}
	return src, nil
}

// DefaultTimeout bounds one query when the plan sets none.
const DefaultTimeout = 2 * time.Second

func timeoutOf(spec *lang.MetricsSource) time.Duration {
	if spec.Timeout > 0 {
		return spec.Timeout
	}
	return DefaultTimeout
}
