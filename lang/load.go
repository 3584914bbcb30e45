package lang

import "github.com/hashicorp/hcl/v2"

// LoadOptions are the inputs of a plan that do not live in its files.
type LoadOptions struct {
	Vars     map[string]string // --var name=value, raw strings parsed per the variable's type
	VarFiles []string          // --var-file paths (.lshcl.vars / .tfvars-style HCL attribute files)
	Environ  []string          // the environment as os.Environ() gives it: LOADSHAPER_VAR_name and env()
}

// Load parses, decodes, evaluates and validates a plan: one or more .lshcl
// files of the same plan, or a directory holding them. The Starlark scripts
// the plan names are compiled and checked too. The returned diagnostics hold
// every error and warning; the plan is nil when there are errors.
func Load(paths []string, opts LoadOptions) (*Plan, hcl.Diagnostics) {
	// Placeholder until the decoder lands (issue: the plan language).
	return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "plan decoding is not implemented yet"}}
}
