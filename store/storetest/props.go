package storetest

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/streamauth/streamauth/store"
)

var propertyTests = []test{
	{"BatchesMatchModel", testBatchesMatchModel},
}

// The alphabet of the property test: few keys, several of them prefixes of
// others, so that batches collide and prefix scans have edges; and few
// values, the empty one included, so that value guards sometimes hold.
var (
	propKeys     = []string{"a", "a\x00", "ab", "b", "\xff", "\xff\xff"}
	propValues   = []string{"", "0", "1", "10"}
	propPrefixes = []string{"", "a", "a\x00", "ab", "b", "c", "\xff", "\xff\xff"}
)

// model is what the store should hold.
type model map[string]string

// holds reports whether guard g holds in m.
func (m model) holds(g store.Guard) bool {
	v, ok := m[string(g.Key)]
	switch g.Kind {
	case store.GuardAbsent:
		return !ok
	case store.GuardPresent:
		return ok
	default:
		return ok && v == string(g.Value)
	}
}

// apply applies ops to m in order.
func (m model) apply(ops []store.Op) {
	for _, op := range ops {
		if op.Kind == store.OpPut {
			m[string(op.Key)] = string(op.Value)
		} else {
			delete(m, string(op.Key))
		}
	}
}

// scan returns the pairs of m under prefix, sorted.
func (m model) scan(prefix string) []kv {
	var out []kv
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if strings.HasPrefix(k, prefix) {
			out = append(out, kv{k, m[k]})
		}
	}
	return out
}

// machine runs random batches against a store and a model.
type machine struct {
	s store.Store
	m model
}

// testBatchesMatchModel commits random sequences of guarded batches and
// checks after each that the store holds what a map model holds.
func testBatchesMatchModel(t *testing.T, open opener) {
	rapid.Check(t, func(rt *rapid.T) {
		s := open(t)
		defer s.Close()
		mc := &machine{s: s, m: model{}}
		rt.Repeat(map[string]func(*rapid.T){
			"commit":  mc.commit,
			"invalid": mc.commitInvalid,
			"scan":    mc.scanPrefix,
			"":        mc.check,
		})
	})
}

// commit commits a random batch and applies it to the model if its guards
// hold there.
func (mc *machine) commit(rt *rapid.T) {
	ops := rapid.SliceOfN(rapid.Custom(drawOp), 0, 5).Draw(rt, "ops")
	nGuards := rapid.IntRange(0, 3).Draw(rt, "guards")
	var guards []store.Guard
	for range nGuards {
		guards = append(guards, mc.drawGuard(rt))
	}
	want := error(nil)
	if !allHold(mc.m, guards) {
		want = store.ErrConflict
	}
	err := mc.s.Commit(context.Background(), makeBatch(ops, guards))
	if !errors.Is(err, want) {
		rt.Fatalf("Commit: got error %v, want %v", err, want)
	}
	if want == nil {
		mc.m.apply(ops)
	}
}

// commitInvalid commits a batch with one invalid key among valid ops: it
// must fail with ErrInvalidArgument and write nothing.
func (mc *machine) commitInvalid(rt *rapid.T) {
	ops := rapid.SliceOfN(rapid.Custom(drawOp), 0, 4).Draw(rt, "ops")
	bad := rapid.SampledFrom([][]byte{nil, bytes.Repeat([]byte{'a'}, store.MaxKeySize+1)}).Draw(rt, "bad key")
	b := makeBatch(ops, nil)
	switch rapid.IntRange(0, 2).Draw(rt, "bad kind") {
	case 0:
		b.Put(bad, []byte("v"))
	case 1:
		b.Delete(bad)
	default:
		b.RequireAbsent(bad)
	}
	if err := mc.s.Commit(context.Background(), b); !errors.Is(err, store.ErrInvalidArgument) {
		rt.Fatalf("Commit with an invalid key: got %v, want ErrInvalidArgument", err)
	}
}

// scanPrefix checks a prefix scan against the model.
func (mc *machine) scanPrefix(rt *rapid.T) {
	prefix := rapid.SampledFrom(propPrefixes).Draw(rt, "prefix")
	got, err := scanErr(mc.s, []byte(prefix))
	if err != nil {
		rt.Fatalf("Scan(%q): %v", prefix, err)
	}
	if diff := cmp.Diff(mc.m.scan(prefix), got); diff != "" {
		rt.Fatalf("Scan(%q) differs from the model (-want +got):\n%s", prefix, diff)
	}
}

// check compares a Get of every key of the alphabet and a full scan with
// the model.
func (mc *machine) check(rt *rapid.T) {
	for _, k := range propKeys {
		v, err := mc.s.Get(context.Background(), []byte(k))
		want, ok := mc.m[k]
		switch {
		case !ok && !errors.Is(err, store.ErrNotFound):
			rt.Fatalf("Get(%q) = %q, %v; want ErrNotFound", k, v, err)
		case ok && err != nil:
			rt.Fatalf("Get(%q): %v, want %q", k, err, want)
		case ok && string(v) != want:
			rt.Fatalf("Get(%q) = %q, want %q", k, v, want)
		}
	}
	got, err := scanErr(mc.s, nil)
	if err != nil {
		rt.Fatalf("Scan: %v", err)
	}
	if diff := cmp.Diff(mc.m.scan(""), got); diff != "" {
		rt.Fatalf("Scan differs from the model (-want +got):\n%s", diff)
	}
}

// drawOp draws a put or a delete over the alphabet.
func drawOp(rt *rapid.T) store.Op {
	key := []byte(rapid.SampledFrom(propKeys).Draw(rt, "key"))
	if rapid.IntRange(0, 2).Draw(rt, "delete") == 0 {
		return store.Op{Kind: store.OpDelete, Key: key}
	}
	value := []byte(rapid.SampledFrom(propValues).Draw(rt, "value"))
	return store.Op{Kind: store.OpPut, Key: key, Value: value}
}

// drawGuard draws a guard over the alphabet; a value guard holds the key's
// current value half of the time, so that it often holds.
func (mc *machine) drawGuard(rt *rapid.T) store.Guard {
	key := rapid.SampledFrom(propKeys).Draw(rt, "guard key")
	kinds := []store.GuardKind{store.GuardAbsent, store.GuardPresent, store.GuardEqual}
	g := store.Guard{Kind: rapid.SampledFrom(kinds).Draw(rt, "guard kind"), Key: []byte(key)}
	if g.Kind != store.GuardEqual {
		return g
	}
	if cur, ok := mc.m[key]; ok && rapid.Bool().Draw(rt, "current value") {
		g.Value = []byte(cur)
		return g
	}
	g.Value = []byte(rapid.SampledFrom(propValues).Draw(rt, "guard value"))
	return g
}

// makeBatch builds a batch of ops under guards.
func makeBatch(ops []store.Op, guards []store.Guard) *store.Batch {
	b := new(store.Batch)
	for _, op := range ops {
		if op.Kind == store.OpPut {
			b.Put(op.Key, op.Value)
		} else {
			b.Delete(op.Key)
		}
	}
	for _, g := range guards {
		switch g.Kind {
		case store.GuardAbsent:
			b.RequireAbsent(g.Key)
		case store.GuardPresent:
			b.RequirePresent(g.Key)
		default:
			b.RequireValue(g.Key, g.Value)
		}
	}
	return b
}

// allHold reports whether every guard holds in m.
func allHold(m model, guards []store.Guard) bool {
	for _, g := range guards {
		if !m.holds(g) {
			return false
		}
	}
	return true
}
