package engine

import (
	"fmt"
	"time"
)

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
