package keys

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// Known answers for the secret kat, computed outside Go (Python hashlib and
// hmac): SHA-256 of its 32 bytes, and HMAC-SHA-256 of them under the 32-byte
// pepper 0x40…0x5f.
const (
	katSHA256     = "b2e457b11fb8fbdcfed40356040f65d57eb6cb22dd0da55dacb0fcd3c60dd203"
	katHMACSHA256 = "f5c8e709bcde48406262231608a10b770e36516955c61713f6bea560af32f96a"
)

func katPepper() []byte {
	p := make([]byte, 32)
	for i := range p {
		p[i] = byte(0x40 + i)
	}
	return p
}

// secretBytesOf returns the 32 bytes of s by decoding the hex of Reveal, as
// an outside caller would, not by reading the field.
func secretBytesOf(t testing.TB, s *Secret) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s.Reveal(), SecretPrefix))
	if err != nil || len(b) != 32 {
		t.Fatalf("decoding Reveal(): %v (%d bytes)", err, len(b))
	}
	return b
}

func digestBytes(t testing.TB, d Digest) []byte {
	t.Helper()
	b, err := d.AppendBinary(nil)
	if err != nil {
		t.Fatalf("AppendBinary: %v", err)
	}
	if len(b) != DigestSize {
		t.Fatalf("AppendBinary gave %d bytes, want %d", len(b), DigestSize)
	}
	return b
}

func mustHasher(t testing.TB, pepper []byte) *Hasher {
	t.Helper()
	h, err := NewHasher(pepper)
	if err != nil {
		t.Fatalf("NewHasher(%d bytes): %v", len(pepper), err)
	}
	if h == nil {
		t.Fatalf("NewHasher(%d bytes) returned nil", len(pepper))
	}
	return h
}

func refHMAC(pepper, msg []byte) []byte {
	m := hmac.New(sha256.New, pepper)
	m.Write(msg)
	return m.Sum(nil)
}

func TestHasherKnownAnswers(t *testing.T) {
	s, err := ParseSecret(kat)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(digestBytes(t, mustHasher(t, nil).Digest(&s))); got != katSHA256 {
		t.Errorf("SHA-256 digest of kat = %s, want %s", got, katSHA256)
	}
	if got := hex.EncodeToString(digestBytes(t, mustHasher(t, katPepper()).Digest(&s))); got != katHMACSHA256 {
		t.Errorf("HMAC-SHA-256 digest of kat = %s, want %s", got, katHMACSHA256)
	}
	for pepper, want := range map[string]string{"": katSHA256, string(katPepper()): katHMACSHA256} {
		d, err := mustHasher(t, []byte(pepper)).DigestText(kat)
		if err != nil {
			t.Fatalf("DigestText(kat) with a %d-byte pepper: %v", len(pepper), err)
		}
		if got := hex.EncodeToString(digestBytes(t, d)); got != want {
			t.Errorf("DigestText(kat) with a %d-byte pepper = %s, want %s", len(pepper), got, want)
		}
	}
}

// TestDigestTextErrors checks that DigestText refuses what ParseSecret
// refuses, with the same error and a zero digest.
func TestDigestTextErrors(t *testing.T) {
	h := mustHasher(t, nil)
	for _, in := range []string{"", kat[:len(kat)-1], "akx_" + kat[4:], kat[:10] + "G" + kat[11:], flipLastDigit(kat)} {
		_, want := ParseSecret(in)
		d, err := h.DigestText(in)
		if want == nil || err != want {
			t.Errorf("DigestText error %v, ParseSecret's %v", err, want)
		}
		if !d.Equal(Digest{}) {
			t.Errorf("DigestText returned a digest with its error %v", err)
		}
	}
}

func TestHasherPlainIsSHA256(t *testing.T) {
	for _, pepper := range [][]byte{nil, {}} {
		h := mustHasher(t, pepper)
		for range 100 {
			s := mustNewSecret(t)
			want := sha256.Sum256(secretBytesOf(t, &s))
			d := h.Digest(&s)
			if got := digestBytes(t, d); !bytes.Equal(got, want[:]) {
				t.Fatalf("Digest = %x, want sha256 %x", got, want)
			}
			if !d.EqualBytes(want[:]) {
				t.Fatal("EqualBytes(sha256) false")
			}
		}
	}
}

