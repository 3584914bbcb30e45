package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// The CLI's behaviour (output and exit codes) is specified by the scripts in
// testdata/script: one .txtar file per behaviour. Each runs `loadshaper`
// in-process.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"loadshaper": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup:               scriptEnv,
	})
}

// scriptEnv gives every script $REPO (the repository's examples and shared
// data) and a home and history of its own.
func scriptEnv(env *testscript.Env) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	env.Setenv("REPO", wd+"/../..")
	env.Setenv("HOME", env.WorkDir+"/home")
	env.Setenv("XDG_DATA_HOME", env.WorkDir+"/home/.local/share")
	return nil
}
