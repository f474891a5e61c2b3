// Package profile lets an operator capture a CPU profile of a Gatehouse
// binary without opening a port: GATEHOUSE_CPUPROFILE=FILE writes one
// from start to exit (the connector must never listen, so no pprof
// endpoint).
package profile

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// Start begins a CPU profile if GATEHOUSE_CPUPROFILE names a file and
// returns the function that finishes it.
func Start() (stop func(), err error) {
	path := os.Getenv("GATEHOUSE_CPUPROFILE")
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_CPUPROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("GATEHOUSE_CPUPROFILE: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
