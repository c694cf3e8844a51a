package dudect

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// sampler draws synthetic durations in nanoseconds: a base, Gaussian
// noise, and with probability tailP an exponential tail of mean tailMean,
// the shape of real timings on a busy machine.
type sampler struct {
	r               *rand.Rand
	base, sd        float64
	tailP, tailMean float64
	shiftA          float64 // added to class A only
}

func (s *sampler) draw(c Class) float64 {
	x := s.base + s.sd*s.r.NormFloat64()
	if s.r.Float64() < s.tailP {
		x += s.tailMean * s.r.ExpFloat64()
	}
	if c == A {
		x += s.shiftA
	}
	return x
}

// run feeds warm-up and n measurements of random classes to a Stats.
func (s *sampler) run(n int) Result {
	warm := make([]float64, 5000)
	for i := range warm {
		warm[i] = s.draw(Class(s.r.IntN(2)))
	}
	st := NewStats(warm, 1000)
	for range n {
		c := Class(s.r.IntN(2))
		st.Add(c, s.draw(c))
	}
	return st.Result()
}

func TestCropFractions(t *testing.T) {
	if f := CropFraction(0); math.Abs(f-0.0670) > 1e-3 {
		t.Errorf("CropFraction(0) = %v, want about 0.067", f)
	}
	if f := CropFraction(NumCrops - 1); math.Abs(f-0.99902) > 1e-4 {
		t.Errorf("CropFraction(last) = %v, want about 0.999", f)
	}
	for k := 1; k < NumCrops; k++ {
		if CropFraction(k) <= CropFraction(k-1) {
			t.Fatalf("crop fractions not ascending at %d", k)
		}
	}
}

// TestWelchMatchesTwoPass checks the online statistics against the
// textbook two-pass formulas.
func TestWelchMatchesTwoPass(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var w welch
	var xs [2][]float64
	for range 5000 {
		c := Class(r.IntN(2))
		x := 1e6 + 100*r.NormFloat64() + float64(c)*3 // a large offset tests stability
		xs[c] = append(xs[c], x)
		w.push(c, x)
	}
	var mean, variance [2]float64
	for c := range 2 {
		for _, x := range xs[c] {
			mean[c] += x
		}
		mean[c] /= float64(len(xs[c]))
		for _, x := range xs[c] {
			variance[c] += (x - mean[c]) * (x - mean[c])
		}
		variance[c] /= float64(len(xs[c]) - 1)
		if got := w.mean[c]; math.Abs(got-mean[c]) > 1e-6 {
			t.Errorf("class %d: mean %v, want %v", c, got, mean[c])
		}
		if got := w.variance(Class(c)); math.Abs(got-variance[c]) > 1e-6*variance[c] {
			t.Errorf("class %d: variance %v, want %v", c, got, variance[c])
		}
	}
	want := (mean[0] - mean[1]) / math.Sqrt(variance[0]/float64(len(xs[0]))+variance[1]/float64(len(xs[1])))
	if got := w.t(); math.Abs(got-want) > 1e-6*math.Abs(want) {
		t.Errorf("t = %v, want %v", got, want)
	}
}

// TestCropping checks that a cropped test counts exactly the measurements
// below its threshold.
func TestCropping(t *testing.T) {
	warm := make([]float64, 1000)
	for i := range warm {
		warm[i] = float64(i)
	}
	st := NewStats(warm, 2)
	for i := range 1000 {
		st.Add(Class(i%2), float64(i))
	}
	for k := range NumCrops {
		th := st.thresholds[k]
		want := 0
		for i := range 1000 {
			if float64(i) < th {
				want++
			}
		}
		w := st.tests[1+k]
		if got := int(w.n[A] + w.n[B]); got != want {
			t.Errorf("crop %d (threshold %v): %d measurements, want %d", k, th, got, want)
		}
	}
	if n := st.tests[0].n[A] + st.tests[0].n[B]; n != 1000 {
		t.Errorf("uncropped test: %v measurements, want 1000", n)
	}
}

// TestIdenticalDistributions: two classes drawn from one distribution
// give a small |t|, with or without a heavy tail, over several seeds.
func TestIdenticalDistributions(t *testing.T) {
	for seed := range uint64(5) {
		for _, tailP := range []float64{0, 0.02} {
			s := &sampler{r: rand.New(rand.NewPCG(seed, 7)), base: 1000, sd: 50, tailP: tailP, tailMean: 5000}
			r := s.run(200_000)
			t.Logf("seed %d, tail %v: %v", seed, tailP, r)
			if r.AbsT() > 5 {
				t.Errorf("seed %d, tail %v: |t| = %.2f for identical distributions, want < 5", seed, tailP, r.AbsT())
			}
			if r.Tests < NumCrops/2 {
				t.Errorf("seed %d: only %d tests had enough measurements", seed, r.Tests)
			}
		}
	}
}

// TestShiftedDistributions: a shift of a tenth of the noise's standard
// deviation is plain at 200,000 measurements (expected t about 22), even
// under a heavy tail that hides it from the uncropped test.
func TestShiftedDistributions(t *testing.T) {
	s := &sampler{r: rand.New(rand.NewPCG(3, 4)), base: 1000, sd: 50, shiftA: 5}
	r := s.run(200_000)
	t.Logf("plain: %v", r)
	if r.T < 10 {
		t.Errorf("shifted: t = %.2f, want > 10 (class A slower)", r.T)
	}

	s = &sampler{r: rand.New(rand.NewPCG(5, 6)), base: 1000, sd: 50, shiftA: 5, tailP: 0.05, tailMean: 100_000}
	r = s.run(200_000)
	t.Logf("heavy tail: %v", r)
	if r.T < 10 {
		t.Errorf("shifted under a heavy tail: t = %.2f, want > 10", r.T)
	}
	if math.Abs(r.TUncropped) > 5 || r.Crop == 1 {
		t.Errorf("heavy tail: uncropped t = %.2f, crop %v: want the tail to hide the shift from the uncropped test only", r.TUncropped, r.Crop)
	}

	s = &sampler{r: rand.New(rand.NewPCG(7, 8)), base: 1000, sd: 50, shiftA: -5}
	if r = s.run(200_000); r.T > -10 {
		t.Errorf("class A faster: t = %.2f, want < -10", r.T)
	}
}

