package badgerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

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

// The content written by fill: n small keys, an empty value, and a value
// large enough to go to the value log.
const (
	fillKeys    = 3000
	fillBigSize = 256 << 10
)

func fillKey(i int) []byte { return fmt.Appendf(nil, "key/%06d", i) }

func fillValue(i int) []byte { return fmt.Appendf(nil, "value %d %s", i, strings.Repeat("x", i%50)) }

// fillBig returns the value of "big", which must not be modified.
var fillBig = sync.OnceValue(func() []byte {
	v := make([]byte, fillBigSize)
	for i := range v {
		v[i] = byte(i * 7)
	}
	return v
})

// fill writes the content of a test store in batches of 500 keys.
func fill(t testing.TB, s *Store) {
	t.Helper()
	var b store.Batch
	for i := range fillKeys {
		b.Put(fillKey(i), fillValue(i))
		if b.Len() == 500 {
			mustCommit(t, s, &b)
			b = store.Batch{}
		}
	}
	b.Put([]byte("empty"), nil).Put([]byte("big"), fillBig())
	mustCommit(t, s, &b)
	// Overwrite and delete some, so that the logs hold several versions.
	b = store.Batch{}
	b.Delete(fillKey(0)).Put(fillKey(1), []byte("rewritten"))
	mustCommit(t, s, &b)
}

// wantFilled checks that s holds exactly what fill wrote.
func wantFilled(t testing.TB, s *Store) {
	t.Helper()
	differ, readErr, err := checkFilled(s)
	switch {
	case err != nil:
		t.Fatal(err)
	case readErr != nil:
		t.Fatal(readErr)
	case differ != 0:
		t.Fatalf("%d keys differ from what was written", differ)
	}
}

// errWrong is the error of checkFilled when s holds a value never written.
var errWrong = errors.New("WRONG CONTENT")

// fillHistory returns every value fill wrote to k, the last one last, and
// whether fill left k present.
func fillHistory(k []byte) (values [][]byte, present bool) {
	switch ks := string(k); {
	case ks == "empty":
		return [][]byte{{}}, true
	case ks == "big":
		return [][]byte{fillBig()}, true
	case ks == string(fillKey(0)):
		return [][]byte{fillValue(0)}, false
	case ks == string(fillKey(1)):
		return [][]byte{fillValue(1), []byte("rewritten")}, true
	}
	digits, ok := bytes.CutPrefix(k, []byte("key/"))
	i, err := strconv.Atoi(string(digits))
	if !ok || err != nil || i < 0 || i >= fillKeys || !bytes.Equal(fillKey(i), k) {
		return nil, false
	}
	return [][]byte{fillValue(i)}, true
}

// checkFilled checks s against what fill wrote. It returns errWrong if a
// key holds a value never written there; else how many keys differ from
// what fill left (absent, or holding an earlier value, as after losing the
// end of the write-ahead log in a crash), and the first error of a read.
func checkFilled(s *Store) (differ int, readErr error, err error) {
	ctx := context.Background()
	check := func(op string, k, v []byte) error {
		values, _ := fillHistory(k)
		i := slices.IndexFunc(values, func(w []byte) bool { return bytes.Equal(v, w) })
		switch {
		case i < 0:
			return fmt.Errorf("%w: %s: key %q holds %d bytes never written there", errWrong, op, k, len(v))
		case v == nil:
			return fmt.Errorf("%w: %s: key %q: nil, want a non-nil empty slice", errWrong, op, k)
		case i != len(values)-1:
			differ++
		}
		return nil
	}
	seen := make(map[string]bool)
	err = s.Scan(ctx, nil, func(k, v []byte) error {
		seen[string(k)] = true
		return check("scan", k, v)
	})
	switch {
	case errors.Is(err, errWrong):
		return 0, nil, err
	case err != nil:
		readErr = fmt.Errorf("scan: %w", err)
	}
	all := [][]byte{[]byte("empty"), []byte("big")}
	for i := range fillKeys {
		all = append(all, fillKey(i))
	}
	for _, k := range all {
		if _, present := fillHistory(k); present != seen[string(k)] {
			differ++
		}
	}
	for _, k := range [][]byte{[]byte("empty"), []byte("big"), fillKey(0), fillKey(1), fillKey(fillKeys - 1)} {
		v, err := s.Get(ctx, k)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			if readErr == nil {
				readErr = fmt.Errorf("get %q: %w", k, err)
			}
		default:
			if err := check("get", k, v); err != nil {
				return 0, nil, err
			}
		}
	}
	return differ, readErr, nil
}

