package scram

import (
	"bytes"
	"encoding/base64"
	"unicode/utf8"
)

// Bounds on what a client sends. A message longer than MaxMessageLen is
// refused before it is parsed. The bound fits the longest message a client
// can need: a gs2 header with an authorization identity, a username of
// MaxUsernameLen bytes that are all ',' or '=' (each escaped to 3 bytes)
// and a nonce of MaxNonceLen bytes come to 1802 bytes, leaving room for
// extensions; a client-final-message is shorter than its client-first.
const (
	// MaxMessageLen bounds each client message, in bytes.
	MaxMessageLen = 2048
	// MaxUsernameLen bounds a username, in bytes once its escapes are
	// decoded.
	MaxUsernameLen = 256
	// MaxNonceLen bounds the client's part of the nonce, in bytes.
	MaxNonceLen = 256
)

// strictBase64 decodes proofs: standard alphabet, padded, unused bits zero.
var strictBase64 = base64.StdEncoding.Strict()

// base64Chars marks the bytes of the standard base64 alphabet and '='.
var base64Chars = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") {
		t[c] = true
	}
	return t
}()

// clientFirst is a parsed client-first-message. Its slices point into the
// message.
type clientFirst struct {
	gs2   []byte // the gs2 header, with its trailing ','
	bare  []byte // client-first-message-bare: the rest
	name  []byte // the username as sent, escapes not decoded
	nonce []byte // the client's nonce
}

// checkMessage applies the checks common to both client messages.
func checkMessage(msg []byte) error {
	switch {
	case len(msg) == 0:
		return errEmpty
	case len(msg) > MaxMessageLen:
		return errTooLong
	case bytes.IndexByte(msg, 0) >= 0 || !utf8.Valid(msg):
		return errEncoding
	}
	return nil
}

// cut splits b at its first ',': the field before it, and the rest from
// the ',' on (empty if there is none).
func cut(b []byte) (field, rest []byte) {
	if i := bytes.IndexByte(b, ','); i >= 0 {
		return b[:i], b[i:]
	}
	return b, b[len(b):]
}

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

// parseClientFirst parses
//
//	client-first-message = gs2-header client-first-message-bare
//	gs2-header = ("n" / "y") "," ["a=" saslname] ","
//	client-first-message-bare = "n=" saslname "," "r=" c-nonce *("," extension)
//
// refusing "p=" (channel binding) and "m=" (mandatory extensions), and an
// authorization identity other than the username. It does not decode the
// username; decodeName does.
func parseClientFirst(msg []byte) (p clientFirst, err error) {
	if err := checkMessage(msg); err != nil {
		return p, err
	}
	switch msg[0] {
	case 'n', 'y':
	case 'p':
		return p, errChannelBinding
	default:
		return p, errGS2
	}
	if len(msg) < 2 || msg[1] != ',' {
		return p, errGS2
	}
	authz, rest := cut(msg[2:])
	if len(authz) > 0 && (!hasPrefix(authz, "a=") || len(authz) == 2) || len(rest) == 0 {
		return p, errGS2
	}
	p.bare = rest[1:]
	p.gs2 = msg[:len(msg)-len(p.bare)]

	rest = p.bare
	if hasPrefix(rest, "m=") {
		return p, errMandatoryExt
	}
	if !hasPrefix(rest, "n=") {
		return p, errUsername
	}
	p.name, rest = cut(rest[2:])
	if len(p.name) == 0 {
		return p, errUsername
	}
	if len(authz) > 0 && !bytes.Equal(authz[2:], p.name) {
		// Escaping is canonical (a ',' or '=' must be escaped, and only
		// "=2C" and "=3D" are escapes), so equal names are equal bytes.
		return p, errAuthzid
	}
	if len(rest) == 0 || !hasPrefix(rest[1:], "r=") {
		return p, errNonce
	}
	p.nonce, rest = cut(rest[3:])
	if len(p.nonce) == 0 || len(p.nonce) > MaxNonceLen || !printable(p.nonce) {
		return p, errNonce
	}
	for len(rest) > 0 {
		var ext []byte
		ext, rest = cut(rest[1:])
		if !extension(ext) {
			return p, errExtension
		}
	}
	return p, nil
}

