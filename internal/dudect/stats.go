package dudect

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Class is the class of an input: A or B.
type Class uint8

// The two input classes. By convention A is the class whose inputs are
// close to the secret (or otherwise special) and B the random one, so that
// a positive t means A is slower.
const (
	A Class = 0
	B Class = 1
)

func (c Class) String() string {
	switch c {
	case A:
		return "A"
	case B:
		return "B"
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

// NumCrops is the number of cropping thresholds, as in dudect.
const NumCrops = 100

// welch is one Welch t-test, computed online: per class, the count, the
// mean and the sum of squared deviations from the mean (Welford).
type welch struct {
	n, mean, m2 [2]float64
}

func (w *welch) push(c Class, x float64) {
	w.n[c]++
	d := x - w.mean[c]
	w.mean[c] += d / w.n[c]
	w.m2[c] += d * (x - w.mean[c])
}

// variance is the unbiased sample variance of class c.
func (w *welch) variance(c Class) float64 {
	if w.n[c] < 2 {
		return 0
	}
	return w.m2[c] / (w.n[c] - 1)
}

// t is Welch's statistic (mean_A − mean_B) / sqrt(var_A/n_A + var_B/n_B),
// 0 while either class has fewer than two measurements or both variances
// are zero.
func (w *welch) t() float64 {
	if w.n[A] < 2 || w.n[B] < 2 {
		return 0
	}
	se := math.Sqrt(w.variance(A)/w.n[A] + w.variance(B)/w.n[B])
	if se == 0 {
		return 0
	}
	return (w.mean[A] - w.mean[B]) / se
}

// Stats accumulates measurements of the two classes into NumCrops+1
// t-tests: one over every measurement, and one per cropping threshold over
// the measurements strictly below it. It keeps no measurement.
type Stats struct {
	crops       []float64 // the warm-up fraction below each threshold
	thresholds  []float64 // ascending
	tests       []welch   // tests[0] uncropped; tests[1+k] below thresholds[k]
	minPerClass int
}

// CropFraction returns the percentile of cropping threshold k, 0 ≤ k <
// NumCrops: 1 − 0.5^(10(k+1)/NumCrops), from 0.067 to 0.999.
func CropFraction(k int) float64 {
	return 1 - math.Pow(0.5, 10*float64(k+1)/NumCrops)
}

// NewStats returns a Stats whose cropping thresholds are the percentiles
// [CropFraction] of the warm-up measurements (which it does not count),
// and in whose result only tests with at least minPerClass measurements of
// each class take part. warmup is sorted in place; it must not be empty.
func NewStats(warmup []float64, minPerClass int) *Stats {
	if len(warmup) == 0 {
		panic("dudect: no warm-up measurements")
	}
	slices.Sort(warmup)
	s := &Stats{
		crops:       make([]float64, NumCrops),
		thresholds:  make([]float64, NumCrops),
		tests:       make([]welch, NumCrops+1),
		minPerClass: max(minPerClass, 2),
	}
	for k := range NumCrops {
		f := CropFraction(k)
		s.crops[k] = f
		s.thresholds[k] = warmup[min(int(f*float64(len(warmup))), len(warmup)-1)]
	}
	return s
}

// Add counts measurement x of class c.
func (s *Stats) Add(c Class, x float64) {
	s.tests[0].push(c, x)
	// The thresholds ascend: x counts in every test from the first
	// threshold above it on.
	k, _ := slices.BinarySearch(s.thresholds, x)
	for ; k < NumCrops; k++ {
		if x < s.thresholds[k] {
			s.tests[1+k].push(c, x)
		}
	}
}

// Result returns the statistics so far. Seed, Inner and Elapsed are left
// for Run to fill in; means are per measurement.
func (s *Stats) Result() Result {
	all := &s.tests[0]
	r := Result{
		N:          [2]int{int(all.n[A]), int(all.n[B])},
		Mean:       all.mean,
		TUncropped: all.t(),
		Crop:       1,
	}
	r.T = r.TUncropped
	for i := range s.tests {
		w := &s.tests[i]
		if w.n[A] < float64(s.minPerClass) || w.n[B] < float64(s.minPerClass) {
			continue
		}
		r.Tests++
		if t := w.t(); math.Abs(t) > math.Abs(r.T) {
			r.T = t
			if i == 0 {
				r.Crop = 1
			} else {
				r.Crop = s.crops[i-1]
			}
		}
	}
	return r
}

// Result is the outcome of a measurement.
type Result struct {
	// T is the t statistic of largest magnitude among the tests with
	// enough measurements in each class (the uncropped one whatever its
	// counts): positive when class A is slower.
	T float64
	// Crop is the cropping percentile of the test T comes from: the
	// fraction of the warm-up's measurements its threshold kept; 1 for
	// the uncropped test.
	Crop float64
	// TUncropped is the t statistic over every measurement.
	TUncropped float64
	// Tests is how many of the NumCrops+1 tests had enough measurements.
	Tests int
	// N is the number of measurements of each class, indexed by Class.
	N [2]int
	// Mean is the mean duration in nanoseconds of one call of the
	// operation for each class, over every measurement (uncropped),
	// indexed by Class.
	Mean [2]float64
	// Seed is the seed of the class sequence.
	Seed uint64
	// Elapsed is the wall time of the whole run, warm-up and preparation
	// included.
	Elapsed time.Duration
}

// AbsT returns |T|.
func (r Result) AbsT() float64 { return math.Abs(r.T) }

func (r Result) String() string {
	return fmt.Sprintf("max |t| = %.2f (t = %.2f, crop %.3f, %d tests; uncropped t = %.2f); n = %d + %d; mean %.1f ns (A), %.1f ns (B); seed %#x; %v",
		r.AbsT(), r.T, r.Crop, r.Tests, r.TUncropped, r.N[A], r.N[B], r.Mean[A], r.Mean[B], r.Seed, r.Elapsed.Round(time.Millisecond))
}
