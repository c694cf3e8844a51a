//go:build race

package dudect

// RaceEnabled reports whether the race detector is on. Its instrumentation
// of every memory access makes timings meaningless: timing tests skip.
const RaceEnabled = true