func mustOpen(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func mustClose(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func mustCommit(t testing.TB, s *Store, b *store.Batch) {
	t.Helper()
	if err := s.Commit(context.Background(), b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// TestReopen checks that what a store holds survives Close and Open, twice,
// the second time from the table files Close flushed.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	fill(t, s)
	wantFilled(t, s)
	mustClose(t, s)
	for range 2 {
		s = mustOpen(t, dir, Options{})
		wantFilled(t, s)
		mustClose(t, s)
	}
}

// TestNoSync checks that a store opened with NoSync works and keeps its
// content over a Close and an Open.
func TestNoSync(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{NoSync: true})
	fill(t, s)
	wantFilled(t, s)
	mustClose(t, s)
	s = mustOpen(t, dir, Options{NoSync: true})
	wantFilled(t, s)
	mustClose(t, s)
}

// TestSyncWrites: commits sync badger's log by default, and only NoSync
// turns that off. (A process kill cannot tell a missing fsync; this pins
// the option that makes one.)
func TestSyncWrites(t *testing.T) {
	if !badgerOptions(t.TempDir(), Options{}).SyncWrites {
		t.Error("default options do not sync writes")
	}
	if badgerOptions(t.TempDir(), Options{NoSync: true}).SyncWrites {
		t.Error("NoSync still syncs writes")
	}
}

// TestUnsealCorrupt: a stored value with any byte flipped, or cut short,
// is ErrCorrupt, and the error names neither the key nor the value.
func TestUnsealCorrupt(t *testing.T) {
	k, v := []byte("Hsecret-digest-prefix"), []byte("value bytes")
	sealed := seal(nil, k, v)
	if got, err := unseal(k, sealed); err != nil || string(got) != string(v) {
		t.Fatalf("unseal of a sound value: %q, %v", got, err)
	}
	for i := range sealed {
		bad := append([]byte(nil), sealed...)
		bad[i] ^= 0x40
		_, err := unseal(k, bad)
		if !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("byte %d flipped: %v, want ErrCorrupt", i, err)
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "value bytes") {
			t.Fatalf("error %q names the key or the value", err)
		}
	}
	if _, err := unseal(k, sealed[:crcSize-1]); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("value shorter than its checksum: %v", err)
	}
}

// TestNoGoroutineLeak checks that the goroutines of badger end with Close,
// and that a failed Open leaves none behind either.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	fill(t, s)
	if err := s.Scan(context.Background(), []byte("key/"), func(_, _ []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	files := snapshot(t, dir)
	mustClose(t, s)
	closed := snapshot(t, dir)
	// Failed Opens: a foreign badger database, found only once badger has
	// opened it; damaged files, found before.
	foreign := t.TempDir()
	writeForeign(t, foreign)
	if _, err := Open(foreign, Options{}); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Open of a foreign database: %v, want ErrCorrupt", err)
	}
	for _, c := range []struct {
		files []fileImage
		name  string
	}{{closed, "000001.sst"}, {closed, "KEYREGISTRY"}, {closed, "MANIFEST"}, {files, "00001.mem"}, {files, "000001.vlog"}} {
		dir := t.TempDir()
		restore(t, c.files, dir)
		if err := os.Truncate(filepath.Join(dir, c.name), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir, Options{}); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Open with an empty %s: %v, want ErrCorrupt", c.name, err)
		}
	}
	var now int
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if now = runtime.NumGoroutine(); now <= before {
			return
		}
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	t.Fatalf("%d goroutines before Open, %d two seconds after Close:\n%s", before, now, buf)
}

