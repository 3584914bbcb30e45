package tick

import (
	"errors"
	"fmt"

	"github.com/loadshaper/loadshaper/predictors"
)

// ForecasterStateVersion is the layout of ForecasterState.
const ForecasterStateVersion = 1

// ForecasterState is one predictor block's forecaster as plain values:
// the fitted model (its spec, the values of its last fit and those since),
// the readings it keeps for the next refit, and how many ticks ago it was
// refitted.
type ForecasterState struct {
	Version  int                         `json:"version"`
	Target   string                      `json:"target"`
	Metric   string                      `json:"metric"`
	Model    *predictors.ForecasterState `json:"model,omitempty"` // nil before the first fit
	Readings []predictors.Number         `json:"readings,omitempty"`
	SinceFit int                         `json:"since_fit,omitempty"`
}

// Forecasters returns the state of each time-series predictor block's
// forecaster, by block name.
func (l *Predictions) Forecasters() map[string]ForecasterState {
	out := map[string]ForecasterState{}
	if l == nil {
		return out
	}
	for _, f := range l.forecasters {
		s := ForecasterState{Version: ForecasterStateVersion, Target: f.target, Metric: f.metric, Readings: predictors.Numbers(f.ys), SinceFit: f.sinceFit}
		if f.fitted && f.model != nil {
			ms := f.model.Export()
			s.Model = &ms
		}
		out[f.name] = s
	}
	return out
}

// RestoreForecasters gives each forecaster the state saved under its
// block's name: it then goes on exactly as the one that was saved.
// Forecasters without a saved state are left as they are; a state of
// another version, or of another target or metric than the block's now,
// is refused (the others are still restored).
func (l *Predictions) RestoreForecasters(states map[string]ForecasterState) error {
	if l == nil {
		return nil
	}
	var errs []error
	for _, f := range l.forecasters {
		s, ok := states[f.name]
		if !ok {
			continue
		}
		if err := f.restore(s); err != nil {
			errs = append(errs, fmt.Errorf("predictor %s: %w", f.name, err))
		}
	}
	return errors.Join(errs...)
}

func (f *forecaster) restore(s ForecasterState) error {
	if s.Version != ForecasterStateVersion {
		return fmt.Errorf("forecaster state version %d, this loadshaper reads %d: %w", s.Version, ForecasterStateVersion, predictors.ErrStateVersion)
	}
	if s.Target != f.target || s.Metric != f.metric {
		return fmt.Errorf("the state is of %s/%s, the block forecasts %s/%s", s.Target, s.Metric, f.target, f.metric)
	}
	var m *predictors.Forecaster
	if s.Model != nil {
		if s.Model.Spec != f.spec {
			return fmt.Errorf("the state is of model %q, the block's is %q", s.Model.Spec.Model, f.spec.Model)
		}
		var err error
		if m, err = predictors.RestoreForecaster(*s.Model); err != nil {
			return err
		}
	}
	ys := predictors.Floats(s.Readings)
	if len(ys) > f.history {
		ys = ys[len(ys)-f.history:]
	}
	f.ys, f.sinceFit, f.model, f.fitted = ys, s.SinceFit, m, m != nil && m.Fitted()
	return nil
}
