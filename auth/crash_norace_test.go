//go:build !race

package auth_test

// defaultCrashRounds is the default of -crash.rounds.
const defaultCrashRounds = 50