// writeForeign writes a badger database in dir without this package: it
// lacks the format record.
func writeForeign(t *testing.T, dir string) {
	t.Helper()
	opts := rawOptions(dir)
	db, err := badger.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("hello"), []byte("world")) })
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// rawOptions are the options of a badger database opened by a test
// without this package.
func rawOptions(dir string) badger.Options {
	return badger.DefaultOptions(dir).WithLogger(nil).WithMemTableSize(1 << 20).WithValueThreshold(1 << 10)
}

// setFormat overwrites the format record of the closed store in dir.
func setFormat(t *testing.T, dir string, v []byte) {
	t.Helper()
	db, err := badger.Open(rawOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(formatKey, v) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestForeignDatabase(t *testing.T) {
	dir := t.TempDir()
	writeForeign(t, dir)
	_, err := Open(dir, Options{})
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Open of a badger database without the format record: %v, want ErrCorrupt", err)
	}
	t.Logf("foreign: %v", err)
	// The failed Open released the directory.
	if db, err := badger.Open(rawOptions(dir)); err != nil {
		t.Fatalf("badger.Open after a failed Open: %v", err)
	} else {
		db.Close()
	}
}

// TestEmptyBadgerDatabase checks that a badger database holding no key (a
// creation interrupted before the format record) becomes a store.
func TestEmptyBadgerDatabase(t *testing.T) {
	dir := t.TempDir()
	db, err := badger.Open(rawOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := mustOpen(t, dir, Options{})
	mustClose(t, s)
	s = mustOpen(t, dir, Options{})
	mustClose(t, s)
}

func TestUnknownFormat(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	fill(t, s)
	mustClose(t, s)
	setFormat(t, dir, []byte(formatMagic+"2"))
	_, err := Open(dir, Options{})
	if !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("Open of format v2: %v, want ErrUnknownFormat", err)
	}
	t.Logf("v2: %v", err)
	setFormat(t, dir, []byte("something else"))
	if _, err = Open(dir, Options{}); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Open with a garbage format record: %v, want ErrCorrupt", err)
	}
	setFormat(t, dir, formatValue)
	s = mustOpen(t, dir, Options{})
	wantFilled(t, s)
	mustClose(t, s)
}

// TestNotAStore checks directories that are not stores: Open fails with an
// error, without a panic, and leaves their files alone.
func TestNotAStore(t *testing.T) {
	junk := bytes.Repeat([]byte("not a badger file\n"), 100)
	cases := []struct {
		name  string
		files map[string][]byte
		want  error // nil: any error
	}{
		{"UnrelatedFile", map[string][]byte{"notes.txt": junk}, ErrNotStore},
		{"TableWithoutManifest", map[string][]byte{"000001.sst": junk}, ErrNotStore},
		{"JunkManifest", map[string][]byte{"MANIFEST": junk}, store.ErrCorrupt},
		{"EmptyManifest", map[string][]byte{"MANIFEST": nil}, store.ErrCorrupt},
		{"ManifestMagicOnly", map[string][]byte{"MANIFEST": []byte("Bdgr")}, store.ErrCorrupt},
		{"ManifestBadVersion", map[string][]byte{"MANIFEST": []byte("Bdgr\x00\x00\x00\x63")}, store.ErrCorrupt},
		{"ManifestJunkAfterMagic", map[string][]byte{"MANIFEST": append([]byte("Bdgr\x00\x00\x00\x08"), junk...)}, nil},
		{"JunkEverywhere", map[string][]byte{
			"MANIFEST": junk, "000001.sst": junk, "000001.vlog": junk, "00001.mem": junk,
			"KEYREGISTRY": junk, "DISCARD": junk,
		}, store.ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range c.files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Open(dir, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Open: %v, want %v", err, c.want)
			}
			t.Logf("%v", err)
			for name, data := range c.files {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("Open changed or removed %s: %v", name, err)
				}
			}
		})
	}
	t.Run("RegularFile", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(path, junk, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(path, Options{}); err == nil {
			t.Fatal("Open of a regular file succeeded")
		} else {
			t.Logf("%v", err)
		}
	})
}

