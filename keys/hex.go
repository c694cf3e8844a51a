package keys

import (
	"encoding/binary"
	"unsafe"
)

const hexDigits = "0123456789abcdef"

// Byte-lane constants of the eight-digit decoder: each repeats one byte in
// all eight byte lanes of a uint64.
const (
	hexLanes    = 0x0101010101010101
	hexHighBits = 0x80 * hexLanes
)

// decodeHex decodes len(dst)*2 lowercase hex digits of src into dst. It
// reports false if any digit is invalid (uppercase included: the formats are
// lowercase only, so that each secret and identifier has exactly one
// spelling). It does not allocate.
//
// Its time depends on len(src) alone: it has no branch and no memory access
// that depends on a digit's value, so a secret's digits do not show in its
// timing or in the cache.
func decodeHex(dst []byte, src string) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	var bad uint64
	for len(dst) >= 4 {
		n, b := hexLane(binary.LittleEndian.Uint64([]byte(src[:8])))
		binary.LittleEndian.PutUint32(dst, n)
		bad |= b
		src, dst = src[8:], dst[4:]
	}
	if len(dst) > 0 {
		pad := [8]byte{'0', '0', '0', '0', '0', '0', '0', '0'}
		copy(pad[:], src)
		n, b := hexLane(binary.LittleEndian.Uint64(pad[:]))
		var out [4]byte
		binary.LittleEndian.PutUint32(out[:], n)
		copy(dst, out[:])
		bad |= b
	}
	return bad == 0
}

// decodeSecretHex is decodeHex of a secret's 64 digits, by decodeHex64
// where the processor has SSSE3.
func decodeSecretHex(dst *[secretBytes]byte, src string) bool {
	if useSSSE3 && len(src) == 2*secretBytes {
		return decodeHex64(dst, unsafe.StringData(src))
	}
	return decodeHex(dst[:], src)
}

// hexLane decodes the eight digits in the byte lanes of x (the first in
// the low byte) into four bytes, the first in the low byte, and returns
// with them a word that is 0 if every digit is valid.
func hexLane(x uint64) (uint32, uint64) {
	// For a byte c below 0x80, adding 0x80-lo sets its lane's high bit
	// exactly when c >= lo, and adding 0x7f-hi exactly when c > hi;
	// neither sum carries into the next lane. A byte of 0x80 or more may
	// carry into the next lane, but it is bad itself, so the whole input
	// is refused whatever the other lanes say.
	digit := (x + (0x80-'0')*hexLanes) &^ (x + (0x7f-'9')*hexLanes)
	letter := (x + (0x80-'a')*hexLanes) &^ (x + (0x7f-'f')*hexLanes)
	bad := (x | ^(digit | letter)) & hexHighBits
	// A digit's value is its low nibble; a letter's (bit 6 set) is its
	// low nibble plus 9. Then each pair of nibbles is joined into a byte,
	// in every other lane, and the four bytes are gathered.
	n := x&(0x0f*hexLanes) + ((x>>6)&hexLanes)*9
	n = (n<<4 | n>>8) & 0x00ff00ff00ff00ff
	n = (n | n>>8) & 0x0000ffff0000ffff
	return uint32(n | n>>16), bad
}

// appendHex appends the lowercase hex encoding of src to dst.
func appendHex(dst, src []byte) []byte {
	for _, b := range src {
		dst = append(dst, hexDigits[b>>4], hexDigits[b&0x0f])
	}
	return dst
}
