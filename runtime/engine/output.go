package engine

import "fmt"

// WriteFile writes the summary to path in format: "json" (the summary,
// spec/summary-schema.md), "html" (the report) or "text" (the table).
func (s *Summary) WriteFile(path, format string) error {
	switch format {
	case "json":
		return s.WriteJSON(path)
	case "text":
		return s.WriteTextFile(path)
	case "html":
		return s.WriteHTMLFile(path)
	}
	return fmt.Errorf("format %q is not supported (json, html, text)", format)
}