// The child processes of the tests: a test binary run again with childEnv
// set to one of these, and childDirEnv to a directory, or to a list of
// them (separated by os.PathListSeparator).
const (
	childEnv    = "BADGERSTORE_TEST_CHILD"
	childDirEnv = "BADGERSTORE_TEST_DIR"
	childOpen   = "open"  // for each directory: open, check against fill, close
	childLocked = "lock"  // open, expecting ErrLocked
	childQuiet  = "quiet" // open, write, close between markers
	childBegin  = "--begin--"
	childEnd    = "--end--"
	// The lines childOpen prints for each directory: childTry before
	// opening it, childDone with the outcome.
	childTry  = "try: "
	childDone = "done: "
	// The outcomes of opening a directory in a childOpen.
	outcomeWhole     = "opened, content whole"
	outcomeReadError = "read error"
	outcomeLost      = "SILENT LOSS"
)

// TestChild is what a child process runs; it is skipped in a normal run.
func TestChild(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	switch os.Getenv(childEnv) {
	case childOpen:
		for _, dir := range filepath.SplitList(dir) {
			fmt.Printf("%s%s\n", childTry, dir)
			fmt.Printf("%s%s\t%s\n", childDone, dir, openAndCheck(dir))
		}
	case childLocked:
		_, err := Open(dir, Options{})
		fmt.Printf("child: %v\n", err)
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("Open of a directory open in another process: %v, want ErrLocked", err)
		}
	case childQuiet:
		fmt.Println(childBegin)
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		fill(t, s)
		mustClose(t, s)
		s = mustOpen(t, dir, Options{})
		wantFilled(t, s)
		mustClose(t, s)
		fmt.Println(childEnd)
	default:
		t.Skip("only run as a child process of another test")
	}
}

// openAndCheck opens the store in dir, checks it against fill, closes it,
// and describes the outcome in one line.
func openAndCheck(dir string) string {
	s, err := Open(dir, Options{})
	if err != nil {
		return fmt.Sprintf("open error: %v", err)
	}
	var outcome string
	switch differ, readErr, err := checkFilled(s); {
	case err != nil:
		outcome = err.Error()
	case readErr != nil:
		outcome = fmt.Sprintf("opened, %s (%d keys not as written): %v", outcomeReadError, differ, readErr)
	case differ > 0:
		outcome = fmt.Sprintf("opened, %s: %d keys missing or holding an earlier value, no error", outcomeLost, differ)
	default:
		outcome = outcomeWhole
	}
	if err := s.Close(); err != nil {
		outcome += fmt.Sprintf("; close error: %v", err)
	}
	return outcome
}

// runChild runs TestChild in a new process and returns its combined output.
func runChild(t *testing.T, kind, dir string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+kind, childDirEnv+"="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestLockedOtherProcess checks that a store open in this process cannot be
// opened by another one, and that it can once closed.
func TestLockedOtherProcess(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	fill(t, s)
	out, err := runChild(t, childLocked, dir)
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(out))
	mustClose(t, s)
	out, err = runChild(t, childOpen, dir)
	if err != nil || !strings.Contains(out, outcomeWhole) {
		t.Fatalf("child after Close: %v\n%s", err, out)
	}
}

// TestLockedSameProcess checks that a store open in this process cannot be
// opened again in it, until it is closed.
func TestLockedSameProcess(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	for range 2 {
		if s2, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
			if err == nil {
				s2.Close()
			}
			t.Fatalf("second Open: %v, want ErrLocked", err)
		}
	}
	// The same directory through another path.
	if _, err := Open(filepath.Join(dir, ".", "."), Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open through another path: %v, want ErrLocked", err)
	}
	put(t, s, "k", "v")
	mustClose(t, s)
	s = mustOpen(t, dir, Options{})
	if v, err := s.Get(context.Background(), []byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("Get after reopen = %q, %v", v, err)
	}
	mustClose(t, s)
}

