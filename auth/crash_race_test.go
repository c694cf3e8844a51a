//go:build race

package auth_test

// defaultCrashRounds is the default of -crash.rounds under the race
// detector, which slows each round (child start, store open, workload,
// checks) several times: fewer rounds keep `go test -race ./auth` within
// about a minute more than without it. Long runs set -crash.rounds.
const defaultCrashRounds = 25
