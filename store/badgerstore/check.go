package badgerstore

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/fb"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
	"google.golang.org/protobuf/proto"

	"github.com/streamauth/streamauth/store"
)

// This file checks a directory before badger opens it.
//
// Badger trusts its files: it opens each table in a goroutine of its own and
// reads a table's footer with y.Check, which calls log.Fatalf, so a
// truncated table file ends the process, and a damaged block can panic
// where no recover can reach it. It deletes the table files its MANIFEST
// does not list. And when it fails to open, it may leave goroutines behind
// (some of its error paths skip its cleanup). So before badger sees a
// directory, Open checks that it is either empty (a new store) or holds a
// MANIFEST that replays, a KEYREGISTRY that reads, logs with a sound
// header, and whole tables: every table the MANIFEST lists has its footer
// and index in bounds and matching their checksum, and so does every
// block. That reads every table once at open (a few milliseconds per
// 10 MB).

// maxLevels is badger's number of levels (Options.MaxLevels, left at its
// default).
const maxLevels = 7

// badgerLeftovers are the files badger may leave in a directory before its
// MANIFEST exists: its pid file (when badger takes the lock itself) and the
// MANIFEST it writes before renaming it into place.
var badgerLeftovers = map[string]bool{"LOCK": true, "MANIFEST-REWRITE": true}

// inspectDir checks dir before badger opens it, and reports whether it may
// hold no data at all: it is empty, or holds a badger database that lists
// no table, has no table file and nothing in its write-ahead logs (one
// whose creation was interrupted before the format record was written). A
// directory that holds files but no MANIFEST is not a store, and Open will
// not make one there (badger would delete any file named like one of its
// tables).
//
// A table file the MANIFEST does not list is normal after a crash (a table
// was written, the MANIFEST not yet updated: its content is still in the
// write-ahead log or in older tables), and badger deletes it. But the
// directory of a store closed cleanly holds neither such a table nor a
// write-ahead log (a *.mem file): there, an unlisted table means a damaged
// MANIFEST, and Open fails before badger deletes the table.
func inspectDir(dir string) (fresh bool, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("badgerstore: %w", err)
	}
	hasManifest, hasWAL := false, false
	tables := make(map[uint64]bool)
	var others []string
	for _, e := range entries {
		name := e.Name()
		if id, ok := table.ParseFileID(name); ok {
			tables[id] = true
		}
		switch {
		case name == badger.ManifestFilename:
			hasManifest = true
		case strings.HasSuffix(name, ".mem"):
			hasWAL = true
		}
		if name != badger.ManifestFilename && !badgerLeftovers[name] {
			others = append(others, name)
		}
	}
	if !hasManifest {
		if len(others) > 0 {
			return false, fmt.Errorf("%w: %s holds files (%q...) but no badger MANIFEST: not a store, and not empty",
				ErrNotStore, dir, others[0])
		}
		return true, nil
	}
	mf, err := readManifest(dir)
	if err != nil {
		return false, err
	}
	if err := checkKeyRegistry(dir); err != nil {
		return false, err
	}
	walData, err := checkLogs(dir, entries)
	if err != nil {
		return false, err
	}
	for id, tm := range mf.Tables {
		if err := checkTable(table.NewFilename(id, dir), tm); err != nil {
			return false, err
		}
	}
	if !hasWAL {
		for id := range tables {
			if _, ok := mf.Tables[id]; !ok {
				return false, fmt.Errorf("%w: %s: table %s is not listed in the MANIFEST (%d tables listed), and there is no write-ahead log: damaged MANIFEST",
					store.ErrCorrupt, dir, table.IDToFilename(id), len(mf.Tables))
			}
		}
	}
	return len(mf.Tables) == 0 && len(tables) == 0 && !walData, nil
}

// checkKeyRegistry reads the KEYREGISTRY of dir, if any, as badger will.
func checkKeyRegistry(dir string) error {
	kr, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: dir, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", store.ErrCorrupt, filepath.Join(dir, badger.KeyRegistryFileName), err)
	}
	return kr.Close()
}

// logHeaderSize is the size of the header of a write-ahead log (*.mem) or
// value log (*.vlog) file: the u64 id of its encryption key, zero when not
// encrypted, and a 12-byte IV.
const logHeaderSize = 20

// checkLogs checks the header of the write-ahead logs (*.mem) and value
// logs (*.vlog) of dir, which badger reads without checking it, and
// reports whether a write-ahead log holds anything after its header. A log
// shorter than its header (badger fails on an empty one, and trusts a short
// one), or with an encryption key (this package does not encrypt), is
// damaged.
func checkLogs(dir string, entries []fs.DirEntry) (walData bool, err error) {
	for _, e := range entries {
		name := e.Name()
		base, isWAL := strings.CutSuffix(name, ".mem")
		if !isWAL {
			var isVlog bool
			if base, isVlog = strings.CutSuffix(name, ".vlog"); !isVlog {
				continue
			}
		}
		if _, err := strconv.Atoi(base); err != nil {
			continue // badger ignores it too
		}
		path := filepath.Join(dir, name)
		data, err := checkLog(path, isWAL)
		if err != nil {
			return false, err
		}
		walData = walData || data
	}
	return walData, nil
}

