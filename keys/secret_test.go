package keys

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// kat is a known-answer secret: the 28 bytes 0x00…0x1b followed by their
// CRC-32C, big-endian. Computed outside Go (bitwise CRC-32C in Python).
const kat = "aks_000102030405060708090a0b0c0d0e0f101112131415161718191a1b64dec9c1"

var secretShape = regexp.MustCompile(`^aks_[0-9a-f]{64}$`)

// assertNoAllocs fails if f allocates. It skips under the race detector,
// which changes allocation counts.
func assertNoAllocs(t *testing.T, name string, f func()) {
	t.Helper()
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	if n := testing.AllocsPerRun(100, f); n != 0 {
		t.Errorf("%s: %v allocations per run, want 0", name, n)
	}
}

// crc32cBitwise is CRC-32C computed bit by bit, independent of hash/crc32.
func crc32cBitwise(data []byte) uint32 {
	crc := ^uint32(0)
	for _, b := range data {
		crc ^= uint32(b)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x82f63b78
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

// secretText builds the text of the secret whose random part is data: the
// test's own rendition of the format.
func secretText(data *[randomBytes]byte) string {
	var body [secretBytes]byte
	copy(body[:], data[:])
	binary.BigEndian.PutUint32(body[randomBytes:], crc32.Checksum(data[:], crc32.MakeTable(crc32.Castagnoli)))
	return SecretPrefix + hex.EncodeToString(body[:])
}

func mustNewSecret(t testing.TB) Secret {
	t.Helper()
	s, err := NewSecret()
	if err != nil {
		t.Fatalf("NewSecret: %v", err)
	}
	return s
}

// checkRefused checks that ParseSecret refuses in with the reason want, a
// zero Secret and a message that does not quote the input.
func checkRefused(t *testing.T, label, in string, want error) {
	t.Helper()
	s, err := ParseSecret(in)
	if err == nil {
		t.Fatalf("%s: ParseSecret accepted %q", label, in)
	}
	if !errors.Is(err, ErrMalformedSecret) {
		t.Errorf("%s: error %v does not match ErrMalformedSecret", label, err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Errorf("%s: error %q, want %q", label, err, want)
	}
	if !s.IsZero() {
		t.Errorf("%s: refused secret is not zero", label)
	}
	msg := err.Error()
	if len(in) >= 8 && strings.Contains(msg, in) {
		t.Errorf("%s: error %q contains the input", label, msg)
	}
	if len(in) > len(SecretPrefix)+16 && strings.Contains(msg, in[len(SecretPrefix):len(SecretPrefix)+16]) {
		t.Errorf("%s: error %q contains part of the input", label, msg)
	}
}

func TestCRC32CKnownAnswer(t *testing.T) {
	if got := crc32cBitwise([]byte("123456789")); got != 0xe3069283 {
		t.Fatalf("bitwise CRC-32C check value = %#x, want 0xe3069283", got)
	}
	var data [randomBytes]byte
	for i := range data {
		data[i] = byte(i)
	}
	if got, want := checksum(&data), crc32cBitwise(data[:]); got != want {
		t.Fatalf("checksum = %#x, want CRC-32C %#x", got, want)
	}
	if got := secretText(&data); got != kat {
		t.Fatalf("secretText = %s, want %s", got, kat)
	}
}

func TestParseSecretKnownAnswer(t *testing.T) {
	s, err := ParseSecret(kat)
	if err != nil {
		t.Fatalf("ParseSecret(kat): %v", err)
	}
	if got := s.Reveal(); got != kat {
		t.Errorf("Reveal = %s, want %s", got, kat)
	}
	want, _ := hex.DecodeString(kat[len(SecretPrefix):])
	var plain [secretBytes]byte
	s.open(&plain)
	if !bytes.Equal(plain[:], want) {
		t.Errorf("bytes = %x, want %x", plain, want)
	}
	if bytes.Equal(s.m[:], want) {
		t.Error("secret held unmasked")
	}
	if s.IsZero() {
		t.Error("IsZero of a parsed secret")
	}
}

func TestParseSecretRoundTrip(t *testing.T) {
	for range 200 {
		s := mustNewSecret(t)
		text := s.Reveal()
		p, err := ParseSecret(text)
		if err != nil {
			t.Fatalf("ParseSecret(Reveal()): %v", err)
		}
		if !p.Equal(s) || !s.Equal(p) {
			t.Fatal("parsed secret not Equal to the original")
		}
		if got := p.Reveal(); got != text {
			t.Fatalf("Reveal after parse = %s, want %s", got, text)
		}
	}
	// Secrets built by the test's own rendition of the format parse too.
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var data [randomBytes]byte
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		text := secretText(&data)
		s, err := ParseSecret(text)
		if err != nil {
			t.Fatalf("ParseSecret(%s): %v", text, err)
		}
		if s.Reveal() != text {
			t.Fatalf("Reveal = %s, want %s", s.Reveal(), text)
		}
	}
}

// malformedSecrets lists one input for each way a secret can be malformed,
// with the reason ParseSecret must give.
func malformedSecrets(valid string) []struct {
	name string
	in   string
	want error
} {
	body := valid[len(SecretPrefix):]
	return []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", errSecretLength},
		{"prefix only", SecretPrefix, errSecretLength},
		{"67 bytes", valid[:67], errSecretLength},
		{"69 bytes", valid + "0", errSecretLength},
		{"1 MiB", SecretPrefix + strings.Repeat("0", 1<<20-len(SecretPrefix)), errSecretLength},
		{"no prefix", body, errSecretLength},
		{"whitespace around", " " + valid[:67], errSecretPrefix},
		{"trailing newline", valid[:67] + "\n", errSecretAlphabet},
		{"prefix akx_", "akx_" + body, errSecretPrefix},
		{"prefix AKS_", "AKS_" + body, errSecretPrefix},
		{"prefix aks-", "aks-" + body, errSecretPrefix},
		{"prefix aki_", "aki_" + body, errSecretPrefix},
		{"all uppercase hex", SecretPrefix + strings.ToUpper(body), errSecretAlphabet},
		{"one uppercase digit", SecretPrefix + "A" + body[1:], errSecretAlphabet},
		{"non-hex g", SecretPrefix + body[:10] + "g" + body[11:], errSecretAlphabet},
		{"non-hex space", SecretPrefix + body[:63] + " ", errSecretAlphabet},
		{"NUL", SecretPrefix + "\x00" + body[1:], errSecretAlphabet},
		{"invalid UTF-8 0xff", SecretPrefix + body[:20] + "\xff" + body[21:], errSecretAlphabet},
		{"invalid UTF-8 in prefix", "\xffks_" + body, errSecretPrefix},
		{"truncated UTF-8", SecretPrefix + body[:62] + "\xc3(", errSecretAlphabet},
		{"two-byte rune", SecretPrefix + body[:62] + "é", errSecretAlphabet},
		{"all zero", SecretPrefix + strings.Repeat("0", 64), errSecretChecksum},
		{"all f", SecretPrefix + strings.Repeat("f", 64), errSecretChecksum},
		{"checksum flipped", flipLastDigit(valid), errSecretChecksum},
	}
}

func TestParseSecretMalformed(t *testing.T) {
	valid := mustNewSecret(t).Reveal()
	for _, tc := range malformedSecrets(valid) {
		t.Run(tc.name, func(t *testing.T) {
			checkRefused(t, tc.name, tc.in, tc.want)
		})
	}
	for _, tc := range malformedSecrets(kat) {
		checkRefused(t, "kat "+tc.name, tc.in, tc.want)
	}
}

// TestParseSecretErrorMessages pins the messages, none of which depends on
// the input.
func TestParseSecretErrorMessages(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "keys: malformed secret: wrong length"},
		{"akx_" + kat[4:], "keys: malformed secret: wrong prefix"},
		{SecretPrefix + strings.Repeat("g", 64), "keys: malformed secret: not lowercase hex"},
		{SecretPrefix + strings.Repeat("0", 64), "keys: malformed secret: checksum mismatch"},
	} {
		_, err := ParseSecret(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParseSecret(%.12q…) error = %v, want %q", tc.in, err, tc.want)
		}
	}
}

