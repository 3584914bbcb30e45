package main

import (
	"os"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/rogpeppe/go-internal/testscript"
)

// The scripts in testdata/script-testbed send load, so they run with two
// in-process testbeds on 127.0.0.1: $TESTBED (ample capacity) and
// $TESTBED_SLOW (50 requests per second: saturates under the scripts' load).
func TestTestbedScripts(t *testing.T) {
	fast, err := testbed.Start(testbed.Config{Capacity: 20000, Workers: 64, Cost: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fast.Close() }) // scripts run as parallel subtests, after this function returns
	slow, err := testbed.Start(testbed.Config{Capacity: 50, Workers: 2, Cost: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slow.Close() })
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script-testbed",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			env.Setenv("REPO", wd+"/../..")
			env.Setenv("HOME", env.WorkDir+"/home")
			env.Setenv("TESTBED", fast.URL)
			env.Setenv("TESTBED_SLOW", slow.URL)
			return nil
		},
	})
}
