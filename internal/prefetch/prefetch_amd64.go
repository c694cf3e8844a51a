//go:build amd64 && !purego

package prefetch

// Two asks the processor to load the cache lines holding addresses a and
// b into all levels of its cache. It never faults, whatever a and b are.
func Two(a, b uintptr)