func put(t *testing.T, s *Store, k, v string) {
	t.Helper()
	mustCommit(t, s, new(store.Batch).Put([]byte(k), []byte(v)))
}

// TestQuiet checks, in a child process, that Open, Commit and Close print
// nothing, on standard output or standard error.
func TestQuiet(t *testing.T) {
	out, err := runChild(t, childQuiet, t.TempDir())
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	_, rest, ok1 := strings.Cut(out, childBegin+"\n")
	between, _, ok2 := strings.Cut(rest, childEnd+"\n")
	if !ok1 || !ok2 {
		t.Fatalf("child output lacks its markers:\n%s", out)
	}
	if between != "" {
		t.Fatalf("Open, Commit and Close printed:\n%s", between)
	}
}

// TestLogger checks that badger's messages reach Options.Logger.
func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := mustOpen(t, t.TempDir(), Options{Logger: l})
	put(t, s, "k", "v")
	mustClose(t, s)
	if !strings.Contains(buf.String(), "component=badger") {
		t.Fatalf("nothing logged:\n%s", buf.String())
	}
}

// fileImage is a file of a template store: its size, and its data up to its
// last byte that is not zero (the write-ahead log and the value log are
// preallocated, their data followed by zeros).
type fileImage struct {
	name string
	size int64
	data []byte
}

// snapshot reads the regular files of dir.
func snapshot(t *testing.T, dir string) []fileImage {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []fileImage
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fileImage{e.Name(), int64(len(data)), data[:dataLen(data)]})
	}
	return files
}

// dataLen returns the length of data without its trailing zeros.
func dataLen(data []byte) int {
	// Binary search with bytes.Equal, fast even under the race detector,
	// for the shortest n such that data[n:] is all zeros.
	zeros := make([]byte, len(data))
	lo, hi := 0, len(data)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if bytes.Equal(data[mid:], zeros[mid:]) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// restore writes files into dir, leaving their trailing zeros as a hole.
func restore(t *testing.T, files []fileImage, dir string) {
	t.Helper()
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, f.size); err != nil {
			t.Fatal(err)
		}
	}
}

// damage is a way to damage a file of a template store, in place. apply
// gets the size of the file and the length of its data (its size without
// its trailing zeros).
type damage struct {
	name  string
	apply func(f *os.File, size, data int64) error
}

// flip returns a damage that flips bits of the byte at off(size, data).
func flip(off func(size, data int64) int64, mask byte) func(*os.File, int64, int64) error {
	return func(f *os.File, size, data int64) error {
		at := off(size, data)
		if at < 0 || at >= size {
			return nil
		}
		var b [1]byte
		if _, err := f.ReadAt(b[:], at); err != nil {
			return err
		}
		b[0] ^= mask
		_, err := f.WriteAt(b[:], at)
		return err
	}
}

// truncate returns a damage that truncates a file to to(size, data) bytes.
func truncate(to func(size, data int64) int64) func(*os.File, int64, int64) error {
	return func(f *os.File, size, data int64) error { return f.Truncate(max(to(size, data), 0)) }
}

var damages = []damage{
	{"Empty", truncate(func(_, _ int64) int64 { return 0 })},
	{"Half", truncate(func(n, _ int64) int64 { return n / 2 })},
	{"LastByte", truncate(func(n, _ int64) int64 { return n - 1 })},
	{"Last4K", truncate(func(n, _ int64) int64 { return n - 4096 })},
	{"FirstByte", flip(func(_, _ int64) int64 { return 0 }, 0xff)},
	{"MiddleByte", flip(func(n, _ int64) int64 { return n / 2 }, 0x55)},
	// The same within the data of a preallocated file.
	{"HalfOfData", truncate(func(_, d int64) int64 { return d / 2 })},
	{"LastByteOfData", truncate(func(_, d int64) int64 { return d - 1 })},
	{"MiddleByteOfData", flip(func(_, d int64) int64 { return d / 2 }, 0x55)},
}

