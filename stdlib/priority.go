package stdlib

// PriorityClasses are the request priority classes, from the one shed first
// to the one never shed (unless a hard limit is breached). The set is fixed
// and documented in spec/language.md.
var PriorityClasses = []string{"background", "low", "normal", "high", "critical"}

// PriorityIndex returns the position of class in PriorityClasses, or -1.
func PriorityIndex(class string) int {
	for i, c := range PriorityClasses {
		if c == class {
			return i
		}
	}
	return -1
}