func TestHasherKeyedIsHMACSHA256(t *testing.T) {
	for _, n := range []int{16, 17, 32, 63, 64} {
		pepper := make([]byte, n)
		for i := range pepper {
			pepper[i] = byte(7*i + n)
		}
		h := mustHasher(t, pepper)
		for range 50 {
			s := mustNewSecret(t)
			want := refHMAC(pepper, secretBytesOf(t, &s))
			if got := digestBytes(t, h.Digest(&s)); !bytes.Equal(got, want) {
				t.Fatalf("pepper of %d bytes: Digest = %x, want HMAC-SHA256 %x", n, got, want)
			}
			plain := sha256.Sum256(secretBytesOf(t, &s))
			if d := h.Digest(&s); d.EqualBytes(plain[:]) {
				t.Fatalf("pepper of %d bytes: keyed digest equals plain SHA-256", n)
			}
		}
	}
}

// TestHasherCopiesPepper checks that changing the caller's pepper slice
// after NewHasher changes nothing.
func TestHasherCopiesPepper(t *testing.T) {
	pepper := katPepper()
	h := mustHasher(t, pepper)
	for i := range pepper {
		pepper[i] = 0
	}
	s, _ := ParseSecret(kat)
	if got := hex.EncodeToString(digestBytes(t, h.Digest(&s))); got != katHMACSHA256 {
		t.Errorf("after the pepper slice was cleared, digest = %s, want %s", got, katHMACSHA256)
	}
}

func TestHasherPepperLength(t *testing.T) {
	for _, n := range []int{1, 8, 15, 65, 128} {
		h, err := NewHasher(make([]byte, n))
		if err == nil {
			t.Errorf("NewHasher(%d bytes) accepted", n)
			continue
		}
		if h != nil {
			t.Errorf("NewHasher(%d bytes) returned a Hasher with error %v", n, err)
		}
		if want := "keys: pepper must be 16 to 64 bytes"; err.Error() != want {
			t.Errorf("NewHasher(%d bytes) error %q, want %q", n, err, want)
		}
	}
	for _, n := range []int{0, 16, 64} {
		if _, err := NewHasher(make([]byte, n)); err != nil {
			t.Errorf("NewHasher(%d bytes): %v", n, err)
		}
	}
}

func TestHasherPeppersDiffer(t *testing.T) {
	s := mustNewSecret(t)
	p1, p2 := katPepper(), katPepper()
	p2[31] ^= 1
	d0 := mustHasher(t, nil).Digest(&s)
	d1 := mustHasher(t, p1).Digest(&s)
	d2 := mustHasher(t, p2).Digest(&s)
	if d0.Equal(d1) || d1.Equal(d2) || d0.Equal(d2) {
		t.Error("digests under different peppers are Equal")
	}
	if again := mustHasher(t, p1).Digest(&s); !again.Equal(d1) {
		t.Error("same pepper, same secret: digests differ")
	}
}

func TestHasherDigestAllocs(t *testing.T) {
	s := mustNewSecret(t)
	var sink Digest
	for _, pepper := range [][]byte{nil, katPepper(), make([]byte, 64)} {
		h := mustHasher(t, pepper)
		assertNoAllocs(t, fmt.Sprintf("Digest with a %d-byte pepper", len(pepper)), func() { sink = h.Digest(&s) })
		text := s.Reveal()
		assertNoAllocs(t, fmt.Sprintf("DigestText with a %d-byte pepper", len(pepper)), func() { sink, _ = h.DigestText(text) })
	}
	_ = sink
}

