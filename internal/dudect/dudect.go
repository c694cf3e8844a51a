package dudect

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"runtime/debug"
	"time"
)

// Config sets how many measurements Run takes and how.
type Config struct {
	// Measurements is how many measurements count, after the warm-up.
	// Required.
	Measurements int
	// Warmup is how many measurements are taken first, only to set the
	// cropping thresholds, and then discarded. Default: a tenth of
	// Measurements, at least 1,000 and at most 10,000.
	Warmup int
	// Batch is how many inputs are prepared before they are timed one
	// after another: the slots are 0 to Batch−1. An operation that
	// allocates needs a Batch small enough for the batch's allocations to
	// fit in memory, the collector being off while it runs (see KeepGC).
	// Default: 10,000, or Measurements if fewer.
	Batch int
	// Inner is how many times Op runs on the same slot within one
	// measurement, for operations too short for the clock; Op must then
	// be repeatable on the same input. Means are divided by it. Default 1.
	Inner int
	// Seed seeds the ChaCha8 generator that draws the classes; 0 means a
	// seed from crypto/rand. Either way the Result reports it.
	Seed uint64
	// KeepGC leaves the garbage collector on while a batch is timed.
	// By default Run collects before each batch and turns the collector
	// off while the batch is timed, so that a collection's pauses, its
	// assists and its background marking (a core of two) do not land on
	// some measurements.
	KeepGC bool
	// MinPerClass is how many measurements of each class a cropped test
	// needs to take part in the result. Default: 1,000.
	MinPerClass int

	// clock, for this package's tests, replaces the monotonic clock: a
	// reading in nanoseconds.
	clock func() int64
}

// Target is the operation under test and its inputs.
type Target struct {
	// Prepare makes slot i's input, of class c, for the next batch. It
	// is not timed, and it runs for every slot of the batch before Op
	// runs on any. Required.
	Prepare func(i int, c Class)
	// Op runs the operation under test on slot i's input: the one thing
	// timed. It should record its outcome in the slot for Check rather
	// than check it itself. Required.
	Op func(i int)
	// Check, if not nil, runs after each batch has been timed (warm-up
	// included) with the number of slots used, to check the outcomes
	// Op recorded, untimed. An error ends Run with that error.
	Check func(n int) error
}

// Run measures tgt as cfg says and returns the statistics. It fails only
// on a bad Config or Target, or when Check fails. While it runs it holds
// its goroutine on one OS thread, and, unless cfg.KeepGC, it turns the
// garbage collector off for the timed part of each batch.
func Run(cfg Config, tgt Target) (Result, error) {
	if cfg.Measurements <= 0 {
		return Result{}, errors.New("dudect: Config.Measurements must be positive")
	}
	if tgt.Prepare == nil || tgt.Op == nil {
		return Result{}, errors.New("dudect: Target.Prepare and Target.Op are required")
	}
	if cfg.Warmup <= 0 {
		cfg.Warmup = min(max(cfg.Measurements/10, 1000), 10000)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = min(cfg.Measurements, 10000)
	}
	if cfg.Inner <= 0 {
		cfg.Inner = 1
	}
	if cfg.MinPerClass <= 0 {
		cfg.MinPerClass = 1000
	}
	if cfg.Seed == 0 {
		var b [8]byte
		rand.Read(b[:])
		cfg.Seed = binary.LittleEndian.Uint64(b[:]) | 1
	}
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], cfg.Seed)
	m := &measurer{
		cfg:     cfg,
		tgt:     tgt,
		rng:     mrand.New(mrand.NewChaCha8(seed)),
		classes: make([]Class, cfg.Batch),
		times:   make([]float64, cfg.Batch),
	}

	start := time.Now()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	warm := make([]float64, 0, cfg.Warmup)
	for len(warm) < cfg.Warmup {
		n, err := m.batch(cfg.Warmup - len(warm))
		if err != nil {
			return Result{}, err
		}
		warm = append(warm, m.times[:n]...)
	}
	st := NewStats(warm, cfg.MinPerClass)
	for done := 0; done < cfg.Measurements; {
		n, err := m.batch(cfg.Measurements - done)
		if err != nil {
			return Result{}, err
		}
		for i := range n {
			st.Add(m.classes[i], m.times[i])
		}
		done += n
	}
	r := st.Result()
	r.Mean[A] /= float64(cfg.Inner)
	r.Mean[B] /= float64(cfg.Inner)
	r.Seed = cfg.Seed
	r.Elapsed = time.Since(start)
	return r, nil
}

type measurer struct {
	cfg     Config
	tgt     Target
	rng     *mrand.Rand
	classes []Class
	times   []float64 // nanoseconds per measurement (of Inner calls)
}

// batch prepares, times and checks up to want measurements, and returns
// how many it took; their classes and times are in m.classes and m.times.
func (m *measurer) batch(want int) (int, error) {
	n := min(want, m.cfg.Batch)
	for i := range n {
		m.classes[i] = Class(m.rng.Uint64() & 1)
	}
	for i := range n {
		m.tgt.Prepare(i, m.classes[i])
	}
	if !m.cfg.KeepGC {
		runtime.GC()
		old := debug.SetGCPercent(-1)
		m.time(n)
		debug.SetGCPercent(old)
	} else {
		m.time(n)
	}
	if m.tgt.Check != nil {
		if err := m.tgt.Check(n); err != nil {
			return 0, fmt.Errorf("dudect: check: %w", err)
		}
	}
	return n, nil
}

// time times Op on slots 0 to n−1, one measurement each.
func (m *measurer) time(n int) {
	op, inner, times := m.tgt.Op, m.cfg.Inner, m.times[:n]
	if clock := m.cfg.clock; clock != nil {
		for i := range times {
			t0 := clock()
			for range inner {
				op(i)
			}
			times[i] = float64(clock() - t0)
		}
		return
	}
	for i := range times {
		t0 := time.Now()
		for range inner {
			op(i)
		}
		times[i] = float64(time.Since(t0))
	}
}
