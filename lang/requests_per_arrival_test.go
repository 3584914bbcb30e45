package lang

import "testing"

// A flow start counts its flow's requests: steps, loops of count
// iterations times their body, a while loop's body once; a phase's mix
// averages them by weight with its plain requests.
func TestRequestsPerArrival(t *testing.T) {
	req := func() *Step { return &Step{Kind: "request", Request: &Request{Name: "r"}} }
	f := &Flow{Name: "f", Weight: 3, Steps: []*Step{req(), {Kind: "think"},
		{Kind: "loop", Count: 4, Steps: []*Step{req(), {Kind: "loop", Count: 2, Steps: []*Step{req()}}}},
		{Kind: "loop", While: "vars.next", Max: 50, Steps: []*Step{req()}}}}
	if n := f.RequestsPerStart(); n != 1+4*(1+2)+1 {
		t.Fatalf("RequestsPerStart = %v, want 14", n)
	}
	p := &Plan{Requests: []*Request{{Name: "plain", Weight: 1}}, Flows: []*Flow{f}}
	all := &Phase{Name: "all"}
	if got, want := p.RequestsPerArrival(all), (1*1+3*14.0)/4; got != want {
		t.Errorf("mixed phase: %v requests per arrival, want %v", got, want)
	}
	if got := p.RequestsPerArrival(&Phase{Name: "plain", Requests: []string{"plain"}}); got != 1 {
		t.Errorf("a phase of plain requests: %v per arrival", got)
	}
	if got := p.RequestsPerArrival(&Phase{Name: "flows", Flows: []string{"f"}}); got != 14 {
		t.Errorf("a phase of the flow: %v per arrival", got)
	}
}
