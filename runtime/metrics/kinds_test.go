package metrics

import (
	"slices"
	"testing"

	"github.com/loadshaper/loadshaper/stdlib"
)

// Every kind of source stdlib declares (the kinds lang lets a plan name)
// has an implementation, and Register refuses a kind that is not declared,
// so a plan that lints clean can read its metrics.
func TestEveryDeclaredKindIsRegistered(t *testing.T) {
	want := stdlib.MetricsKinds()
	slices.Sort(want)
	if got := Kinds(); !slices.Equal(got, want) {
		t.Errorf("registered %v, declared %v", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("Register accepted a kind stdlib does not declare")
		}
	}()
	Register("no_such_kind", nil)
}