// TestParseSecretSingleDigitMutations changes each of the 64 digits to each
// of the 15 other lowercase hex digits: every result must be refused for its
// checksum, and the uppercase spelling of a letter digit for its alphabet.
func TestParseSecretSingleDigitMutations(t *testing.T) {
	texts := []string{kat}
	for range 7 {
		texts = append(texts, mustNewSecret(t).Reveal())
	}
	for _, text := range texts {
		b := []byte(text)
		for i := len(SecretPrefix); i < SecretLen; i++ {
			orig := b[i]
			for _, d := range []byte(hexDigits) {
				if d == orig {
					continue
				}
				b[i] = d
				if _, err := ParseSecret(string(b)); !errors.Is(err, errSecretChecksum) {
					t.Errorf("digit %d %q→%q of %s: error %v, want checksum mismatch", i-len(SecretPrefix), orig, d, text, err)
				}
			}
			if 'a' <= orig && orig <= 'f' {
				b[i] = orig - 'a' + 'A'
				if _, err := ParseSecret(string(b)); !errors.Is(err, errSecretAlphabet) {
					t.Errorf("digit %d uppercased: error %v, want not lowercase hex", i-len(SecretPrefix), err)
				}
			}
			b[i] = orig
		}
		if _, err := ParseSecret(string(b)); err != nil {
			t.Fatalf("restored secret refused: %v", err)
		}
	}
}