// TestDamagedFiles damages each file of a closed store in turn, in several
// ways, and reopens the store in a child process: Open must fail with an
// error, or give a store whose content is what was written, perhaps with
// keys missing; the child must never crash. The same for a store copied
// while open, as after a crash, which holds a write-ahead log. The damaged
// copies are shared among a few child processes, each opening its copies
// in turn.
func TestDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	fill(t, s)
	mustClose(t, s)
	closed := snapshot(t, dir)

	s = mustOpen(t, t.TempDir(), Options{})
	fill(t, s)
	crashed := snapshot(t, s.dir)
	mustClose(t, s)

	names := make(map[string]string) // damaged copy -> name of the case
	var dirs []string
	for _, tmpl := range []struct {
		name  string
		files []fileImage
	}{{"Closed", closed}, {"Crashed", crashed}} {
		// The undamaged copy opens whole.
		whole := t.TempDir()
		restore(t, tmpl.files, whole)
		s := mustOpen(t, whole, Options{})
		wantFilled(t, s)
		mustClose(t, s)

		for _, f := range tmpl.files {
			for _, d := range damages {
				dir := t.TempDir()
				restore(t, tmpl.files, dir)
				if err := damageFile(filepath.Join(dir, f.name), d, int64(len(f.data))); err != nil {
					t.Fatal(err)
				}
				names[dir] = tmpl.name + "/" + f.name + "/" + d.name
				dirs = append(dirs, dir)
			}
		}
	}

	children := min(runtime.GOMAXPROCS(0), 4)
	type result struct {
		out string
		err error
	}
	results := make(chan result, children)
	for i := range children {
		var mine []string
		for j := i; j < len(dirs); j += children {
			mine = append(mine, dirs[j])
		}
		go func() {
			out, err := runChild(t, childOpen, strings.Join(mine, string(os.PathListSeparator)))
			results <- result{out, err}
		}()
	}
	outcomes := make(map[string]string)
	for range children {
		r := <-results
		tried := ""
		for l := range strings.Lines(r.out) {
			l = strings.TrimSuffix(l, "\n")
			if dir, ok := strings.CutPrefix(l, childTry); ok {
				tried = dir
			} else if rest, ok := strings.CutPrefix(l, childDone); ok {
				dir, outcome, _ := strings.Cut(rest, "\t")
				outcomes[dir] = outcome
				tried = ""
			}
		}
		if r.err != nil || tried != "" {
			t.Errorf("child failed (%v) opening %s:\n%s", r.err, names[tried], r.out)
		}
	}
	for _, dir := range dirs {
		outcome, ok := outcomes[dir]
		switch {
		case !ok:
			t.Errorf("%s: no outcome", names[dir])
		case strings.Contains(outcome, errWrong.Error()):
			t.Errorf("%s: %s", names[dir], outcome)
		case strings.Contains(outcome, outcomeLost) && strings.HasPrefix(names[dir], "Closed/"):
			// Keys lost without an error are acceptable only where a
			// write-ahead log was cut, as in a crash.
			t.Errorf("%s: %s", names[dir], outcome)
		default:
			t.Logf("%s: %s", names[dir], outcome)
		}
	}
}

// damageFile applies d to the file at path, whose data is its first data
// bytes.
func damageFile(path string, d damage, data int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := d.apply(f, st.Size(), data); err != nil {
		return err
	}
	return f.Close()
}

