package main

import "testing"

func TestMedianRound(t *testing.T) {
	r := func(direct, gh float64) round {
		return round{direct: measured{load: loadResult{rps: direct}}, gh: measured{load: loadResult{rps: gh}}}
	}
	for _, tc := range []struct {
		rounds []round
		want   float64
	}{
		{[]round{r(100, 25)}, 0.25},
		{[]round{r(100, 30), r(100, 20), r(100, 25)}, 0.25},
		{[]round{r(200, 50), r(100, 10), r(100, 40), r(100, 30)}, 0.25}, // even: the lower middle
	} {
		if got := medianRound(tc.rounds).ratio(); got != tc.want {
			t.Errorf("medianRound of %d rounds: ratio %v, want %v", len(tc.rounds), got, tc.want)
		}
	}
}

func TestMedianBulkRound(t *testing.T) {
	rs := []bulkRound{{direct: 1000, gh: 300, gh2: 1}, {direct: 2000, gh: 300, gh2: 2}, {direct: 1000, gh: 200, gh2: 3}}
	if got := medianBy(rs, bulkRound.ratio); got.gh2 != 3 {
		t.Errorf("median bulk round: %+v, want the one with ratio 0.2", got)
	}
}
