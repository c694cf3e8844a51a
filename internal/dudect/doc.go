// Package dudect is a small timing side-channel test harness in the manner
// of dudect (Reparaz, Balasch and Verbauwhede, "Dude, is my code constant
// time?", DATE 2017): it times one operation on inputs of two classes,
// interleaved at random, and asks Welch's t-test whether the two timing
// distributions have the same mean. Code whose running time depends on
// which class its input belongs to shows a |t| that grows with the square
// root of the number of measurements; code that does not keeps |t| of the
// order of 1 however long it runs.
//
// It is used by tests only, and it is not a proof of constant time: it
// sees the leaks that two chosen input classes and this machine's clock
// make visible, nothing else. What it can see is shown by a canary, a
// deliberately leaky comparison measured the same way.
//
// # The tests that use it
//
// auth/timing_test.go times Authenticate, the SASL PLAIN checks and the
// SCRAM proof check, and the canary. Their short mode (20,000
// measurements per test) runs with `go test ./...`. The long mode
// (1,000,000 measurements per run, each real check measured twice, both
// runs required below |t| = 10; 8 to 10 minutes on a two-core
// machine, most of it argon2id) is
//
//	go test ./auth -run Timing -timing.long -v -timeout 60m
//
// # How a measurement is taken
//
// [Run] works in batches. For each batch it first draws the class of each
// measurement (a fair coin per measurement, from a ChaCha8 generator
// seeded with [Config.Seed], or from crypto/rand when the seed is zero;
// the seed used is in the [Result], so a run can be repeated with the same
// class sequence), and calls the target's Prepare for every slot of the
// batch: all inputs exist before any timing starts, and preparing an input
// never runs between two timed operations. It then collects garbage, turns
// the collector off (unless [Config.KeepGC]), and times the target's Op on
// each slot in turn, each measurement individually: time.Now before,
// time.Since after (the monotonic clock; nanosecond resolution on Linux
// through the vDSO, some 15 to 40 ns per reading, the same for both
// classes). Config.Inner > 1 runs Op that many times on the same slot
// within one measurement, for an operation so short that the clock's
// overhead and granularity would swamp it; the timing tests of this module
// leave it at 1, which suffices for operations of tens of nanoseconds and
// more. Finally the collector is restored and the target's optional Check
// sees the batch's outcomes.
//
// # Statistics
//
// A warm-up pass of [Config.Warmup] measurements (the same procedure,
// results discarded) sets the cropping thresholds, as dudect does: the
// warm-up's percentiles 1 − 0.5^(10(k+1)/100) for k = 0…99, that is from
// the fastest 6.7 % to the fastest 99.9 %. Every later measurement feeds
// 101 t-tests at once: one over all measurements, and one per threshold
// over the measurements below it. Cropping discards the long right tail
// (preemption, interrupts, cache misses of the host) that would otherwise
// dominate the variance and hide a small shift. Each test keeps, per
// class, a count, a mean and a sum of squared deviations updated online
// with Welford's method (no measurement is stored beyond its batch), and
// t = (mean_A − mean_B) / sqrt(var_A/n_A + var_B/n_B). The result is the
// test of largest |t| among those with at least [Config.MinPerClass]
// measurements in each class. dudect's second-order (centred product)
// test is not implemented.
//
// # Reading a result
//
// dudect's rule of thumb: |t| below about 5 is no evidence of a leak;
// above 10, a leak is very likely, provided the input classes differ in
// nothing but what is being tested (see the next section). Taking the
// largest of 101 strongly correlated tests raises the typical |t| under no
// leak from about 1 to about 2 or 3.
//
// # Designing the classes
//
// The harness cannot tell a secret-dependent difference from any other
// difference between the classes, so a test must make the two classes
// differ only in the property under test:
//
//   - prepare both classes with the same work (drawing random bytes,
//     computing the same hashes), and keep their inputs the same length;
//   - give each class many distinct inputs: a class of a handful of fixed
//     inputs turns any per-input timing variation (where a hash lands in a
//     table, a data-dependent memory access) into a difference of class
//     means that has nothing to do with the property under test;
//   - check the outcome of every operation (both classes refused, say)
//     outside the timed region.
//
// # Race detector
//
// [RaceEnabled] reports whether the binary was built with -race, under
// which timings are meaningless; tests should skip then.
package dudect