// TestBatchTooLarge checks that a batch larger than a badger transaction
// fails with ErrBatchTooLarge and writes nothing.
func TestBatchTooLarge(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	defer mustClose(t, s)
	put(t, s, "keep", "old")
	var b store.Batch
	b.Delete([]byte("keep"))
	v := bytes.Repeat([]byte("v"), 60<<10) // inline: below ValueThreshold
	for i := range 100 {
		b.Put(fmt.Appendf(nil, "k%03d", i), v)
	}
	err := s.Commit(context.Background(), &b)
	if !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("Commit of a 6 MB batch: %v, want ErrBatchTooLarge", err)
	}
	t.Log(err)
	if got, err := s.Get(context.Background(), []byte("keep")); err != nil || string(got) != "old" {
		t.Fatalf("after a failed batch Get(keep) = %q, %v", got, err)
	}
	n := 0
	if err := s.Scan(context.Background(), nil, func(_, _ []byte) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("after a failed batch Scan: %d keys, %v", n, err)
	}
	// Large values go to the value log and fit.
	b = store.Batch{}
	for i := range 4 {
		b.Put(fmt.Appendf(nil, "big%d", i), bytes.Repeat([]byte{byte(i)}, store.MaxValueSize))
	}
	mustCommit(t, s, &b)
}

