package scram

import (
	"context"
	"strings"
	"testing"
)

// benchExchange is a server for m that knows "user", with a fixed server
// nonce, and a recorded client-first and client-final for it, with nonces
// of the lengths Kafka clients use.
func benchExchange(tb testing.TB, m Mechanism) (s *Server, first, final []byte) {
	tb.Helper()
	salt := []byte("0123456789abcdef0123456789abcdef")
	ref := deriveRef(tb, refHash(tb, m.String()), "pencil", salt, DefaultIterations)
	s = newTestServer(tb, m, map[string]Verifier{"user": ref.verifier(salt, DefaultIterations)}, "Zt3vKq9UxW2pLs8NbY4mHc6R")
	first = []byte("n,,n=user,r=gHp8Y2Vb0sTqQk4nZyXw1AeLmR7c")
	s1, err := s.Start().Step(context.Background(), first)
	if err != nil {
		tb.Fatal(err)
	}
	final = []byte(ref.finalFor(string(first), string(s1), "c=biws,r=gHp8Y2Vb0sTqQk4nZyXw1AeLmR7cZt3vKq9UxW2pLs8NbY4mHc6R"))
	return s, first, final
}

func exchangeOnce(tb testing.TB, s *Server, first, final []byte) {
	ctx := context.Background()
	c := s.Start()
	if _, err := c.Step(ctx, first); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.Step(ctx, final); err != nil || !c.Done() {
		tb.Fatal(err)
	}
}

// BenchmarkServerExchange is the server's side of a whole successful
// exchange: Start, client-first (parse, Lookup from a map, server-first),
// client-final (parse, two HMACs and a hash to check the proof, one HMAC
// for the signature). The server nonce is fixed; BenchmarkServerFirst
// shows what crypto/rand adds.
func BenchmarkServerExchange(b *testing.B) {
	for _, m := range []Mechanism{SHA256, SHA512} {
		b.Run(m.String(), func(b *testing.B) {
			s, first, final := benchExchange(b, m)
			b.ReportAllocs()
			for b.Loop() {
				exchangeOnce(b, s, first, final)
			}
		})
	}
}

// BenchmarkServerFirst is Start and the first Step alone, with the fixed
// nonce of the tests and with crypto/rand's.
func BenchmarkServerFirst(b *testing.B) {
	s, first, _ := benchExchange(b, SHA256)
	random := newTestServer(b, SHA256, nil, "")
	random.lookup = s.lookup
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		s    *Server
	}{{"fixed", s}, {"rand", random}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.s.Start().Step(ctx, first); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNewVerifier is PBKDF2 at the default iteration count: what a
// client pays for every connection (unless it caches), and what checking
// one password guess against a stolen verifier costs.
func BenchmarkNewVerifier(b *testing.B) {
	salt := make([]byte, SaltLen)
	for _, m := range []Mechanism{SHA256, SHA512} {
		b.Run(m.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewVerifier(m, []byte("pencil"), salt, DefaultIterations); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestExchangeAllocs pins the allocations of a whole exchange: the
// Conversation, its buffer, the username, and the two replies.
func TestExchangeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	for _, m := range []Mechanism{SHA256, SHA512} {
		s, first, final := benchExchange(t, m)
		known := testing.AllocsPerRun(100, func() { exchangeOnce(t, s, first, final) })
		if known > 5 {
			t.Errorf("%v: %v allocations per exchange, want at most 5", m, known)
		}
		// An unknown user costs the same allocations (the fake salt is
		// computed on the stack); the exchange fails at the proof.
		unknownFirst := []byte(strings.Replace(string(first), "n=user", "n=nobody", 1))
		unknown := testing.AllocsPerRun(100, func() {
			c := s.Start()
			if _, err := c.Step(context.Background(), unknownFirst); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Step(context.Background(), final); err != ErrAuthFailed {
				t.Fatal(err)
			}
		})
		// One fewer: no server-final-message.
		if unknown != known-1 {
			t.Errorf("%v: %v allocations for an unknown user, %v for a known one", m, unknown, known)
		}
	}
}
