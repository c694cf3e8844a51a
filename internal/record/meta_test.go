package record

import (
	"bytes"
	"errors"
	"testing"

	"pgregory.net/rapid"

	"github.com/streamauth/streamauth/store"
)

func TestMetaValue(t *testing.T) {
	if got, want := MetaValue(), []byte("streamauth/format/\x01"); !bytes.Equal(got, want) {
		t.Fatalf("MetaValue() = %q, want %q", got, want)
	}
	if err := CheckMeta(MetaValue()); err != nil {
		t.Fatalf("CheckMeta(MetaValue()): %v", err)
	}
	// Each call returns a fresh slice: changing one does not change the
	// next.
	v := MetaValue()
	v[0] ^= 0xff
	if err := CheckMeta(MetaValue()); err != nil {
		t.Fatalf("CheckMeta(MetaValue()) after changing an earlier result: %v", err)
	}
}

func TestCheckMetaOtherFormat(t *testing.T) {
	for f := range 256 {
		if f == StoreFormat {
			continue
		}
		v := MetaValue()
		v[len(v)-1] = byte(f)
		err := CheckMeta(v)
		if !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("format %d: %v, want ErrUnknownFormat", f, err)
		}
		// A store of another format is not corrupt; a newer release
		// can read it.
		if errors.Is(err, store.ErrCorrupt) {
			t.Errorf("format %d: %v also wraps store.ErrCorrupt", f, err)
		}
	}
}

func TestCheckMetaGarbage(t *testing.T) {
	a := Account{Name: "acme"}
	for name, v := range map[string][]byte{
		"nil":                nil,
		"empty":              {},
		"magic only":         []byte("streamauth/format/"),
		"trailing byte":      append(MetaValue(), 0),
		"other magic":        []byte("streamauth/FORMAT/\x01"),
		"one byte":           {StoreFormat},
		"an account record":  AppendAccount(nil, &a),
		"magic twice":        []byte("streamauth/format/streamauth/format/\x01"),
		"leading byte":       append([]byte{0}, MetaValue()...),
		"magic cut, format":  []byte("streamauth/forma\x01"),
		"format byte first":  []byte("\x01streamauth/format/"),
		"same length, other": bytes.Repeat([]byte{'x'}, len(MetaValue())),
	} {
		err := CheckMeta(v)
		if !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("%s (%q): %v, want store.ErrCorrupt", name, v, err)
		}
		if errors.Is(err, ErrUnknownFormat) {
			t.Errorf("%s (%q): %v also wraps ErrUnknownFormat", name, v, err)
		}
	}
	good := MetaValue()
	for n := range len(good) {
		if err := CheckMeta(good[:n]); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("prefix of %d bytes: %v, want store.ErrCorrupt", n, err)
		}
	}
	for i := range len(good) - 1 { // every flip in the magic
		for bit := range 8 {
			v := MetaValue()
			v[i] ^= 1 << bit
			if err := CheckMeta(v); !errors.Is(err, store.ErrCorrupt) {
				t.Errorf("bit %d of byte %d flipped: %v, want store.ErrCorrupt", bit, i, err)
			}
		}
	}
}

func TestCheckMetaAnyInput(t *testing.T) {
	good := MetaValue()
	rapid.Check(t, func(t *rapid.T) {
		var v []byte
		if rapid.Bool().Draw(t, "near") {
			// Near misses of the real value.
			v = append([]byte(nil), good...)
			i := rapid.IntRange(0, len(v)-1).Draw(t, "at")
			v[i] = rapid.Byte().Draw(t, "byte")
			v = v[:rapid.IntRange(0, len(v)).Draw(t, "len")]
		} else {
			v = rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "v")
		}
		err := CheckMeta(v)
		switch {
		case bytes.Equal(v, good):
			if err != nil {
				t.Fatalf("CheckMeta(%q): %v", v, err)
			}
		case len(v) == len(good) && bytes.Equal(v[:len(v)-1], good[:len(good)-1]):
			if !errors.Is(err, ErrUnknownFormat) || errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("CheckMeta(%q) = %v, want ErrUnknownFormat only", v, err)
			}
		default:
			if !errors.Is(err, store.ErrCorrupt) || errors.Is(err, ErrUnknownFormat) {
				t.Fatalf("CheckMeta(%q) = %v, want store.ErrCorrupt only", v, err)
			}
		}
	})
}