// TestCloseDuringScan checks that a call made from a Scan's fn while Close
// waits for that Scan fails with ErrClosed instead of deadlocking, and that
// Close then returns.
func TestCloseDuringScan(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	put(t, s, "a", "1")
	put(t, s, "b", "2")
	closed := make(chan error, 1)
	err := s.Scan(context.Background(), nil, func(k, _ []byte) error {
		if string(k) != "a" {
			return nil
		}
		go func() { closed <- s.Close() }()
		for { // wait for Close to begin
			s.mu.Lock()
			c := s.closed
			s.mu.Unlock()
			if c {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if _, err := s.Get(context.Background(), []byte("b")); !errors.Is(err, store.ErrClosed) {
			return fmt.Errorf("Get from fn while closing: %v, want ErrClosed", err)
		}
		if err := s.Commit(context.Background(), new(store.Batch).Put([]byte("c"), nil)); !errors.Is(err, store.ErrClosed) {
			return fmt.Errorf("Commit from fn while closing: %v, want ErrClosed", err)
		}
		select {
		case <-closed:
			return errors.New("Close returned while a Scan was in flight")
		case <-time.After(20 * time.Millisecond):
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the Scan ended")
	}
}

func TestOptions(t *testing.T) {
	bad := []Options{
		{MemTableSize: 1 << 10},
		{NumMemtables: -1},
		{ValueThreshold: 2 << 20},
		{MemTableSize: 2 << 20, ValueThreshold: 1 << 20},
		{ValueLogFileSize: 1 << 20},
	}
	for _, o := range bad {
		if _, err := Open(t.TempDir(), o); err == nil {
			t.Errorf("Open with %+v succeeded", o)
		}
	}
	// Small settings work, and so does a disabled block cache.
	s := mustOpen(t, t.TempDir(), Options{MemTableSize: 1 << 20, NumMemtables: 1, BlockCacheSize: -1, ValueThreshold: 1 << 10})
	fill(t, s)
	wantFilled(t, s)
	mustClose(t, s)
}

// TestMemory reports the time, heap and resident memory an Open costs, of
// an empty store and of one of 100,000 keys, and fails if the heap grows by
// more than 32 MiB.
func TestMemory(t *testing.T) {
	measureOpen(t, "an empty store", t.TempDir())
	if testing.Short() {
		return
	}
	dir := t.TempDir()
	writeKeys(t, dir, 100_000)
	measureOpen(t, "a store of 100,000 keys", dir)
}

func measureOpen(t *testing.T, what, dir string) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	anon0, file0 := residentKiB()
	start := time.Now()
	s := mustOpen(t, dir, Options{})
	elapsed := time.Since(start)
	// Read everything, as a store in use would.
	n := 0
	if err := s.Scan(context.Background(), nil, func(_, _ []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	anon1, file1 := residentKiB()
	heap := int64(m1.HeapAlloc) - int64(m0.HeapAlloc)
	t.Logf("Open of %s: %v; after a scan of its %d keys: heap +%d KiB, resident anonymous %+d KiB, file-backed %+d KiB; %d goroutines",
		what, elapsed.Round(time.Microsecond), n, heap>>10, anon1-anon0, file1-file0, runtime.NumGoroutine())
	mustClose(t, s)
	if heap > 32<<20 {
		t.Fatalf("an open store costs %d KiB of heap", heap>>10)
	}
}

// residentKiB returns the anonymous and file-backed resident memory of the
// process, or zeros where /proc is missing.
func residentKiB() (anon, file int64) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for l := range strings.Lines(string(data)) {
		name, rest, _ := strings.Cut(l, ":")
		var n int64
		fmt.Sscanf(strings.TrimSpace(rest), "%d", &n)
		switch name {
		case "RssAnon":
			anon = n
		case "RssFile":
			file = n
		}
	}
	return anon, file
}

// BenchmarkCommitSync measures a synced Commit of one small put.
func BenchmarkCommitSync(b *testing.B) {
	benchmarkCommit(b, Options{})
}

// BenchmarkCommitNoSync measures a Commit of one small put with NoSync.
func BenchmarkCommitNoSync(b *testing.B) {
	benchmarkCommit(b, Options{NoSync: true})
}

func benchmarkCommit(b *testing.B, opts Options) {
	s := mustOpen(b, b.TempDir(), opts)
	defer mustClose(b, s)
	ctx := context.Background()
	v := bytes.Repeat([]byte("v"), 64)
	var batch store.Batch
	i := 0
	for b.Loop() {
		batch.Reset()
		batch.Put(fmt.Appendf(nil, "bench/%09d", i), v)
		if err := s.Commit(ctx, &batch); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkGet measures a Get of a present key in a store of 100,000 keys.
func BenchmarkGet(b *testing.B) {
	dir := b.TempDir()
	writeKeys(b, dir, 100_000)
	s := mustOpen(b, dir, Options{})
	defer mustClose(b, s)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, err := s.Get(ctx, fmt.Appendf(nil, "k/%09d", i*7919%100_000)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkOpenEmpty measures an Open of an empty store (not its Close).
func BenchmarkOpenEmpty(b *testing.B) {
	dir := b.TempDir()
	mustClose(b, mustOpen(b, dir, Options{}))
	benchmarkOpen(b, dir)
}

// BenchmarkOpen100k measures an Open of a store of 100,000 keys (11-byte
// keys, 64-byte values), whose tables Open checks whole.
func BenchmarkOpen100k(b *testing.B) {
	dir := b.TempDir()
	writeKeys(b, dir, 100_000)
	benchmarkOpen(b, dir)
}

func benchmarkOpen(b *testing.B, dir string) {
	for b.Loop() {
		s := mustOpen(b, dir, Options{})
		b.StopTimer()
		mustClose(b, s)
		b.StartTimer()
	}
}

// writeKeys writes n keys in a new store in dir, and closes it.
func writeKeys(b testing.TB, dir string, n int) {
	s := mustOpen(b, dir, Options{NoSync: true})
	v := bytes.Repeat([]byte("v"), 64)
	var batch store.Batch
	for i := range n {
		batch.Put(fmt.Appendf(nil, "k/%09d", i), v)
		if batch.Len() == 1000 {
			mustCommit(b, s, &batch)
			batch = store.Batch{}
		}
	}
	mustCommit(b, s, &batch)
	mustClose(b, s)
}

// TestScanOrderAcrossReopen checks that a Scan merges, in key order, keys
// of a table and of the memtable.
func TestScanOrderAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	keys := []string{"b", "a\xff", "a", "\x00", "\xff\xff", "a\x00"}
	for _, k := range keys {
		put(t, s, k, "v"+k)
	}
	mustClose(t, s)
	s = mustOpen(t, dir, Options{})
	defer mustClose(t, s)
	put(t, s, "ab", "vab") // one key in the memtable, the rest in a table
	var got []string
	err := s.Scan(context.Background(), nil, func(k, v []byte) error {
		if string(v) != "v"+string(k) {
			return fmt.Errorf("key %q holds %q", k, v)
		}
		got = append(got, string(k))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(keys), "ab")
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Scan = %q, want %q", got, want)
	}
}