// printable reports whether b is printable ASCII without ',': RFC 5802's
// "printable", the alphabet of nonces.
func printable[T string | []byte](b T) bool {
	for i := range len(b) {
		c := b[i]
		if c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

// extension reports whether b is an extension this server ignores: a name
// of ASCII letters, '=' and a non-empty value, the name not one of the
// attributes SCRAM defines. RFC 5802 allows a one-letter name only; Kafka
// sends "tokenauth=true", so longer names are accepted. The value's bytes
// were checked with the whole message (UTF-8, no NUL; no ',' by
// construction).
func extension(b []byte) bool {
	i := bytes.IndexByte(b, '=')
	if i < 1 || i == len(b)-1 {
		return false
	}
	for _, c := range b[:i] {
		if (c|0x20) < 'a' || (c|0x20) > 'z' {
			return false
		}
	}
	if i == 1 {
		switch b[0] {
		case 'a', 'c', 'e', 'i', 'm', 'n', 'p', 'r', 's', 'v':
			return false
		}
	}
	return true
}

// decodeName decodes a saslname into dst: "=2C" is ',' and "=3D" is '=';
// any other '=' is refused, as RFC 5802 requires. It returns the decoded
// length, at least 1 and at most MaxUsernameLen.
func decodeName(dst *[MaxUsernameLen]byte, name []byte) (int, error) {
	n := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '=' {
			switch {
			case hasPrefix(name[i+1:], "2C"):
				c = ','
			case hasPrefix(name[i+1:], "3D"):
				c = '='
			default:
				return 0, errUsernameEscape
			}
			i += 2
		}
		if n == len(dst) {
			return 0, errUsernameLong
		}
		dst[n] = c
		n++
	}
	if n == 0 {
		return 0, errUsername
	}
	return n, nil
}

// parseClientFinal parses
//
//	client-final-message = "c=" base64 "," "r=" nonce *("," extension) "," "p=" base64
//
// given the base64 of the gs2 header that "c=" must repeat exactly, the
// whole nonce "r=" must repeat exactly, and the hash size. It decodes the
// proof into proof[:size] and returns client-final-message-without-proof:
// the message up to the ',' before "p=".
func parseClientFinal(msg, binding, nonce []byte, size int, proof *[maxHashSize + 2]byte) (withoutProof []byte, err error) {
	if err := checkMessage(msg); err != nil {
		return nil, err
	}
	if !hasPrefix(msg, "c=") {
		return nil, errBinding
	}
	field, rest := cut(msg[2:])
	if !bytes.Equal(field, binding) {
		return nil, errBinding
	}
	if len(rest) == 0 || !hasPrefix(rest[1:], "r=") {
		return nil, errNonceMismatch
	}
	field, rest = cut(rest[3:])
	if !bytes.Equal(field, nonce) {
		return nil, errNonceMismatch
	}
	for {
		if len(rest) == 0 {
			return nil, errProof // no proof
		}
		field, rest = cut(rest[1:])
		if len(rest) > 0 {
			if hasPrefix(field, "p=") {
				return nil, errProof // not last
			}
			if !extension(field) {
				return nil, errExtension
			}
			continue
		}
		// The last field: the proof.
		if !hasPrefix(field, "p=") || !decodeProof(proof, field[2:], size) {
			return nil, errProof
		}
		return msg[:len(msg)-len(field)-1], nil
	}
}

// decodeProof decodes the base64 of exactly size bytes, in its one
// canonical form: the exact length, padding, the standard alphabet only
// (encoding/base64 would skip '\r' and '\n'), unused bits zero.
func decodeProof(dst *[maxHashSize + 2]byte, enc []byte, size int) bool {
	if len(enc) != base64.StdEncoding.EncodedLen(size) {
		return false
	}
	for _, c := range enc {
		if !base64Chars[c] {
			return false
		}
	}
	n, err := strictBase64.Decode(dst[:], enc)
	return err == nil && n == size
}
