// Package record encodes what package auth keeps in a store: the layout of
// the keyspace and the binary form of each record.
//
// Every record starts with a format version byte and ends with a CRC-32C of
// everything before it, so that a flipped byte or a truncated value is
// reported as [store.ErrCorrupt] instead of being read as a different
// account, workspace, cluster or key. The hot key record's checksum also
// covers the digest prefix its store key holds, which the record leaves
// out (see [AppendKey]). Decoders never panic and never trust a length
// they have not checked.
package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/streamauth/streamauth/store"
)

// Version is the format version of every record this code writes except
// the hot key record in its store form, which is of version 2 (see
// [AppendKey]). A record of another version is refused.
const Version = 1

const crcSize = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// The reasons a record is refused, allocated once; each wraps
// store.ErrCorrupt.
var (
	errShort    = fmt.Errorf("%w: record too short", store.ErrCorrupt)
	errVersion  = fmt.Errorf("%w: unknown record version", store.ErrCorrupt)
	errChecksum = fmt.Errorf("%w: record checksum mismatch", store.ErrCorrupt)
	errLength   = fmt.Errorf("%w: record length mismatch", store.ErrCorrupt)
	errField    = fmt.Errorf("%w: record field out of range", store.ErrCorrupt)
	errMismatch = fmt.Errorf("%w: key record's digest does not begin with its store key's prefix", store.ErrCorrupt)
)

// seal appends the checksum of the record that starts at b[start:].
func seal(b []byte, start int) []byte {
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// open checks the version and checksum of a record whose fixed part is
// fixed bytes long (version byte included) and returns the body without
// the checksum.
func open(b []byte, fixed int) ([]byte, error) {
	if len(b) < fixed+crcSize {
		return nil, errShort
	}
	body := b[:len(b)-crcSize]
	if binary.BigEndian.Uint32(b[len(body):]) != crc32.Checksum(body, castagnoli) {
		return nil, errChecksum
	}
	if body[0] != Version {
		return nil, errVersion
	}
	return body, nil
}

// nameAt reads a name of one length byte followed by that many bytes at
// the end of body, starting at off.
func nameAt(body []byte, off int) ([]byte, error) {
	if off >= len(body) {
		return nil, errShort
	}
	n := int(body[off])
	if off+1+n != len(body) {
		return nil, errLength
	}
	return body[off+1:], nil
}

func appendName(b []byte, name string) []byte {
	if len(name) > 255 {
		panic("record: name longer than 255 bytes") // names are checked by package keys first
	}
	b = append(b, byte(len(name)))
	return append(b, name...)
}

func appendInt64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

func int64At(b []byte, off int) int64 { return int64(binary.BigEndian.Uint64(b[off:])) }
