package engine

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/loadshaper/loadshaper/lang"
)

// Growth is the factor the plan's growth intents put on the planned load
// at run time at: the product of every growth intent with At ≤ at (1 when
// none is in force). A plan with `intent "sale" { growth = 2, at = "1m" }`
// rehearses that traffic: from 1m on, every open-model phase's planned
// rate is doubled, and a closed-model phase runs twice the users. Runs and
// dry-runs both take the planned load from here, so a dry-run predicts what
// a run sends; the shapers still see the intent ahead (Snapshot.Intents)
// and the hard limits still clamp the result.
func Growth(intents []*lang.Intent, at time.Duration) float64 {
	f := 1.0
	for _, in := range intents {
		if inForce(in, at) {
			f *= in.Growth
		}
	}
	return f
}

// GrowthNote names the growth intents in force at run time at, for the
// live view, the summary and history: `growth "sale" ×2`; "" when none is.
func GrowthNote(intents []*lang.Intent, at time.Duration) string {
	var parts []string
	for _, in := range intents {
		if inForce(in, at) {
			parts = append(parts, fmt.Sprintf("growth %q ×%.3g", in.Name, in.Growth))
		}
	}
	return strings.Join(parts, ", ")
}

// GrownUsers is a closed-model phase's users under growth factor g: users × g,
// rounded (never negative).
func GrownUsers(users int, g float64) int {
	if users <= 0 || !(g > 0) || math.IsInf(g, 0) {
		return max(users, 0)
	}
	return int(math.Round(float64(users) * g))
}

// maxGrowth is the largest Growth at any run time in [from, to]: how many
// closed-model users a phase running then may need at most.
func maxGrowth(intents []*lang.Intent, from, to time.Duration) float64 {
	best := Growth(intents, from)
	for _, in := range intents {
		if in != nil && in.At > from && in.At <= to {
			best = math.Max(best, Growth(intents, in.At))
		}
	}
	return best
}

func inForce(in *lang.Intent, at time.Duration) bool {
	return in != nil && in.Kind == "growth" && in.Growth > 0 && !math.IsInf(in.Growth, 0) && at >= in.At
}

// growthLog records when the growth in force changed over a phase, for
// its summary.
type growthLog struct {
	last  string
	notes []string
}

func newGrowthLog(note string, at time.Duration) *growthLog {
	l := &growthLog{}
	l.note(note, at)
	return l
}

func (l *growthLog) note(note string, at time.Duration) {
	if note == l.last {
		return
	}
	if note == "" {
		note = "no growth"
	}
	l.notes = append(l.notes, fmt.Sprintf("%s in force from %.1fs", note, at.Seconds()))
	l.last = note
	if note == "no growth" {
		l.last = ""
	}
}
