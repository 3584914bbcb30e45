package stdlib

import "time"

// RateShape is an arrival rate over a phase: requests per second at a given
// elapsed time into a phase of a given length. Plan functions such as
// ramp() and steps() build RateShapes; a plain number is Constant.
type RateShape interface {
	// At returns the rate in requests per second at elapsed into a phase
	// lasting total. It must be cheap and never negative.
	At(elapsed, total time.Duration) float64
	// Peak is the largest rate At can return for a phase lasting total.
	Peak(total time.Duration) float64
	// String renders the shape the way a plan would write it, e.g. "ramp(100, 5000)".
	String() string
}

// Constant is a fixed rate.
type Constant float64

func (c Constant) At(_, _ time.Duration) float64 { return float64(c) }
func (c Constant) Peak(time.Duration) float64    { return float64(c) }
func (c Constant) String() string                { return formatFloat(float64(c)) }
