package keys

// hexValue maps an ASCII byte to its value as a lowercase hex digit, or to
// 0xff for every other byte (uppercase included: the formats are lowercase
// only, so that each secret and identifier has exactly one spelling).
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// decodeHex decodes len(dst)*2 lowercase hex digits of src into dst. It
// reports false if any digit is invalid. It does not allocate.
func decodeHex(dst []byte, src string) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	var bad byte
	for i := range dst {
		hi, lo := hexValue[src[2*i]], hexValue[src[2*i+1]]
		bad |= hi | lo
		dst[i] = hi<<4 | lo&0x0f
	}
	// Valid digits are < 16; 0xff marks an invalid one.
	return bad&0xf0 == 0
}

// appendHex appends the lowercase hex encoding of src to dst.
func appendHex(dst, src []byte) []byte {
	for _, b := range src {
		dst = append(dst, hexDigits[b>>4], hexDigits[b&0x0f])
	}
	return dst
}