// TestParseSecretTranspositions swaps each pair of neighbouring digits that
// differ. It covers every position and every ordered pair of distinct digits
// exhaustively: for each, it builds a valid secret that has those digits
// there (searching random data when the pair falls in the checksum).
func TestParseSecretTranspositions(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const digits = 2 * secretBytes
	const dataDigits = 2 * randomBytes
	for i := 0; i+1 < digits; i++ {
		for a := range 16 {
			for c := range 16 {
				if a == c {
					continue
				}
				text := secretWithDigits(t, r, i, byte(a), byte(c))
				b := []byte(text)
				p := len(SecretPrefix) + i
				b[p], b[p+1] = b[p+1], b[p]
				if _, err := ParseSecret(string(b)); !errors.Is(err, errSecretChecksum) {
					where := "data"
					if i+1 >= dataDigits {
						where = "checksum"
					}
					t.Errorf("swap of digits %d,%d (%x,%x, %s) in %s accepted or wrong reason: %v",
						i, i+1, a, c, where, text, err)
				}
			}
		}
	}
	// And random secrets, every adjacent pair.
	for range 50 {
		text := mustNewSecret(t).Reveal()
		for p := len(SecretPrefix); p+1 < SecretLen; p++ {
			if text[p] == text[p+1] {
				continue
			}
			b := []byte(text)
			b[p], b[p+1] = b[p+1], b[p]
			if _, err := ParseSecret(string(b)); err == nil {
				t.Errorf("swap at %d of %s accepted", p, text)
			}
		}
	}
}

// secretWithDigits returns a valid secret text whose body digits i and i+1
// are a and c.
func secretWithDigits(t *testing.T, r *rand.Rand, i int, a, c byte) string {
	t.Helper()
	setNibble := func(data *[randomBytes]byte, d int, v byte) {
		if d >= 2*randomBytes {
			return
		}
		if d%2 == 0 {
			data[d/2] = data[d/2]&0x0f | v<<4
		} else {
			data[d/2] = data[d/2]&0xf0 | v
		}
	}
	want := [2]byte{hexDigits[a], hexDigits[c]}
	for range 1 << 16 {
		var data [randomBytes]byte
		for k := range data {
			data[k] = byte(r.Uint32())
		}
		setNibble(&data, i, a)
		setNibble(&data, i+1, c)
		text := secretText(&data)
		p := len(SecretPrefix) + i
		if text[p] == want[0] && text[p+1] == want[1] {
			return text
		}
	}
	t.Fatalf("no secret found with digits %x,%x at %d", a, c, i)
	return ""
}

