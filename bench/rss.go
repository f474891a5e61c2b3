package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// The RSS scenario: conns (64) connections, each fetching one response
// of size (1 MiB) from the backend's /hold endpoint, which sends the
// first 64 KiB and then holds every reply until all conns requests have
// arrived, so all of them are in flight at once; then the rest streams.
// Meanwhile the processes' VmRSS is sampled every 10 ms; before it, each
// process's peak (VmHWM) is reset through /proc/PID/clear_refs ("5"), so
// VmHWM afterwards is the exact peak of this scenario alone. The peak
// reported is the larger of the two (the samples alone where the reset
// is refused).

// rssPeaks runs the scenario once through t and returns each pid's peak
// resident set in KiB.
func rssPeaks(t *target, conns int, size int64, group string, pids []int) (map[int]int64, error) {
	reset := map[int]bool{}
	for _, pid := range pids {
		reset[pid] = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	}
	sampler := sampleRSSEvery(10*time.Millisecond, pids...)
	err := holdAll(t, conns, size, group)
	peaks := sampler.finish()
	if err != nil {
		return nil, err
	}
	for _, pid := range pids {
		if st, err := readProcStat(pid); err == nil && reset[pid] {
			peaks[pid] = max(peaks[pid], st.hwmKiB)
		}
	}
	return peaks, nil
}

// holdAll makes the conns requests of one group at once and checks every
// answer: a 200 with size bytes.
func holdAll(t *target, conns int, size int64, group string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := fmt.Sprintf("/hold/%d?group=%s&n=%d", size, group, conns)
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := t.get(ctx, path)
			if err != nil {
				errs <- err
				cancel() // the others would wait for this one until the backend gives up
				return
			}
			defer resp.Body.Close()
			n, err := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 64<<10))
			if err != nil || resp.StatusCode != 200 || n != size {
				errs <- fmt.Errorf("%s%s: %s with %d of %d bytes (%v)", t.base, path, resp.Status, n, size, err)
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when none failed
}

// sumPeaks adds the peaks of pids (nginx's master and workers), in KiB.
func sumPeaks(peaks map[int]int64, pids []int) int64 {
	var n int64
	for _, pid := range pids {
		n += peaks[pid]
	}
	return n
}

// rssGroup names one run's /hold group.
func rssGroup(name string, run int) string { return name + "-" + strconv.Itoa(run) }
