package pebblestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(t.TempDir(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// openT opens a store and closes it when t ends.
func openT(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func mustCommit(t testing.TB, s store.Store, b *store.Batch) {
	t.Helper()
	if err := s.Commit(context.Background(), b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func mustClose(t testing.TB, s store.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// dump returns every pair of s.
func dump(t testing.TB, s store.Store) map[string]string {
	t.Helper()
	m := make(map[string]string)
	err := s.Scan(context.Background(), nil, func(k, v []byte) error {
		m[string(k)] = string(v)
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return m
}

func key(i int) []byte { return fmt.Appendf(nil, "key/%06d", i) }

func value(i int) []byte { return fmt.Appendf(nil, "value-%d-%s", i, strings.Repeat("x", i%50)) }

// TestReopen writes data that ends up both in an sstable and in the log,
// closes, reopens, and finds everything.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	want := make(map[string]string)
	var b store.Batch
	for i := range 300 {
		b.Put(key(i), value(i))
		want[string(key(i))] = string(value(i))
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	b.Put([]byte("big"), big).Put([]byte("empty"), nil).Put([]byte("\x00\xff"), []byte("bin"))
	want["big"], want["empty"], want["\x00\xff"] = string(big), "", "bin"
	mustCommit(t, s, &b)
	if err := s.db.Flush(); err != nil { // the above into an sstable
		t.Fatal(err)
	}
	b = store.Batch{}
	for i := range 300 {
		switch i % 3 {
		case 0:
			b.Delete(key(i))
			delete(want, string(key(i)))
		case 1:
			b.Put(key(i), []byte("over"))
			want[string(key(i))] = "over"
		}
	}
	mustCommit(t, s, &b)
	mustClose(t, s)

	s = openT(t, dir, Options{})
	if got := dump(t, s); !maps.Equal(got, want) {
		t.Fatalf("after reopen: %d pairs, want %d (or values differ)", len(got), len(want))
	}
	v, err := s.Get(context.Background(), []byte("big"))
	if err != nil || !bytes.Equal(v, big) {
		t.Fatalf("Get(big) after reopen: %d bytes, %v", len(v), err)
	}
	if _, err := s.Get(context.Background(), key(0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a deleted key after reopen: %v, want ErrNotFound", err)
	}
	// And it is still writable.
	mustCommit(t, s, new(store.Batch).RequireValue(key(1), []byte("over")).Put(key(1), []byte("again")))
}

// TestNoSync checks that a NoSync store works, and keeps its data over a
// clean Close (which syncs).
func TestNoSync(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{NoSync: true})
	if s.writeOpts.Sync {
		t.Fatal("NoSync store writes with Sync")
	}
	for i := range 200 {
		mustCommit(t, s, new(store.Batch).Put(key(i), value(i)))
	}
	mustClose(t, s)
	s = openT(t, dir, Options{NoSync: true})
	if got := dump(t, s); len(got) != 200 {
		t.Fatalf("after a clean close and reopen: %d pairs, want 200", len(got))
	}
	s2 := openT(t, t.TempDir(), Options{})
	if !s2.writeOpts.Sync {
		t.Fatal("default store writes without Sync")
	}
}

func TestOptionsValidation(t *testing.T) {
	if _, err := Open("", Options{}); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("Open of an empty path: %v, want ErrInvalidArgument", err)
	}
	if _, err := Open(t.TempDir(), Options{CacheSize: -1}); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("Open with a negative CacheSize: %v, want ErrInvalidArgument", err)
	}
	s := openT(t, t.TempDir(), Options{CacheSize: 1 << 20})
	mustCommit(t, s, new(store.Batch).Put([]byte("k"), []byte("v")))
}

// TestMemFS runs a store on vfs.NewMem and reopens it.
func TestMemFS(t *testing.T) {
	fs := vfs.NewMem()
	s := openT(t, "db", Options{FS: fs})
	mustCommit(t, s, new(store.Batch).Put([]byte("k"), []byte("v")))
	mustClose(t, s)
	s = openT(t, "db", Options{FS: fs})
	if got := dump(t, s); !maps.Equal(got, map[string]string{"k": "v"}) {
		t.Fatalf("after reopen on MemFS: %q", got)
	}
}

// TestNoGoroutineLeak checks that Close stops every goroutine that Open and
// use started.
func TestNoGoroutineLeak(t *testing.T) {
	settle(runtime.NumGoroutine())
	before := runtime.NumGoroutine()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		mustCommit(t, s, new(store.Batch).Put(key(i), value(i)))
	}
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = dump(t, s)
	// A scan left unfinished by Close.
	err = s.Scan(context.Background(), nil, func(_, _ []byte) error { return s.Close() })
	if !errors.Is(err, store.ErrClosed) && err != nil {
		t.Fatalf("Scan closing the store: %v", err)
	}
	mustClose(t, s)
	if after := settle(before); after > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before Open, %d after Close:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// settle waits up to 2 s for the number of goroutines to drop to want, and
// returns it.
func settle(want int) int {
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestScanChunks scans more pairs than a chunk holds, by count and by
// bytes, while writing from fn, and checks that the scan stays on its
// snapshot across chunks.
func TestScanChunks(t *testing.T) {
	s := openT(t, t.TempDir(), Options{NoSync: true})
	const n = 2*scanChunkPairs + 10
	var b store.Batch
	for i := range n {
		b.Put(key(i), value(i))
	}
	big := bytes.Repeat([]byte{'b'}, 300<<10) // 4 of them exceed a chunk's bytes
	for i := range 6 {
		b.Put(fmt.Appendf(nil, "key/big%d", i), big)
	}
	b.Put([]byte("kez"), []byte("after the prefix"))
	mustCommit(t, s, &b)

	ctx := context.Background()
	var got []string
	err := s.Scan(ctx, []byte("key/"), func(k, v []byte) error {
		got = append(got, string(k))
		if len(got) == 1 {
			var w store.Batch
			for i := range n {
				w.Delete(key(i))
			}
			w.Put([]byte("key/000000x"), []byte("new"))
			if err := s.Commit(ctx, &w); err != nil {
				return err
			}
		}
		switch {
		case bytes.HasPrefix(k, []byte("key/big")):
			if !bytes.Equal(v, big) {
				return fmt.Errorf("value of %q is %d bytes, want %d", k, len(v), len(big))
			}
		default:
			var i int
			if _, err := fmt.Sscanf(string(k), "key/%06d", &i); err != nil || !bytes.Equal(v, value(i)) {
				return fmt.Errorf("value of %q = %q", k, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if len(got) != n+6 || !slices.IsSorted(got) {
		t.Fatalf("Scan saw %d keys (sorted: %v), want %d", len(got), slices.IsSorted(got), n+6)
	}
	if after := dump(t, s); len(after) != 8 {
		t.Fatalf("after the writes from fn: %d pairs, want 8", len(after))
	}

	// Close from fn ends the scan with ErrClosed once its chunk is done.
	calls := 0
	mustCommit(t, s, func() *store.Batch {
		var b store.Batch
		for i := range n {
			b.Put(key(i), nil)
		}
		return &b
	}())
	err = s.Scan(ctx, nil, func(_, _ []byte) error {
		calls++
		if calls == 1 {
			return s.Close()
		}
		return nil
	})
	if !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Scan after Close from fn: %v, want ErrClosed", err)
	}
	if calls > scanChunkPairs {
		t.Fatalf("fn called %d times after Close, more than a chunk", calls)
	}
}

// writeForeign makes a pebble database in dir, directly, with the given
// pairs.
func writeForeign(t *testing.T, dir string, fs vfs.FS, pairs map[string]string) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{FS: fs, Logger: pebbleLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range pairs {
		if err := db.Set([]byte(k), []byte(v), pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	writeForeign(t, dir, nil, map[string]string{"hello": "world", "\x01k": "looks like ours"})
	_, err := Open(dir, Options{})
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Open of a foreign pebble directory: %v, want ErrCorrupt", err)
	}
	t.Logf("foreign: %v", err)
	// Nothing was written to it: still no format record.
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Get(metaFormatKey); !errors.Is(err, pebble.ErrNotFound) {
		t.Errorf("the foreign directory got a format record: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A pebble database without any key (a creation interrupted before the
	// format record) is taken as new.
	dir = t.TempDir()
	writeForeign(t, dir, nil, nil)
	s := openT(t, dir, Options{})
	mustCommit(t, s, new(store.Batch).Put([]byte("k"), []byte("v")))
}

// setMeta rewrites the format record of the (closed) store in dir.
func setMeta(t *testing.T, dir, v string) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set(metaFormatKey, []byte(v), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFormatRecord(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	mustCommit(t, s, new(store.Batch).Put([]byte("k"), []byte("v")))
	mustClose(t, s)

	setMeta(t, dir, "2")
	_, err := Open(dir, Options{})
	if !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("Open of format 2: %v, want ErrUnknownFormat", err)
	}
	t.Logf("newer format: %v", err)
	for _, bad := range []string{"", "x", "0", "01", "-1", "1 "} {
		setMeta(t, dir, bad)
		if _, err := Open(dir, Options{}); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Open with format record %q: %v, want ErrCorrupt", bad, err)
		}
	}
	setMeta(t, dir, "1")
	s = openT(t, dir, Options{})
	if got := dump(t, s); !maps.Equal(got, map[string]string{"k": "v"}) {
		t.Fatalf("after restoring the format record: %q", got)
	}
	if v := s.db.FormatMajorVersion(); v != pebbleFormat {
		t.Errorf("pebble format %d, want %d", v, pebbleFormat)
	}
}

func TestGarbageDirectory(t *testing.T) {
	t.Run("ManifestAndCurrent", func(t *testing.T) {
		dir := t.TempDir()
		for _, name := range []string{"MANIFEST-000001", "CURRENT"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("junk\x00\xff junk junk"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := Open(dir, Options{})
		if err == nil {
			t.Fatal("Open of a directory of junk succeeded")
		}
		t.Logf("junk: %v", err)
	})
	t.Run("JunkManifestWithMarker", func(t *testing.T) {
		// A real store whose MANIFEST is overwritten with junk of the same
		// size.
		dir := t.TempDir()
		s := openT(t, dir, Options{})
		mustClose(t, s)
		names, _ := filepath.Glob(filepath.Join(dir, "MANIFEST-*"))
		if len(names) == 0 {
			t.Fatal("no MANIFEST")
		}
		for _, name := range names {
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			junk := bytes.Repeat([]byte{0x5a}, int(fi.Size()))
			if err := os.WriteFile(name, junk, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := Open(dir, Options{})
		if err == nil {
			t.Fatal("Open with a junk MANIFEST succeeded")
		}
		t.Logf("junk manifest: %v", err)
	})
	t.Run("UnrelatedFiles", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir, Options{})
		if !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Open of a directory of unrelated files: %v, want ErrCorrupt", err)
		}
		if names, _ := os.ReadDir(dir); len(names) != 1 {
			t.Fatalf("Open wrote into a directory of unrelated files: %d entries", len(names))
		}
	})
	t.Run("NotADirectory", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(file, Options{}); err == nil {
			t.Fatal("Open of a regular file succeeded")
		}
	})
}

// TestTruncatedFiles truncates each file of a closed store in turn, to
// nothing and to half, and reopens: Open must fail with an error, or give a
// store whose reads work or fail with an error. What a working store holds
// must be the state after some prefix of the commits (a truncated log loses
// its tail), never a mix, nor a value never written; and nothing may panic.
func TestTruncatedFiles(t *testing.T) {
	src := t.TempDir()
	s := openT(t, src, Options{})
	// states[k] is the content after the first batch and k of the later
	// commits.
	state := make(map[string]string)
	var b store.Batch
	for i := range 500 {
		b.Put(key(i), value(i))
		state[string(key(i))] = string(value(i))
	}
	mustCommit(t, s, &b)
	if err := s.db.Flush(); err != nil { // the first batch into an sstable
		t.Fatal(err)
	}
	states := []map[string]string{maps.Clone(state)}
	for i := 500; i < 600; i++ { // these stay in the log
		mustCommit(t, s, new(store.Batch).Put(key(i), value(i)).Delete(key(i-500)))
		state[string(key(i))] = string(value(i))
		delete(state, string(key(i-500)))
		states = append(states, maps.Clone(state))
	}
	mustClose(t, s)

	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int64{0, fi.Size() / 2} {
			if size == fi.Size() {
				continue
			}
			t.Run(fmt.Sprintf("%s@%d", e.Name(), size), func(t *testing.T) {
				dir := t.TempDir()
				copyDir(t, src, dir)
				if err := os.Truncate(filepath.Join(dir, e.Name()), size); err != nil {
					t.Fatal(err)
				}
				s, err := Open(dir, Options{})
				if err != nil {
					if !strings.HasPrefix(err.Error(), "pebblestore: ") {
						t.Errorf("error without context: %v", err)
					}
					t.Logf("Open: %v", err)
					return
				}
				defer mustClose(t, s)
				ctx := context.Background()
				got := make(map[string]string)
				getErrs := 0
				for i := range 600 {
					v, err := s.Get(ctx, key(i))
					switch {
					case errors.Is(err, store.ErrNotFound):
					case err != nil:
						getErrs++
					case string(v) != string(value(i)):
						t.Errorf("Get(%s) = %q, a value never written", key(i), v)
					default:
						got[string(key(i))] = string(v)
					}
				}
				scanned := make(map[string]string)
				scanErr := s.Scan(ctx, nil, func(k, v []byte) error {
					scanned[string(k)] = string(v)
					return nil
				})
				if getErrs > 0 || scanErr != nil {
					t.Logf("opened; %d Get errors, Scan: %v", getErrs, scanErr)
					return
				}
				if !maps.Equal(got, scanned) {
					t.Fatalf("Get finds %d pairs, Scan %d", len(got), len(scanned))
				}
				k := slices.IndexFunc(states, func(m map[string]string) bool { return maps.Equal(m, got) })
				if k < 0 {
					t.Fatalf("opened with %d pairs, not the state after any prefix of the commits", len(got))
				}
				t.Logf("opened; the state after %d of %d commits to the log", k, len(states)-1)
			})
		}
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// childDirEnv names the directory that TestChildOpen opens, when the test
// binary is run as a child process by TestDoubleOpen.
const childDirEnv = "PEBBLESTORE_TEST_CHILD_DIR"

// TestChildOpen is not a test of its own: run by TestDoubleOpen in a child
// process, it opens the directory it is given and reports the result.
func TestChildOpen(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("run as a child process by TestDoubleOpen")
	}
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Printf("CHILD OPEN FAILED: %v\n", err)
		return
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("CHILD OPEN OK")
}

func TestDoubleOpen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	mustCommit(t, s, new(store.Batch).Put([]byte("k"), []byte("v")))

	_, err := Open(dir, Options{})
	if err == nil {
		t.Fatal("second Open in the same process succeeded")
	}
	t.Logf("in process: %v", err)
	// The failed Open did not disturb the first store.
	mustCommit(t, s, new(store.Batch).RequireValue([]byte("k"), []byte("v")).Put([]byte("k"), []byte("w")))

	child := func() string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildOpen$", "-test.count=1")
		cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child process: %v\n%s", err, out)
		}
		return string(out)
	}
	out := child()
	if !strings.Contains(out, "CHILD OPEN FAILED") {
		t.Fatalf("Open from another process while the store is open:\n%s", out)
	}
	t.Logf("other process: %s", strings.TrimSpace(strings.SplitN(out, "\n", 2)[0]))

	mustClose(t, s)
	if out := child(); !strings.Contains(out, "CHILD OPEN OK") {
		t.Fatalf("Open from another process after Close:\n%s", out)
	}
	s = openT(t, dir, Options{})
	mustCommit(t, s, new(store.Batch).RequireValue([]byte("k"), []byte("w")))
}

// TestCrashSynced models power losses with a crashable MemFS: at several
// points, a crash clone (with none or half of the unsynced data) must hold
// every write acknowledged before it.
func TestCrashSynced(t *testing.T) {
	fs := vfs.NewCrashableMem()
	s := openT(t, "db", Options{FS: fs})
	rng := rand.New(rand.NewPCG(7, 7))
	want := make(map[string]string)
	check := func(i int) {
		for _, pct := range []int{0, 50, 100} {
			clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rng})
			c, err := Open("db", Options{FS: clone})
			if err != nil {
				t.Fatalf("after %d commits, open of a crash clone (%d%% unsynced): %v", i, pct, err)
			}
			if got := dump(t, c); !maps.Equal(got, want) {
				t.Fatalf("after %d commits, crash clone (%d%% unsynced) has %d pairs, want %d (or values differ)",
					i, pct, len(got), len(want))
			}
			mustClose(t, c)
		}
	}
	check(0)
	for i := range 300 {
		var b store.Batch
		b.Put(key(i), value(i))
		want[string(key(i))] = string(value(i))
		if i%4 == 3 {
			b.Delete(key(i - 2))
			delete(want, string(key(i-2)))
		}
		mustCommit(t, s, &b)
		if i == 150 {
			if err := s.db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		if i%60 == 59 {
			check(i + 1)
		}
	}
}

// TestCrashNoSyncLoses shows that the crash model can fail: with NoSync,
// a crash clone of only the synced data loses acknowledged writes.
func TestCrashNoSyncLoses(t *testing.T) {
	fs := vfs.NewCrashableMem()
	s := openT(t, "db", Options{FS: fs, NoSync: true})
	const n = 1000
	for i := range n {
		mustCommit(t, s, new(store.Batch).Put(key(i), value(i)))
	}
	clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	c, err := Open("db", Options{FS: clone})
	if err != nil {
		t.Fatalf("open of a crash clone: %v", err)
	}
	defer mustClose(t, c)
	got := dump(t, c)
	if len(got) >= n {
		t.Fatalf("with NoSync, a crash clone kept all %d acknowledged writes: the crash model shows nothing", n)
	}
	t.Logf("NoSync: a crash kept %d of %d acknowledged writes", len(got), n)
}

// TestQuiet checks that opening, using and closing a store, and failing to
// open one, print nothing on stdout, stderr or the log package.
func TestQuiet(t *testing.T) {
	stdout, stderr := os.Stdout, os.Stderr
	logw, logFlags := log.Writer(), log.Flags()
	rOut, wOut, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	rErr, wErr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	os.Stdout, os.Stderr = wOut, wErr
	log.SetOutput(&logBuf)
	outc, errc := drain(rOut), drain(rErr)
	func() {
		defer func() {
			os.Stdout, os.Stderr = stdout, stderr
			log.SetOutput(logw)
			log.SetFlags(logFlags)
		}()
		dir := t.TempDir()
		for _, opts := range []Options{{}, {Logger: slog.New(slog.DiscardHandler)}} {
			s, err := Open(dir, opts)
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			for i := range 50 {
				_ = s.Commit(context.Background(), new(store.Batch).Put(key(i), value(i)))
			}
			_ = s.db.Flush()
			_ = s.Close()
		}
		junk := t.TempDir()
		_ = os.WriteFile(filepath.Join(junk, "CURRENT"), []byte("junk"), 0o644)
		if _, err := Open(junk, Options{}); err == nil {
			t.Error("Open of junk succeeded")
		}
	}()
	wOut.Close()
	wErr.Close()
	if out, errOut := <-outc, <-errc; len(out)+len(errOut)+logBuf.Len() > 0 {
		t.Fatalf("output while quiet:\nstdout: %q\nstderr: %q\nlog: %q", out, errOut, logBuf.String())
	}
}

func drain(r io.ReadCloser) <-chan []byte {
	c := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(r)
		r.Close()
		c <- b
	}()
	return c
}

// TestLogger checks that Pebble's messages reach Options.Logger.
func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := openT(t, t.TempDir(), Options{Logger: l})
	mustClose(t, s)
	if !strings.Contains(buf.String(), "pebble: ") {
		t.Fatalf("nothing of pebble logged at Debug level: %q", buf.String())
	}
	buf.Reset()
	l = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s = openT(t, t.TempDir(), Options{Logger: l})
	mustClose(t, s)
	if buf.Len() > 0 {
		t.Fatalf("an uneventful open and close logged at Info level: %q", buf.String())
	}
}

// TestFatalPanics checks that Pebble's fatal errors do not return.
func TestFatalPanics(t *testing.T) {
	var buf bytes.Buffer
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("Fatalf returned")
		}
		if !strings.Contains(buf.String(), "boom") {
			t.Fatalf("Fatalf did not log: %q", buf.String())
		}
	}()
	pebbleLogger{slog.New(slog.NewTextHandler(&buf, nil))}.Fatalf("boom %d", 1)
}

// BenchmarkCommitSync measures a synced Commit of one small put on the
// real disk.
func BenchmarkCommitSync(b *testing.B) {
	benchCommit(b, Options{})
}

// BenchmarkCommitNoSync is BenchmarkCommitSync with NoSync.
func BenchmarkCommitNoSync(b *testing.B) {
	benchCommit(b, Options{NoSync: true})
}

func benchCommit(b *testing.B, opts Options) {
	s := openT(b, b.TempDir(), opts)
	ctx := context.Background()
	v := bytes.Repeat([]byte{'v'}, 64)
	i := 0
	for b.Loop() {
		var batch store.Batch
		batch.Put(key(i), v)
		if err := s.Commit(ctx, &batch); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkOpenNew measures Open of a new directory (creating the store)
// and Close.
func BenchmarkOpenNew(b *testing.B) {
	base := b.TempDir()
	i := 0
	for b.Loop() {
		s, err := Open(filepath.Join(base, fmt.Sprint(i)), Options{})
		if err != nil {
			b.Fatal(err)
		}
		mustClose(b, s)
		i++
	}
}

// BenchmarkOpenEmpty measures Open and Close of an empty store.
func BenchmarkOpenEmpty(b *testing.B) {
	dir := b.TempDir()
	mustClose(b, openT(b, dir, Options{}))
	for b.Loop() {
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		mustClose(b, s)
	}
}

// BenchmarkOpen100k measures Open and Close of a store of 100,000 keys of
// the auth engine's shape (17-byte keys, 64-byte values).
func BenchmarkOpen100k(b *testing.B) {
	dir := b.TempDir()
	s := openT(b, dir, Options{NoSync: true})
	v := bytes.Repeat([]byte{'v'}, 64)
	var batch store.Batch
	for i := range 100_000 {
		batch.Put(fmt.Appendf(nil, "k/%015d", i), v)
		if batch.Len() == 1000 {
			mustCommit(b, s, &batch)
			batch.Reset()
		}
	}
	mustClose(b, s)
	for b.Loop() {
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		mustClose(b, s)
	}
}

// TestCorruptTableRead: a flipped byte in a table file's data is found by
// the read that meets it, and that read fails with store.ErrCorrupt; no
// read returns a wrong value.
func TestCorruptTableRead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	want := map[string]string{}
	var b store.Batch
	for i := range 2000 {
		k, v := fmt.Sprintf("key/%05d", i), strings.Repeat(fmt.Sprint(i%10), 40)
		want[k] = v
		b.Put([]byte(k), []byte(v))
	}
	mustCommit(t, s, &b)
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	tables, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil || len(tables) == 0 {
		t.Fatalf("no table file after a flush (%v)", err)
	}
	data, err := os.ReadFile(tables[0])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/4] ^= 0x10 // inside the data blocks, ahead of the index and footer
	if err := os.WriteFile(tables[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		if !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Open of a corrupt table: %v, want ErrCorrupt", err)
		}
		t.Logf("Open refused the corrupt table: %v", err)
		return
	}
	defer s.Close()
	corrupt := 0
	for k, v := range want {
		got, err := s.Get(ctx, []byte(k))
		switch {
		case errors.Is(err, store.ErrCorrupt):
			corrupt++
		case err != nil:
			t.Fatalf("Get(%s): %v, want a value or ErrCorrupt", k, err)
		case string(got) != v:
			t.Fatalf("Get(%s) returned a wrong value", k)
		}
	}
	if corrupt == 0 {
		t.Fatal("no read met the flipped byte")
	}
	t.Logf("%d of %d reads met the flipped byte", corrupt, len(want))
	if err := s.Scan(ctx, nil, func(_, _ []byte) error { return nil }); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Scan over the corrupt table: %v, want ErrCorrupt", err)
	}
}
