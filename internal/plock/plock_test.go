package plock

import (
	"sync"
	"testing"
	"time"
)

// TestExclusion: a writer holding the lock keeps every reader out, on any
// slot, and readers on every slot keep a writer out until the last leaves.
func TestExclusion(t *testing.T) {
	var l RWMutex
	l.Lock()
	got := make(chan struct{})
	go func() {
		m := l.RLock()
		close(got)
		m.RUnlock()
	}()
	select {
	case <-got:
		t.Fatal("a reader got in while the write lock was held")
	case <-time.After(20 * time.Millisecond):
	}
	l.Unlock()
	<-got

	// A read lock of each slot, held at once; then a writer waits for all.
	var held []*sync.RWMutex
	for i := range l.slots {
		m := &l.slots[i].RWMutex
		m.RLock()
		held = append(held, m)
	}
	locked := make(chan struct{})
	go func() {
		l.Lock()
		close(locked)
		l.Unlock()
	}()
	for _, m := range held {
		select {
		case <-locked:
			t.Fatal("a writer got in while a read lock was held")
		case <-time.After(5 * time.Millisecond):
		}
		m.RUnlock()
	}
	<-locked
}

// TestReadersSeeWholeWrites runs readers against writers that keep two
// fields equal under the write lock: a reader must never see them differ.
// Under -race it also checks that RLock and Lock order the accesses.
func TestReadersSeeWholeWrites(t *testing.T) {
	var (
		l           RWMutex
		a, b        int
		wg, writers sync.WaitGroup
		bad         sync.Once
	)
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				m := l.RLock()
				if a != b {
					bad.Do(func() { t.Errorf("a reader saw a = %d, b = %d", a, b) })
				}
				m.RUnlock()
			}
		})
	}
	for range 2 {
		writers.Go(func() {
			for range 2000 {
				l.Lock()
				a++
				b++
				l.Unlock()
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	if a != 4000 || b != 4000 {
		t.Errorf("a = %d, b = %d after 4000 writes each", a, b)
	}
}

// BenchmarkRLock takes and releases a read lock from every processor at
// once, against a sync.RWMutex: run with -cpu=1,2,… to see the second
// core's gain.
func BenchmarkRLock(b *testing.B) {
	b.Run("plock", func(b *testing.B) {
		var l RWMutex
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.RLock().RUnlock()
			}
		})
	})
	b.Run("sync", func(b *testing.B) {
		var l sync.RWMutex
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.RLock()
				l.RUnlock()
			}
		})
	})
}
