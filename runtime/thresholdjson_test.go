package runtime

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/dryrun"
	"github.com/loadshaper/loadshaper/runtime/engine"
)

// A threshold's window has one spelling in the three JSON documents that
// show thresholds: inspect (a duration, as all its durations), the dry-run
// report and the run summary (seconds): "window" (spec/summary-schema.md,
// spec/dry-run.md).
func TestThresholdWindowSpelledOnce(t *testing.T) {
	for name, v := range map[string]any{
		"inspect": lang.InspectThreshold{Name: "p99", Window: "1m"},
		"dry-run": dryrun.ThresholdResult{Name: "p99", Window: 60},
		"summary": engine.ThresholdResult{Name: "p99", Window: 60},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if _, ok := doc["window"]; !ok {
			t.Errorf("%s spells a threshold's window otherwise: %s", name, b)
		}
		for k := range doc {
			if k != "window" && strings.HasPrefix(k, "window") {
				t.Errorf("%s has a second window key %q", name, k)
			}
		}
	}
}