func TestParseSecretAllocs(t *testing.T) {
	valid := mustNewSecret(t).Reveal()
	var sink Secret
	var sinkErr error
	assertNoAllocs(t, "valid", func() { sink, sinkErr = ParseSecret(valid) })
	if sinkErr != nil || sink.Reveal() != valid {
		t.Fatalf("valid secret: %v", sinkErr)
	}
	for _, tc := range malformedSecrets(valid) {
		assertNoAllocs(t, tc.name, func() { sink, sinkErr = ParseSecret(tc.in) })
		if !errors.Is(sinkErr, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, sinkErr, tc.want)
		}
	}
}

func TestNewSecret(t *testing.T) {
	const n = 1000
	seen := make(map[string]bool, n)
	for range n {
		s := mustNewSecret(t)
		text := s.Reveal()
		if len(text) != SecretLen || SecretLen != 68 {
			t.Fatalf("len(Reveal()) = %d, SecretLen = %d, want 68", len(text), SecretLen)
		}
		if !secretShape.MatchString(text) {
			t.Fatalf("Reveal() = %q does not have the shape aks_ + 64 lowercase hex", text)
		}
		if seen[text] {
			t.Fatalf("NewSecret repeated %s", text)
		}
		seen[text] = true
		p, err := ParseSecret(text)
		if err != nil {
			t.Fatalf("ParseSecret(NewSecret().Reveal()): %v", err)
		}
		if !p.Equal(s) {
			t.Fatal("parsed new secret not Equal")
		}
		if s.IsZero() {
			t.Fatal("new secret IsZero")
		}
	}
}

// TestNewSecretDeterministic checks what newSecret does with its random
// bytes: 28 of them, then the checksum.
func TestNewSecretDeterministic(t *testing.T) {
	var data [64]byte
	for i := range data {
		data[i] = byte(i)
	}
	r := bytes.NewReader(data[:])
	s, err := newSecret(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Reveal(); got != kat {
		t.Errorf("newSecret(0x00…) = %s, want %s", got, kat)
	}
	if r.Len() != 64-randomBytes {
		t.Errorf("newSecret read %d bytes, want %d", 64-r.Len(), randomBytes)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestNewSecretReaderFailure(t *testing.T) {
	for _, r := range []io.Reader{failingReader{}, bytes.NewReader(make([]byte, randomBytes-1)), bytes.NewReader(nil)} {
		s, err := newSecret(r)
		if err == nil {
			t.Fatalf("newSecret(%T) succeeded", r)
		}
		if !s.IsZero() {
			t.Errorf("newSecret(%T) returned a non-zero secret with error %v", r, err)
		}
		if !strings.HasPrefix(err.Error(), "keys: reading random bytes: ") {
			t.Errorf("error %q", err)
		}
	}
}

func TestSecretEqualAndIsZero(t *testing.T) {
	s, _ := ParseSecret(kat)
	s2, _ := ParseSecret(kat)
	o := mustNewSecret(t)
	var zero Secret
	switch {
	case !s.Equal(s2):
		t.Error("two parses of one text not Equal")
	case s.Equal(o) || o.Equal(s):
		t.Error("different secrets Equal")
	case s.Equal(zero) || zero.Equal(s):
		t.Error("secret Equal to zero")
	case !zero.Equal(Secret{}):
		t.Error("zero not Equal to zero")
	case !zero.IsZero():
		t.Error("zero Secret not IsZero")
	case s.IsZero():
		t.Error("parsed secret IsZero")
	}
	// Secrets differing in one bit only are not Equal.
	for i := range secretBytes {
		t2 := s
		t2.m[i] ^= 1
		if s.Equal(t2) || t2.IsZero() {
			t.Errorf("bit flip in byte %d: Equal or IsZero", i)
		}
	}
	// The zero Secret's text is refused.
	if _, err := ParseSecret(zero.Reveal()); !errors.Is(err, errSecretChecksum) {
		t.Errorf("ParseSecret(zero.Reveal()) error %v, want checksum mismatch", err)
	}
}

// flipLastDigit returns s with its last digit changed to another valid
// one: for a secret, a checksum that no longer matches.
func flipLastDigit(s string) string {
	b := []byte(s)
	if b[len(b)-1] == '0' {
		b[len(b)-1] = '1'
	} else {
		b[len(b)-1] = '0'
	}
	return string(b)
}
