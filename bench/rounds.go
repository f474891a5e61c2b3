package main

import (
	"cmp"
	"slices"
	"time"
)

// measured is one load run and the CPU time the demo app, the gateway and
// the connector spent during it (in that order).
type measured struct {
	load loadResult
	cpu  []time.Duration
}

// per10k is d per 10,000 requests of the run.
func (m measured) per10k(d time.Duration) float64 {
	return d.Seconds() / float64(m.load.requests) * 1e4
}

// round is a direct run and the Gatehouse run right after it.
type round struct{ direct, gh measured }

func (r round) ratio() float64 { return r.gh.load.rps / r.direct.load.rps }

// medianRound is the round whose ratio is the median (the lower one of
// the middle two for an even count).
func medianRound(rs []round) round { return medianBy(rs, round.ratio) }

// bulkRound is one download direct, through Gatehouse over HTTP/1.1 and
// over HTTP/2, in MB/s.
type bulkRound struct{ direct, gh, gh2 float64 }

func (r bulkRound) ratio() float64 { return r.gh / r.direct }

// medianBy is the element of xs whose key is the median (the lower one of
// the middle two for an even count).
func medianBy[T any](xs []T, key func(T) float64) T {
	s := slices.Clone(xs)
	slices.SortFunc(s, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return s[(len(s)-1)/2]
}

// measure runs spec against t once, checking first that t answers and
// afterwards that every process is still up. With rss it also samples
// the gateway's and connector's VmRSS, keeping the largest in peak.
func measure(e *env, t *target, spec loadSpec, pids []int, rss bool, peak map[int]int64,
	load func(*target, loadSpec) (loadResult, error)) (measured, error) {
	if err := t.probe(spec.path, spec.body); err != nil {
		return measured{}, err
	}
	before := cpuOf(pids)
	var sampler *rssSampler
	if rss {
		sampler = sampleRSS(e.gateway.pid(), e.connector.pid())
	}
	r, err := load(t, spec)
	if sampler != nil {
		for pid, v := range sampler.finish() {
			peak[pid] = max(peak[pid], v)
		}
	}
	if err != nil {
		return measured{}, err
	}
	for _, p := range []*proc{e.app, e.gateway, e.connector} {
		if err := p.alive(); err != nil {
			return measured{}, err
		}
	}
	after := cpuOf(pids)
	m := measured{load: r, cpu: make([]time.Duration, len(pids))}
	for i := range pids {
		m.cpu[i] = after[i] - before[i]
	}
	return m, nil
}
