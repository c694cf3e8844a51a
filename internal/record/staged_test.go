package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"pgregory.net/rapid"

	"github.com/streamauth/streamauth/store"
)

func TestStagedRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		del := rapid.Bool().Draw(t, "del")
		var value []byte
		if !del {
			value = rapid.SliceOfN(rapid.Byte(), 0, 600).Draw(t, "value")
		}
		enc := AppendStaged(nil, del, value)
		got, gotDel, err := DecodeStaged(enc)
		if err != nil || gotDel != del || !bytes.Equal(got, value) {
			t.Fatalf("DecodeStaged(AppendStaged(%v, %x)) = %x, %v, %v", del, value, got, gotDel, err)
		}
		for i := range enc {
			for bit := range 8 {
				enc[i] ^= 1 << bit
				if _, _, err := DecodeStaged(enc); !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("bit %d of byte %d flipped: %v, want ErrCorrupt", bit, i, err)
				}
				enc[i] ^= 1 << bit
			}
		}
		for n := range len(enc) {
			if _, _, err := DecodeStaged(enc[:n]); !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("truncated to %d bytes: %v, want ErrCorrupt", n, err)
			}
		}
	})
}

// TestStagedResealedRefused: a change with a valid checksum is still
// refused for an unknown op, a version other than the current one, or a
// delete carrying a value.
func TestStagedResealedRefused(t *testing.T) {
	reseal := func(body ...byte) []byte {
		return binary.BigEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
	}
	for name, b := range map[string][]byte{
		"unknown op":          reseal(Version, 2, 'x'),
		"other version":       reseal(Version+1, stagedPut, 'x'),
		"delete with a value": reseal(Version, stagedDelete, 'x'),
		"no op":               reseal(Version),
	} {
		if _, _, err := DecodeStaged(b); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

func TestStagedKey(t *testing.T) {
	_, _, id, _ := idsFrom(t, seq(1, 16), seq(2, 16), seq(3, 16), seq(4, 16))
	cl := ClusterKey(id)
	k := StagedKey(7, cl)
	if !bytes.HasPrefix(k, StagedVersionPrefix(7)) || !bytes.HasPrefix(k, StagedPrefix()) {
		t.Fatalf("StagedKey %x lacks its prefixes", k)
	}
	if bytes.HasPrefix(StagedKey(8, cl), StagedVersionPrefix(7)) {
		t.Fatalf("a change staged for version 8 is under version 7's prefix")
	}
	v, back, err := UnstagedKey(k)
	if err != nil || v != 7 || !bytes.Equal(back, cl) {
		t.Fatalf("UnstagedKey(StagedKey(7, %x)) = %d, %x, %v", cl, v, back, err)
	}
	for _, bad := range [][]byte{nil, StagedPrefix(), StagedVersionPrefix(7), cl} {
		if _, _, err := UnstagedKey(bad); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("UnstagedKey(%x) = %v, want ErrCorrupt", bad, err)
		}
	}
	if v, err := DecodeStagedLive(StagedLiveValue(1 << 40)); err != nil || v != 1<<40 {
		t.Fatalf("DecodeStagedLive(StagedLiveValue(2^40)) = %d, %v", v, err)
	}
	for _, bad := range [][]byte{nil, make([]byte, 7), make([]byte, 9)} {
		if _, err := DecodeStagedLive(bad); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("DecodeStagedLive(%x) = %v, want ErrCorrupt", bad, err)
		}
	}
}
