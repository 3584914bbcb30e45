package runtime

import (
	"sort"
	"strings"
	"testing"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/shapers"
)

// lang checks a plan's shaper parameters against lang.StrategyParams and
// the shapers package checks them again when it builds the chain: the two
// tables must name the same strategies and parameters, or a plan that lints
// clean would fail to run.
func TestStrategyTablesAgree(t *testing.T) {
	var langNames, shaperNames []string
	for n := range lang.StrategyParams {
		langNames = append(langNames, n)
	}
	for _, st := range shapers.Strategies() {
		shaperNames = append(shaperNames, st.Name)
	}
	sort.Strings(langNames)
	if strings.Join(langNames, ",") != strings.Join(shaperNames, ",") {
		t.Fatalf("strategies differ:\n lang    %v\n shapers %v", langNames, shaperNames)
	}
	for _, st := range shapers.Strategies() {
		var a, b []string
		for _, p := range lang.StrategyParams[st.Name] {
			a = append(a, p.Name)
		}
		for _, p := range st.Params {
			b = append(b, p.Name)
		}
		sort.Strings(a)
		sort.Strings(b)
		if strings.Join(a, ",") != strings.Join(b, ",") {
			t.Errorf("%s: lang takes %v, shapers %v", st.Name, a, b)
		}
	}
}
