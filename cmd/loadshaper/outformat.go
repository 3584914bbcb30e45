package main

import (
	"fmt"
	"io"

	"github.com/loadshaper/loadshaper/lang"
)

// outFormat is the format --out writes, from the file's extension, checked
// before the run starts: a summary is never written in a format its name
// does not say, and a wrong name does not cost a whole run.
func outFormat(cmd, path string, stderr io.Writer) (string, bool) {
	if path == "" {
		return "", true
	}
	f, ok := lang.OutputFormatOf(path)
	if !ok {
		fmt.Fprintf(stderr, "loadshaper %s: --out %q: the format follows the file's extension: .json (the summary, spec/summary-schema.md), .html (the report) or .txt (the table)\n", cmd, path)
	}
	return f, ok
}
