package history

import (
	"errors"
	"time"

	"github.com/loadshaper/loadshaper/lang"
)

// Session is a run being recorded: the open store and the run's recorder.
// Wiring a run is three calls:
//
//	s, err := history.StartRun(plan, historyFlag, time.Now())
//	... s.Record(tick) every tick (or hand s.Recorder to the control loop)
//	s.Finish(outcome, time.Now())
type Session struct {
	*Recorder
	Store  *Store
	Pruned []int // runs removed by the plan's retention when the run started
}

// StartRun opens the history file the flag or the plan names (default
// DefaultPath), applies the plan's retention (settings.history_keep), and
// records the start of a run of plan. When another process is writing the
// file the error wraps ErrBusy: the caller may run without history.
func StartRun(p *lang.Plan, flagPath string, start time.Time, opts ...Options) (*Session, error) {
	path, err := ResolvePath(flagPath, p.Settings.HistoryPath)
	if err != nil {
		return nil, err
	}
	st, err := Open(path, opts...)
	if err != nil {
		return nil, err
	}
	if err := st.writable(); err != nil {
		st.Close()
		return nil, err
	}
	s := &Session{Store: st}
	if p.Settings.HistoryKeep > 0 {
		if s.Pruned, err = st.Prune(p.Settings.HistoryKeep, start); err != nil {
			st.Close()
			return nil, err
		}
	}
	run, err := RunFromPlan(p, start)
	if err != nil {
		st.Close()
		return nil, err
	}
	if s.Recorder, err = st.Begin(run); err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

// Finish records the run's outcome and closes the store.
func (s *Session) Finish(outcome string, end time.Time) error {
	return errors.Join(s.Recorder.Finish(outcome, end), s.Store.Close())
}
