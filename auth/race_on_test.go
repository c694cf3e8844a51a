//go:build race

package auth

// raceEnabled: the race detector is on. sync.Pool drops items at random
// under it, so allocation counts are not checked.
const raceEnabled = true
