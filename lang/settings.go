package lang

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

var settingsBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "tick"},
		{Name: "max_rate"},
		{Name: "seed"},
		{Name: "history"},
		{Name: "history_keep"},
	},
}

// Kinds of the unnamed top-level blocks; nothing refers to them, but they
// may refer to variables and locals, so they are graph nodes too.
const (
	kindSettings Kind = "settings"
	kindSimulate Kind = "simulate"
)

func (l *loader) singleton(kind Kind, b *hcl.Block) bool {
	if old := l.graph.nodes[string(kind)+"."]; old != nil {
		l.errorf(b.DefRange.Ptr(), "Duplicate "+string(kind)+" block", "A plan has at most one %s block; the first is at %s.", kind, rangeText(old.declRange))
		return false
	}
	return true
}

func (l *loader) decodeSettingsBlock(b *hcl.Block) {
	if !l.singleton(kindSettings, b) {
		return
	}
	content, diags := b.Body.Content(settingsBlockSchema)
	l.diags = append(l.diags, diags...)
	n := &node{kind: kindSettings, declRange: b.DefRange, nameRange: b.DefRange, exprs: attrExprs(content.Attributes)}
	at := content.Attributes
	s := &l.plan.Settings
	n.build = func() {
		if d, ok := l.duration(at["tick"]); ok {
			if d < 10*time.Millisecond || d > time.Minute {
				l.errorf(exprRange(at["tick"]), "Invalid tick", "tick must be between 10ms and 1m; got %s.", stdlibDur(d))
			} else {
				s.Tick = d
			}
		}
		if v, ok := l.nonNegative(at["max_rate"]); ok {
			s.MaxRate = v
			l.maxRateRange = exprRange(at["max_rate"])
		}
		if v, ok := l.integer(at["seed"], -1<<53, 1<<53); ok {
			s.Seed = v
		}
		if v, ok := l.str(at["history"]); ok {
			s.HistoryPath = l.abs(v)
		}
		if v, ok := l.duration(at["history_keep"]); ok {
			s.HistoryKeep = v
		}
	}
	l.addNode(n)
}

var simulateBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "capacity", Required: true},
		{Name: "cores"},
		{Name: "base_cpu"},
		{Name: "cost_per_request"},
		{Name: "base_memory"},
		{Name: "memory_per_conn"},
		{Name: "base_latency"},
		{Name: "noise"},
		{Name: "capacity_change_at"},
		{Name: "capacity_change_to"},
	},
}

func (l *loader) decodeSimulateBlock(b *hcl.Block) {
	if !l.singleton(kindSimulate, b) {
		return
	}
	content, diags := b.Body.Content(simulateBlockSchema)
	l.diags = append(l.diags, diags...)
	n := &node{kind: kindSimulate, declRange: b.DefRange, nameRange: b.DefRange, exprs: attrExprs(content.Attributes)}
	at := content.Attributes
	s := &Simulate{Cores: 1, DeclRange: b.DefRange}
	l.plan.Simulate = s
	n.build = func() {
		if v, ok := l.positive(at["capacity"]); ok {
			s.Capacity = v
		}
		if v, ok := l.positive(at["cores"]); ok {
			s.Cores = v
		}
		if v, ok := l.fraction(at["base_cpu"]); ok {
			s.BaseCPU = v
		}
		if v, ok := l.duration(at["cost_per_request"]); ok {
			s.CostPerRequest = v
		}
		if v, ok := l.size(at["base_memory"]); ok {
			s.BaseMemory = v
		}
		if v, ok := l.size(at["memory_per_conn"]); ok {
			s.MemoryPerConn = v
		}
		if v, ok := l.duration(at["base_latency"]); ok {
			s.BaseLatency = v
		}
		if v, ok := l.fraction(at["noise"]); ok {
			s.Noise = v
		}
		if v, ok := l.duration(at["capacity_change_at"]); ok {
			s.CapacityChangeAt = v
		}
		if v, ok := l.positive(at["capacity_change_to"]); ok {
			s.CapacityChangeTo = v
		}
		if (at["capacity_change_at"] == nil) != (at["capacity_change_to"] == nil) {
			l.errorf(b.DefRange.Ptr(), "Incomplete capacity change", "capacity_change_at and capacity_change_to go together: when the simulated capacity changes, and the factor it changes by.")
		}
	}
	l.addNode(n)
}