// fakeTarget is a Target over a fake clock: Op advances the clock by the
// cost Prepare gave its slot, noise plus leak for class A.
type fakeTarget struct {
	now      int64
	r        *rand.Rand
	leak     int64
	cost     []int64
	class    []Class
	prepared int
	checked  int
	ran      []bool
}

func newFakeTarget(batch int, leak int64) *fakeTarget {
	return &fakeTarget{r: rand.New(rand.NewPCG(9, 9)), leak: leak,
		cost: make([]int64, batch), class: make([]Class, batch), ran: make([]bool, batch)}
}

func (f *fakeTarget) target() Target {
	return Target{
		Prepare: func(i int, c Class) {
			f.cost[i] = 500 + int64(20*f.r.NormFloat64())
			if f.r.IntN(100) == 0 {
				f.cost[i] += int64(f.r.IntN(50_000)) // an interrupt
			}
			if c == A {
				f.cost[i] += f.leak
			}
			f.class[i] = c
			f.ran[i] = false
			f.prepared++
		},
		Op: func(i int) {
			f.now += f.cost[i]
			f.ran[i] = true
		},
		Check: func(n int) error {
			for i := range n {
				if !f.ran[i] {
					return errors.New("a prepared slot was not timed")
				}
			}
			f.checked += n
			return nil
		},
	}
}

func TestRunFakeClock(t *testing.T) {
	const n, batch, warmup = 50_000, 3000, 2000
	for _, leak := range []int64{0, 5} {
		f := newFakeTarget(batch, leak)
		r, err := Run(Config{Measurements: n, Warmup: warmup, Batch: batch, Seed: 42, clock: func() int64 { return f.now }}, f.target())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("leak %d ns: %v", leak, r)
		if r.N[A]+r.N[B] != n || f.prepared != n+warmup || f.checked != n+warmup {
			t.Errorf("leak %d: counts %v, prepared %d, checked %d; want %d measurements after %d of warm-up",
				leak, r.N, f.prepared, f.checked, n, warmup)
		}
		if r.Seed != 42 {
			t.Errorf("seed %d, want 42", r.Seed)
		}
		switch {
		case leak == 0 && r.AbsT() > 5:
			t.Errorf("no leak: |t| = %.2f, want < 5", r.AbsT())
		case leak > 0 && r.T < 10:
			t.Errorf("leak of %d ns on 500 ± 20: t = %.2f, want > 10", leak, r.T)
		}
	}
}

// TestRunSeedRepeats: the same seed draws the same classes.
func TestRunSeedRepeats(t *testing.T) {
	classes := func(seed uint64) []Class {
		f := newFakeTarget(100, 0)
		var seen []Class
		tgt := f.target()
		prep := tgt.Prepare
		tgt.Prepare = func(i int, c Class) { seen = append(seen, c); prep(i, c) }
		if _, err := Run(Config{Measurements: 300, Warmup: 100, Batch: 100, MinPerClass: 10, Seed: seed,
			clock: func() int64 { return f.now }}, tgt); err != nil {
			t.Fatal(err)
		}
		return seen
	}
	a, b, c := classes(7), classes(7), classes(8)
	if len(a) != 400 {
		t.Fatalf("%d classes drawn, want 400", len(a))
	}
	same := func(x, y []Class) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("seed 7 twice: different class sequences")
	}
	if same(a, c) {
		t.Error("seeds 7 and 8: the same class sequence")
	}
}

func TestRunCheckFails(t *testing.T) {
	boom := errors.New("boom")
	f := newFakeTarget(100, 0)
	tgt := f.target()
	tgt.Check = func(int) error { return boom }
	if _, err := Run(Config{Measurements: 1000, Batch: 100, clock: func() int64 { return f.now }}, tgt); !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the Check's error", err)
	}
	if _, err := Run(Config{}, tgt); err == nil {
		t.Error("Run with no measurements: no error")
	}
	if _, err := Run(Config{Measurements: 10}, Target{}); err == nil {
		t.Error("Run with no target: no error")
	}
}

var sink uint64

//go:noinline
func spin(n int) {
	x := sink
	for i := range n {
		x = x*6364136223846793005 + uint64(i)
	}
	sink = x
}

// TestRunRealClock: with the real clock, an operation that does 500 more
// steps for class A than for class B (a few hundred nanoseconds) is plain
// in a few thousand measurements, and one that does not is not.
func TestRunRealClock(t *testing.T) {
	if RaceEnabled {
		t.Skip("timings are meaningless under the race detector")
	}
	for _, extra := range []int{0, 500} {
		steps := make([]int, 1000)
		r, err := Run(Config{Measurements: 5000, Batch: 1000, MinPerClass: 500}, Target{
			Prepare: func(i int, c Class) {
				steps[i] = 100
				if c == A {
					steps[i] += extra
				}
			},
			Op: func(i int) { spin(steps[i]) },
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d extra steps: %v", extra, r)
		if extra > 0 && r.T < 20 {
			t.Errorf("%d extra steps for class A: t = %.2f, want > 20", extra, r.T)
		}
		if extra == 0 && r.AbsT() > 10 {
			t.Errorf("the same steps: |t| = %.2f, want < 10", r.AbsT())
		}
	}
}
