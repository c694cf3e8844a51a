//go:build race

package record

// raceEnabled reports whether the race detector is on; it changes allocation
// counts, so the zero-allocation tests skip under it.
const raceEnabled = true