func TestHasherConcurrent(t *testing.T) {
	h := mustHasher(t, katPepper())
	s, _ := ParseSecret(kat)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				d := h.Digest(&s)
				b, _ := d.AppendBinary(nil)
				if hex.EncodeToString(b) != katHMACSHA256 {
					t.Error("concurrent Digest gave a wrong result")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestDigestEqual(t *testing.T) {
	h := mustHasher(t, nil)
	s1, s2 := mustNewSecret(t), mustNewSecret(t)
	d1, d2 := h.Digest(&s1), h.Digest(&s2)
	d1again := h.Digest(&s1)
	if !d1.Equal(d1again) || !d1again.Equal(d1) {
		t.Error("Equal false for equal digests")
	}
	if d1.Equal(d2) {
		t.Error("Equal true for different digests")
	}
	b1 := digestBytes(t, d1)
	if !d1.EqualBytes(b1) {
		t.Error("EqualBytes false for its own bytes")
	}
	if !d1.EqualWords(words(b1)) {
		t.Error("EqualWords false for its own words")
	}
	if d2.EqualBytes(b1) {
		t.Error("EqualBytes true for another digest's bytes")
	}
	for i := range DigestSize * 8 {
		c := bytes.Clone(b1)
		c[i/8] ^= 1 << (i % 8)
		if d1.EqualBytes(c) {
			t.Errorf("EqualBytes true with bit %d of byte %d flipped", i%8, i/8)
		}
		if d1.EqualWords(words(c)) {
			t.Errorf("EqualWords true with bit %d of byte %d flipped", i%8, i/8)
		}
		e, err := DigestFromBytes(c)
		if err != nil {
			t.Fatal(err)
		}
		if d1.Equal(e) {
			t.Errorf("Equal true with bit %d of byte %d flipped", i%8, i/8)
		}
	}
	for _, b := range [][]byte{nil, {}, b1[:31], append(bytes.Clone(b1), 0), b1[:PrefixSize]} {
		if d1.EqualBytes(b) {
			t.Errorf("EqualBytes true for %d bytes", len(b))
		}
	}
}

// words returns the four little-endian words of a 32-byte digest.
func words(b []byte) (w0, w1, w2, w3 uint64) {
	le := binary.LittleEndian
	return le.Uint64(b), le.Uint64(b[8:]), le.Uint64(b[16:]), le.Uint64(b[24:])
}

func TestDigestPrefix(t *testing.T) {
	s, _ := ParseSecret(kat)
	d := mustHasher(t, nil).Digest(&s)
	p := d.Prefix()
	want, _ := hex.DecodeString(katSHA256[:2*PrefixSize])
	if !bytes.Equal(p[:], want) {
		t.Errorf("Prefix = %x, want %x", p[:], want)
	}
	if len(p) != 16 || PrefixSize != 16 {
		t.Errorf("len(Prefix()) = %d, PrefixSize = %d, want 16", len(p), PrefixSize)
	}
	if !bytes.Equal(p[:], digestBytes(t, d)[:PrefixSize]) {
		t.Error("Prefix is not the first PrefixSize bytes of AppendBinary")
	}
}

func TestDigestFromBytes(t *testing.T) {
	s := mustNewSecret(t)
	d := mustHasher(t, katPepper()).Digest(&s)
	b := digestBytes(t, d)
	e, err := DigestFromBytes(b)
	if err != nil {
		t.Fatalf("DigestFromBytes: %v", err)
	}
	if !e.Equal(d) {
		t.Error("DigestFromBytes(AppendBinary) not Equal")
	}
	// DigestFromBytes copies its argument.
	b[0] ^= 0xff
	if !e.Equal(d) {
		t.Error("changing the source slice changed the digest")
	}
	// AppendBinary appends.
	out, err := d.AppendBinary([]byte("x:"))
	if err != nil || string(out[:2]) != "x:" || !d.EqualBytes(out[2:]) || len(out) != 2+DigestSize {
		t.Errorf("AppendBinary onto a prefix = %x, %v", out, err)
	}
	for _, n := range []int{0, 1, 16, 31, 33, 64} {
		if _, err := DigestFromBytes(make([]byte, n)); err == nil {
			t.Errorf("DigestFromBytes(%d bytes) accepted", n)
		}
	}
	if _, err := DigestFromBytes(nil); err == nil {
		t.Error("DigestFromBytes(nil) accepted")
	}
	if z, err := DigestFromBytes(make([]byte, DigestSize)); err != nil || !z.Equal(Digest{}) {
		t.Errorf("DigestFromBytes(32 zero bytes) = %v, %v", z, err)
	}
}

func TestDigestString(t *testing.T) {
	s, _ := ParseSecret(kat)
	d := mustHasher(t, nil).Digest(&s)
	want := "sha256:" + katSHA256[:12] + "…"
	if got := d.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%20v"} {
		got := fmt.Sprintf(verb, d)
		if got != want {
			t.Errorf("Sprintf(%q, d) = %q, want %q", verb, got, want)
		}
	}
	if got := fmt.Sprintf("%v", &d); got != want {
		t.Errorf("Sprintf(%%v, &d) = %q, want %q", got, want)
	}
	type row struct{ D Digest }
	if got := fmt.Sprintf("%+v", row{d}); got != "{D:"+want+"}" {
		t.Errorf("struct field: %q", got)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "d", d)
	for label, out := range map[string]string{
		"String": d.String(), "Sprint": fmt.Sprint(d), "%x": fmt.Sprintf("%x", d), "slog": buf.String(),
	} {
		if !strings.Contains(out, katSHA256[:12]) {
			t.Errorf("%s: %q lacks the fingerprint", label, out)
		}
		for i := 12; i+16 <= len(katSHA256); i += 4 {
			if strings.Contains(out, katSHA256[i:i+16]) {
				t.Errorf("%s: %q contains digest hex beyond the fingerprint", label, out)
				break
			}
		}
	}
	if !strings.Contains(buf.String(), `d=sha256:`+katSHA256[:12]+"…") {
		t.Errorf("slog: %q", buf.String())
	}
}
