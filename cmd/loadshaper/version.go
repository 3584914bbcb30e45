package main

import (
	"fmt"
	"io"
	goruntime "runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=..."; a plain
// `go build` reports the module version or "devel".
var version = ""

func init() {
	register(&command{
		Name:    "version",
		Summary: "print loadshaper's version",
		Usage: `Usage: loadshaper version

Prints the version of loadshaper, the Go version it was built with, and the
VCS revision when known.

Example:
  loadshaper version
`,
		Run: func(args []string, stdout, stderr io.Writer) int {
			v, rev := version, ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				if v == "" {
					v = bi.Main.Version
				}
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						rev = s.Value[:12]
					}
				}
			}
			if v == "" || v == "(devel)" {
				v = "devel"
			}
			fmt.Fprintf(stdout, "loadshaper %s", v)
			if rev != "" {
				fmt.Fprintf(stdout, " (%s)", rev)
			}
			fmt.Fprintf(stdout, " %s %s/%s\n", goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
			return ExitOK
		},
	})
}
