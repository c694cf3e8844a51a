package record

import (
	"bytes"
	"fmt"

	"github.com/streamauth/streamauth/store"
)

// metaMagic starts the value of MetaKey; the byte after it is the format
// version of the whole store.
const metaMagic = "streamauth/format/"

// The store formats. A store's format names the layouts its records may
// have; it changes when a record changes in a way an earlier release would
// misread, so that such a release refuses the store with ErrUnknownFormat
// instead of reporting its records as corrupt.
//
//   - Format 1: hot key records in the wire form only (version 1, with the
//     full digest; see [AppendKeyWire]).
//   - Format 2: hot key records in the store form (version 2, without the
//     digest prefix their store key holds; see [AppendKey]), and in the
//     wire form where a store of format 1 held them before its upgrade.
//
// This code reads both. It writes the store form only, and it upgrades a
// store of format 1 to format 2, by rewriting its format record alone,
// before it writes anything else (package auth does, in New): the records
// an earlier release wrote stay as they are.
const (
	// StoreFormat is the store format this code writes.
	StoreFormat = 2
	// MinStoreFormat is the oldest store format this code reads, and
	// upgrades to StoreFormat.
	MinStoreFormat = 1
)

// MetaValue is the value written under MetaKey by this code.
func MetaValue() []byte { return MetaValueOf(StoreFormat) }

// MetaValueOf is the value under MetaKey of a store of format f.
func MetaValueOf(f byte) []byte { return append([]byte(metaMagic), f) }

// CheckMeta checks the value under MetaKey: it must name a store format
// this code reads, from MinStoreFormat to StoreFormat.
func CheckMeta(v []byte) error {
	_, err := MetaFormat(v)
	return err
}

// MetaFormat returns the store format the value under MetaKey names, if
// this code reads it. A value that is not a format record is
// store.ErrCorrupt; one of a format this code does not read, older or
// newer, is ErrUnknownFormat.
func MetaFormat(v []byte) (byte, error) {
	if len(v) != len(metaMagic)+1 || !bytes.HasPrefix(v, []byte(metaMagic)) {
		return 0, fmt.Errorf("%w: not a streamauth store", store.ErrCorrupt)
	}
	f := v[len(metaMagic)]
	if f < MinStoreFormat || f > StoreFormat {
		return 0, fmt.Errorf("%w: store format %d, this build reads %d to %d", ErrUnknownFormat, f, MinStoreFormat, StoreFormat)
	}
	return f, nil
}

// ErrUnknownFormat reports a store written in a format this build does not
// read, for example by a newer release.
var ErrUnknownFormat = store.ErrUnknownFormat
