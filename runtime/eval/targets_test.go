package eval

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestShapingEvalTargets is `make eval-targets`: the slow ramp and the
// fast ramp + hold, with no shaper, aimd, gradient and
// predictive_rate_limit, against real targets other than the testbed, to
// check that the testbed's result carries over: a cpu-bound Go server
// (its CPU through Prometheus, scored by the kernel's CPU time) and nginx
// with limit_req (scored by its access log). One table per target. About
// 15 minutes; LOADSHAPER_EVAL_SCENARIOS=halves adds the capacity halving.
func TestShapingEvalTargets(t *testing.T) {
	if os.Getenv("LOADSHAPER_EVAL") == "" {
		t.Skip("set LOADSHAPER_EVAL=1 (make eval-targets): runs load for about 15 minutes")
	}
	only := os.Getenv("LOADSHAPER_EVAL_TARGETS") // cpu, nginx or both (default)
	t.Run("cpu", func(t *testing.T) {
		if only != "" && !matchesAny("cpu", strings.Split(only, ",")) {
			t.Skip("not selected by LOADSHAPER_EVAL_TARGETS")
		}
		promBin, err := exec.LookPath("prometheus")
		if err != nil {
			t.Skip("prometheus is not installed (apt-get install prometheus)")
		}
		tg := cpuTarget(t, promBin)
		scs, strategies := selection(tg, scenarios(tg.capacity, targetTimes), "slow ramp,fast ramp")
		evalTarget(t, tg, scs, strategies)
	})
	t.Run("nginx", func(t *testing.T) {
		if only != "" && !matchesAny("nginx", strings.Split(only, ",")) {
			t.Skip("not selected by LOADSHAPER_EVAL_TARGETS")
		}
		bin, err := nginxBinary()
		if err != nil {
			t.Skip("nginx is not installed (apt-get install nginx)")
		}
		tg := nginxTarget(t, bin)
		scs, strategies := selection(tg, scenarios(tg.capacity, targetTimes), "slow ramp,fast ramp")
		evalTarget(t, tg, scs, strategies)
	})
}

// nginxBinary finds nginx on PATH or where Debian installs it (/usr/sbin
// is not on every user's PATH).
func nginxBinary() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	return exec.LookPath("/usr/sbin/nginx")
}
