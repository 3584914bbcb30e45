package eval

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var evalPrint = flag.Bool("eval-print", false, "print the dry-run evaluation table (make eval-plan)")

// TestEvalPlan runs the plan for real against the testbed twice and checks
// that the dry-run fitted to the first run predicts the second within the
// bounds stated in EvalRow.Bound (spec/dry-run.md, "Evaluation").
func TestEvalPlan(t *testing.T) {
	if testing.Short() || os.Getenv("LOADSHAPER_EVAL") == "" {
		t.Skip("runs the testbed for about 75 s: make eval-plan (or LOADSHAPER_EVAL=1)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o := EvalOptions{HistoryPath: filepath.Join(t.TempDir(), "history.db"), Seed: 1}
	if *evalPrint {
		o.Log = os.Stdout
	}
	res, err := Evaluate(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if *evalPrint {
		if err := WriteEvalTable(os.Stdout, res); err != nil {
			t.Fatal(err)
		}
	}
	if res.Source.Kind != "history" {
		t.Fatalf("the dry-run did not fit the previous run: %+v", res.Source)
	}
	for _, r := range res.Rows {
		if !r.OK {
			t.Errorf("%s: predicted %.3g, actual %.3g: error %.3g over the bound %.3g (%s)", r.Name, r.Predicted, r.Actual, r.Error, r.Bound, r.Unit)
		}
	}
}
