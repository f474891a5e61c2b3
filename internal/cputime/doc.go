// Package cputime reads the CPU time a process has used, for benchmarks
// that report CPU per operation next to ns/op: on a machine shared with
// other work CPU time moves far less than wall time, which also counts
// the time a benchmark waited for a CPU.
package cputime

import (
	"testing"
	"time"
)

// Report reports the CPU time per op since start (a Self reading) as
// cpu-ns/op; nothing where Self is always 0.
func Report(b *testing.B, start time.Duration) {
	if start == 0 && Self() == 0 {
		return
	}
	b.ReportMetric(float64(Self()-start)/float64(b.N), "cpu-ns/op")
}
