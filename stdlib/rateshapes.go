package stdlib

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// The rate shapes plan functions build. Each is a value type, cheap to
// evaluate at every tick; At never returns a negative rate.

// Ramp rises (or falls) linearly from From to To over the phase.
type Ramp struct{ From, To float64 }

func (r Ramp) At(elapsed, total time.Duration) float64 {
	return clampRate(r.From + (r.To-r.From)*progress(elapsed, total))
}
func (r Ramp) Peak(time.Duration) float64 { return math.Max(r.From, r.To) }
func (r Ramp) String() string {
	return fmt.Sprintf("ramp(%s, %s)", formatFloat(r.From), formatFloat(r.To))
}

// Steps holds each rate for an equal share of the phase, in order.
type Steps []float64

func (s Steps) At(elapsed, total time.Duration) float64 {
	if len(s) == 0 {
		return 0
	}
	i := int(progress(elapsed, total) * float64(len(s)))
	if i >= len(s) {
		i = len(s) - 1
	}
	return clampRate(s[i])
}
func (s Steps) Peak(time.Duration) float64 {
	p := 0.0
	for _, r := range s {
		p = math.Max(p, r)
	}
	return p
}
func (s Steps) String() string {
	parts := make([]string, len(s))
	for i, r := range s {
		parts[i] = formatFloat(r)
	}
	return "steps(" + strings.Join(parts, ", ") + ")"
}

// Stairs climbs from From to To in Count equal steps (both ends included).
type Stairs struct {
	From, To float64
	Count    int
}

func (s Stairs) steps() Steps {
	if s.Count <= 1 {
		return Steps{s.To}
	}
	out := make(Steps, s.Count)
	for i := range out {
		out[i] = s.From + (s.To-s.From)*float64(i)/float64(s.Count-1)
	}
	return out
}
func (s Stairs) At(elapsed, total time.Duration) float64 { return s.steps().At(elapsed, total) }
func (s Stairs) Peak(time.Duration) float64              { return math.Max(s.From, s.To) }
func (s Stairs) String() string {
	return fmt.Sprintf("stairs(%s, %s, %d)", formatFloat(s.From), formatFloat(s.To), s.Count)
}

// Exponential grows (or decays) geometrically from From to To: the rate
// multiplies by the same factor every second. Both ends are > 0.
type Exponential struct{ From, To float64 }

func (e Exponential) At(elapsed, total time.Duration) float64 {
	return clampRate(e.From * math.Pow(e.To/e.From, progress(elapsed, total)))
}
func (e Exponential) Peak(time.Duration) float64 { return math.Max(e.From, e.To) }
func (e Exponential) String() string {
	return fmt.Sprintf("exponential(%s, %s)", formatFloat(e.From), formatFloat(e.To))
}

// Sine oscillates around Base by Amplitude with the given Period, the way
// daily traffic does; the rate never goes below zero.
type Sine struct {
	Base, Amplitude float64
	Period          time.Duration
}

func (s Sine) At(elapsed, _ time.Duration) float64 {
	if s.Period <= 0 {
		return clampRate(s.Base)
	}
	return clampRate(s.Base + s.Amplitude*math.Sin(2*math.Pi*float64(elapsed)/float64(s.Period)))
}
func (s Sine) Peak(total time.Duration) float64 {
	if s.Period > 0 && total < s.Period/4 {
		// The phase ends before the first crest.
		return clampRate(math.Max(s.At(total, total), s.Base))
	}
	return clampRate(s.Base + math.Abs(s.Amplitude))
}
func (s Sine) String() string {
	return fmt.Sprintf("sine(%s, %s, %q)", formatFloat(s.Base), formatFloat(s.Amplitude), FormatDuration(s.Period))
}

func progress(elapsed, total time.Duration) float64 {
	if total <= 0 {
		return 1
	}
	p := float64(elapsed) / float64(total)
	return math.Min(1, math.Max(0, p))
}

func clampRate(r float64) float64 {
	if r < 0 || math.IsNaN(r) {
		return 0
	}
	return r
}

// RateShapeType is the cty type plan functions return for a rate shape: a
// capsule around a RateShape. A plain number is also a valid rate.
var RateShapeType = cty.CapsuleWithOps("rate shape", reflect.TypeOf((*RateShape)(nil)).Elem(), &cty.CapsuleOps{
	GoString: func(v any) string { return (*v.(*RateShape)).String() },
	TypeGoString: func(reflect.Type) string {
		return "stdlib.RateShapeType"
	},
	Equals: func(a, b any) cty.Value {
		return cty.BoolVal((*a.(*RateShape)).String() == (*b.(*RateShape)).String())
	},
	RawEquals: func(a, b any) bool {
		return (*a.(*RateShape)).String() == (*b.(*RateShape)).String()
	},
})

// RateShapeVal wraps s as a cty value of RateShapeType.
func RateShapeVal(s RateShape) cty.Value { return cty.CapsuleVal(RateShapeType, &s) }

// RateShapeFromValue turns a plan value into a RateShape: a number is a
// Constant rate, a value built by ramp(), steps() and friends is its shape.
func RateShapeFromValue(v cty.Value) (RateShape, error) {
	if v.IsNull() {
		return nil, fmt.Errorf("rate must not be null")
	}
	if !v.IsKnown() {
		return nil, fmt.Errorf("rate is not known")
	}
	if v.Type().Equals(RateShapeType) {
		return *v.EncapsulatedValue().(*RateShape), nil
	}
	if v.Type() == cty.String {
		return nil, fmt.Errorf("rate must be a number of requests per second or a rate shape such as ramp(100, 1000), not a string")
	}
	if v.Type() != cty.Number {
		return nil, fmt.Errorf("rate must be a number of requests per second or a rate shape such as ramp(100, 1000), not %s", v.Type().FriendlyName())
	}
	f, _ := v.AsBigFloat().Float64()
	if f < 0 || math.IsInf(f, 0) {
		return nil, fmt.Errorf("rate must be a non-negative number of requests per second, got %s", formatFloat(f))
	}
	return Constant(f), nil
}
