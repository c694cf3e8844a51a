package record

import (
	"bytes"
	"errors"
	"testing"

	"pgregory.net/rapid"

	"github.com/streamauth/streamauth/store"
)

func TestMetaValue(t *testing.T) {
	if got, want := MetaValue(), []byte("streamauth/format/\x02"); !bytes.Equal(got, want) {
		t.Fatalf("MetaValue() = %q, want %q", got, want)
	}
	if got, want := MetaValueOf(1), []byte("streamauth/format/\x01"); !bytes.Equal(got, want) {
		t.Fatalf("MetaValueOf(1) = %q, want %q", got, want)
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

// TestMetaFormats checks that the formats this code reads, 1 (written by
// earlier releases) and 2 (written by this one), are accepted and told
// apart.
func TestMetaFormats(t *testing.T) {
	if StoreFormat != 2 || MinStoreFormat != 1 {
		t.Fatalf("StoreFormat %d, MinStoreFormat %d; want 2 and 1", StoreFormat, MinStoreFormat)
	}
	for f := byte(MinStoreFormat); f <= StoreFormat; f++ {
		v := MetaValueOf(f)
		if err := CheckMeta(v); err != nil {
			t.Errorf("CheckMeta(format %d): %v", f, err)
		}
		if got, err := MetaFormat(v); err != nil || got != f {
			t.Errorf("MetaFormat(format %d) = %d, %v", f, got, err)
		}
	}
}

func TestCheckMetaOtherFormat(t *testing.T) {
	for f := range 256 {
		if f >= MinStoreFormat && f <= StoreFormat {
			continue
		}
		v := MetaValue()
		v[len(v)-1] = byte(f)
		if got, err := MetaFormat(v); !errors.Is(err, ErrUnknownFormat) || got != 0 {
			t.Errorf("MetaFormat(format %d) = %d, %v; want 0, ErrUnknownFormat", f, got, err)
		}
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
		case bytes.Equal(v, good), bytes.Equal(v, MetaValueOf(MinStoreFormat)):
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
