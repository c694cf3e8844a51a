package record

import (
	"hash/crc32"
	"math/bits"

	"github.com/streamauth/streamauth/keys"
)

// The checksum of a hot record in its store form is the CRC-32C of the
// digest prefix followed by the record's 91 bytes before it. keyChecksum
// computes it without handing the prefix to hash/crc32: hash/crc32 calls
// its hardware routine through a function variable, so any slice passed
// to it escapes to the heap, and the prefix is most often a window on the
// caller's digest, which lives on the stack (in Authenticate). Passing it
// would cost that caller an allocation on every lookup.
//
// CRC-32C is linear, which lets the prefix's share be added afterwards.
// Write raw(s, m) for the CRC register after feeding message m from state
// s, without the initial and final inversions, and Z_n(s) = raw(s, n zero
// bytes), so that crc32.Checksum(m) = ^raw(^0, m). Over GF(2),
// raw(s, m) = Z_len(m)(s) ^ raw(0, m), and the Z_n are linear. For a prefix
// p of 16 bytes and a body b of 91, that gives
//
//	Checksum(p ‖ b) = Checksum(b) ^ Z_91(raw(^0, p) ^ ^0)
//	                = Checksum(b) ^ K ^ U_0[p[0]] ^ … ^ U_15[p[15]]
//
// with K = Z_91(Z_16(^0) ^ ^0) and U_i[x] = Z_(106-i)(T[x]), where T is the
// CRC-32C byte table: byte x at offset i of the prefix, followed by the
// rest of the prefix and the body, each a zero byte in the raw register's
// eyes. Checksum(b) runs on the hardware (b is the store's value, on the
// heap already); the prefix's share is 16 lookups in 16 tables of 256
// words (16 KiB), which the processor overlaps with it: the check costs
// what a CRC-32C of 107 contiguous bytes did.

// keySumTables holds the U_i; keySumK is K.
var (
	keySumTables [keys.PrefixSize][256]uint32
	keySumK      uint32
)

// zeroBytes returns Z_n(s): the raw CRC-32C register s after n zero bytes.
func zeroBytes(s uint32, n int) uint32 {
	for range n {
		s = s>>8 ^ castagnoli[s&0xff]
	}
	return s
}

func init() {
	const bodyLen = keyStoreLen
	// Each U_i is linear in x: its 256 entries are the XORs of the
	// entries of x's bits, and U_i of a bit is U_(i+1) of it after one
	// more zero byte.
	var basis [8]uint32
	for b := range basis {
		basis[b] = zeroBytes(castagnoli[1<<b], bodyLen)
	}
	for i := keys.PrefixSize - 1; i >= 0; i-- {
		t := &keySumTables[i]
		for x := 1; x < 256; x++ {
			t[x] = t[x&(x-1)] ^ basis[bits.TrailingZeros(uint(x))]
		}
		for b := range basis {
			basis[b] = zeroBytes(basis[b], 1)
		}
	}
	keySumK = zeroBytes(zeroBytes(^uint32(0), keys.PrefixSize)^^uint32(0), bodyLen)
}

// keyChecksum is the checksum of a hot record in its store form: the
// CRC-32C of prefix ‖ body, where body is the record's keyStoreLen bytes
// before its checksum. It does not let prefix escape.
func keyChecksum(prefix *[keys.PrefixSize]byte, body []byte) uint32 {
	t := &keySumTables
	// Four chains of XORs rather than one, so that the loads overlap.
	a := keySumK ^ t[0][prefix[0]] ^ t[1][prefix[1]] ^ t[2][prefix[2]] ^ t[3][prefix[3]]
	b := t[4][prefix[4]] ^ t[5][prefix[5]] ^ t[6][prefix[6]] ^ t[7][prefix[7]]
	c := t[8][prefix[8]] ^ t[9][prefix[9]] ^ t[10][prefix[10]] ^ t[11][prefix[11]]
	d := t[12][prefix[12]] ^ t[13][prefix[13]] ^ t[14][prefix[14]] ^ t[15][prefix[15]]
	return crc32.Checksum(body, castagnoli) ^ a ^ b ^ c ^ d
}