// checkLog checks the log file at path; for a write-ahead log, it reports
// whether the log holds a byte that is not zero after its header (the
// file is preallocated, zeros after its last entry).
func checkLog(path string, isWAL bool) (data bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("badgerstore: %w", err)
	}
	defer f.Close()
	var h [logHeaderSize]byte
	switch n, err := io.ReadFull(f, h[:]); {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return false, fmt.Errorf("%w: %s: %d bytes, shorter than its header (a crash while the file was created leaves it empty)",
			store.ErrCorrupt, path, n)
	case err != nil:
		return false, fmt.Errorf("badgerstore: %w", err)
	case binary.BigEndian.Uint64(h[:8]) != 0:
		return false, fmt.Errorf("%w: %s: header names an encryption key", store.ErrCorrupt, path)
	}
	if !isWAL {
		return false, nil
	}
	buf, zeros := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		if !bytes.Equal(buf[:n], zeros[:n]) {
			return true, nil
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("badgerstore: %w", err)
		}
	}
}

// readManifest replays dir's MANIFEST as badger will, read-only.
func readManifest(dir string) (badger.Manifest, error) {
	path := filepath.Join(dir, badger.ManifestFilename)
	f, err := os.Open(path)
	if err != nil {
		return badger.Manifest{}, fmt.Errorf("badgerstore: %w", err)
	}
	defer f.Close()
	mf, _, err := badger.ReplayManifestFile(f, 0, badger.Options{})
	if err != nil {
		return badger.Manifest{}, fmt.Errorf("%w: %s: %w", store.ErrCorrupt, path, err)
	}
	for id, tm := range mf.Tables {
		if tm.Level >= maxLevels {
			return badger.Manifest{}, fmt.Errorf("%w: %s: table %d at level %d", store.ErrCorrupt, path, id, tm.Level)
		}
	}
	return mf, nil
}

// errTable is the error of a table file that fails a check.
func errTable(path string, format string, args ...any) error {
	return fmt.Errorf("%w: table %s: %s", store.ErrCorrupt, path, fmt.Sprintf(format, args...))
}

// checkTable checks the table file at path, listed in the MANIFEST as tm.
// The layout, from badger's table.Builder, is: blocks, index, index
// checksum, u32 checksum length, where the index length is the u32 before
// the checksum; each block is: entries, u32 entry offsets, u32 entry count,
// checksum, u32 checksum length, and its checksum covers what precedes it.
// Checksums are protobuf pb.Checksum messages; all integers big-endian.
func checkTable(path string, tm badger.TableManifest) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return errTable(path, "listed in the MANIFEST but missing")
	}
	if err != nil {
		return fmt.Errorf("badgerstore: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("badgerstore: %w", err)
	}
	size := st.Size()

	// The footer, read backwards as badger's Table.initIndex reads it.
	pos := size - 4
	chkLen, err := readU32(f, pos)
	if err != nil {
		return errTable(path, "%d bytes, too short for a footer", size)
	}
	if chkLen > pos-4 {
		return errTable(path, "checksum length %d out of bounds", chkLen)
	}
	pos -= chkLen
	chk := make([]byte, chkLen)
	if _, err := f.ReadAt(chk, pos); err != nil {
		return fmt.Errorf("badgerstore: %w", err)
	}
	pos -= 4
	indexLen, err := readU32(f, pos)
	if err != nil {
		return fmt.Errorf("badgerstore: %w", err)
	}
	if indexLen > pos {
		return errTable(path, "index length %d out of bounds", indexLen)
	}
	pos -= indexLen
	index := make([]byte, indexLen)
	if _, err := f.ReadAt(index, pos); err != nil {
		return fmt.Errorf("badgerstore: %w", err)
	}
	if err := verifyChecksum(index, chk); err != nil {
		return errTable(path, "index: %v", err)
	}
	if tm.KeyID != 0 || tm.Compression != options.None {
		// An encrypted index, or compressed blocks: this package writes
		// neither, and leaves such a table to badger.
		return nil
	}

	// The blocks, in the order of the index, which is their order in the
	// file.
	ti := fb.GetRootAsTableIndex(index, 0)
	dataEnd := pos
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, dataEnd), 256<<10)
	var read int64
	var bo fb.BlockOffset
	var buf []byte
	for i := range ti.OffsetsLength() {
		if !ti.Offsets(&bo, i) {
			return errTable(path, "index: block %d missing", i)
		}
		off, n := int64(bo.Offset()), int64(bo.Len())
		if off < read || off+n > dataEnd || n < 8 {
			return errTable(path, "block %d at [%d, %d+%d) out of bounds", i, off, off, n)
		}
		if _, err := r.Discard(int(off - read)); err != nil {
			return fmt.Errorf("badgerstore: %w", err)
		}
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		b := buf[:n]
		if _, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("badgerstore: %w", err)
		}
		read = off + n
		bchkLen := int64(binary.BigEndian.Uint32(b[n-4:]))
		if bchkLen > n-8 {
			return errTable(path, "block %d: checksum length %d out of bounds", i, bchkLen)
		}
		body := b[:n-4-bchkLen]
		if err := verifyChecksum(body, b[n-4-bchkLen:n-4]); err != nil {
			return errTable(path, "block %d: %v", i, err)
		}
	}
	return nil
}

// readU32 reads the big-endian u32 at off.
func readU32(f *os.File, off int64) (int64, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	var b [4]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint32(b[:])), nil
}

// verifyChecksum checks data against the encoded pb.Checksum chk, refusing
// an algorithm badger does not know (y.CalculateChecksum panics on one).
func verifyChecksum(data, chk []byte) error {
	var cs pb.Checksum
	if err := proto.Unmarshal(chk, &cs); err != nil {
		return fmt.Errorf("checksum: %w", err)
	}
	switch cs.Algo {
	case pb.Checksum_CRC32C, pb.Checksum_XXHash64:
	default:
		return fmt.Errorf("checksum: unknown algorithm %d", cs.Algo)
	}
	return y.VerifyChecksum(data, &cs)
}
