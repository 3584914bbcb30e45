package predictors

import "testing"

// BenchmarkUpdate measures one online update of every model after a fit:
// the runtime calls Update once per tick per predictor, so it must stay
// well under a microsecond and never allocate.
func BenchmarkUpdate(b *testing.B) {
	y := seasonal(4000, 288, 50, 0.001, 10, 2, 1)
	for _, name := range ModelNames {
		m, err := NewModel(Spec{Model: name, Period: 288})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Fit(y); err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				m.Update(y[i%len(y)])
			}
		})
	}
}
