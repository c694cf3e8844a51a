package record

import (
	"bytes"
	"fmt"

	"github.com/streamauth/streamauth/store"
)

// metaMagic starts the value of MetaKey; the byte after it is the format
// version of the whole store.
const metaMagic = "streamauth/format/"

// StoreFormat is the store format this code reads and writes.
const StoreFormat = 1

// MetaValue is the value written under MetaKey by this code.
func MetaValue() []byte { return append([]byte(metaMagic), StoreFormat) }

// CheckMeta checks the value under MetaKey: it must name this store format.
func CheckMeta(v []byte) error {
	if len(v) != len(metaMagic)+1 || !bytes.HasPrefix(v, []byte(metaMagic)) {
		return fmt.Errorf("%w: not a streamauth store", store.ErrCorrupt)
	}
	if v[len(metaMagic)] != StoreFormat {
		return fmt.Errorf("%w: store format %d, this build reads %d", ErrUnknownFormat, v[len(metaMagic)], StoreFormat)
	}
	return nil
}

// ErrUnknownFormat reports a store written in a format this build does not
// read, for example by a newer release.
var ErrUnknownFormat = store.ErrUnknownFormat
