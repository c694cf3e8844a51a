package keys

import "testing"

func BenchmarkParseSecret(b *testing.B) {
	s, err := NewSecret()
	if err != nil {
		b.Fatal(err)
	}
	text := s.Reveal()
	bad := flipLastDigit(text)
	b.Run("valid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseSecret(text); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("checksum", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseSecret(bad); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}

func BenchmarkDigest(b *testing.B) {
	s, err := NewSecret()
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		pepper []byte
	}{{"sha256", nil}, {"hmac", make([]byte, 32)}} {
		h, err := NewHasher(tc.pepper)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = h.Digest(&s)
			}
		})
	}
}

// BenchmarkDigestPortable is BenchmarkDigest through crypto/sha256, what
// the assembly is measured against.
func BenchmarkDigestPortable(b *testing.B) {
	portable(func() { BenchmarkDigest(b) })
}

// BenchmarkDigestText is the first half of every authentication: the
// secret's text checked and digested, with no pepper.
func BenchmarkDigestText(b *testing.B) {
	s, err := NewSecret()
	if err != nil {
		b.Fatal(err)
	}
	text := s.Reveal()
	h, err := NewHasher(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.DigestText(text); err != nil {
			b.Fatal(err)
		}
	}
}
