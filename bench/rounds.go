package main

import (
	"cmp"
	"slices"
	"time"
)

// measured is one load run and the CPU time each process of the run's
// pid list spent during it: the backend, the gateway, the connector, then
// nginx's master and workers.
type measured struct {
	load loadResult
	cpu  []time.Duration
}

// per10k is d per 10,000 requests of the run.
func (m measured) per10k(d time.Duration) float64 {
	return d.Seconds() / float64(m.load.requests) * 1e4
}

// round is a direct run, an nginx-TLS run and the Gatehouse run right
// after them (nginx's is zero when the reference path is off).
type round struct{ direct, nginx, gh measured }

func (r round) ratio() float64 { return r.gh.load.rps / r.direct.load.rps }

// vsNginx is Gatehouse's req/s over nginx-TLS's in the round.
func (r round) vsNginx() float64 { return r.gh.load.rps / r.nginx.load.rps }

// nginxRatio is nginx-TLS's req/s over direct's in the round.
func (r round) nginxRatio() float64 { return r.nginx.load.rps / r.direct.load.rps }

// medianRound is the round whose ratio is the median (the lower one of
// the middle two for an even count).
func medianRound(rs []round) round { return medianBy(rs, round.ratio) }

// bulkRound is one download direct, through nginx-TLS over HTTP/1.1 and
// over HTTP/2, and through Gatehouse over HTTP/1.1 and over HTTP/2, in
// MB/s.
type bulkRound struct{ direct, nginx, nginx2, gh, gh2 float64 }

func (r bulkRound) ratio() float64       { return r.gh / r.direct }
func (r bulkRound) vsNginx() float64     { return r.gh / r.nginx }
func (r bulkRound) h2VsNginx() float64   { return r.gh2 / r.nginx }
func (r bulkRound) nginxRatio() float64  { return r.nginx / r.direct }
func (r bulkRound) h2VsH1() float64      { return r.gh2 / r.gh }
func (r bulkRound) nginxH2VsH1() float64 { return r.nginx2 / r.nginx }

// medianRatio is the median of key over the rounds (the lower one of
// the middle two for an even count): each ratio's own median round.
func medianRatio[T any](xs []T, key func(T) float64) float64 { return key(medianBy(xs, key)) }

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
// t == nil is a reference path that is off: a zero measurement.
func measure(e *env, t *target, spec loadSpec, pids []int, rss bool, peak map[int]int64,
	load func(*target, loadSpec) (loadResult, error)) (measured, error) {
	if t == nil {
		return measured{}, nil
	}
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
	for _, p := range e.procs() {
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
