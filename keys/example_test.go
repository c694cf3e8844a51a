package keys_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/streamauth/streamauth/keys"
)

func ExampleParseSecret() {
	// A well-formed secret: the prefix, 56 random hex digits and an
	// 8-digit checksum.
	s, err := keys.ParseSecret("aks_000102030405060708090a0b0c0d0e0f101112131415161718191a1b64dec9c1")
	fmt.Println(err, s)

	// A truncated secret, a mistyped digit and an uppercase one are
	// refused before anything is looked up.
	for _, in := range []string{
		"aks_000102030405060708090a0b0c0d0e0f",
		"aks_000102030405060708090a0b0c0d0e0f101112131415161718191a1b64dec9c2",
		"aks_000102030405060708090A0B0C0D0E0F101112131415161718191A1B64DEC9C1",
	} {
		_, err := keys.ParseSecret(in)
		fmt.Println(errors.Is(err, keys.ErrMalformedSecret), err)
	}
	// Output:
	// <nil> aks_[REDACTED]
	// true keys: malformed secret: wrong length
	// true keys: malformed secret: checksum mismatch
	// true keys: malformed secret: not lowercase hex
}

func ExampleNewSecret() {
	s, err := keys.NewSecret()
	if err != nil {
		panic(err)
	}
	// Show the text once, to its owner; it is never logged.
	text := s.Reveal()
	fmt.Println(len(text), text[:len(keys.SecretPrefix)])

	again, err := keys.ParseSecret(text)
	fmt.Println(err, again.Equal(s))
	// Output:
	// 68 aks_
	// <nil> true
}

func ExampleSecret_String() {
	s, err := keys.ParseSecret("aks_000102030405060708090a0b0c0d0e0f101112131415161718191a1b64dec9c1")
	if err != nil {
		panic(err)
	}
	fmt.Println(s)
	fmt.Printf("%v %s %x %+v\n", s, s, s, struct{ Key keys.Secret }{s})

	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	log.Info("issued", "secret", s)
	// Output:
	// aks_[REDACTED]
	// aks_[REDACTED] aks_[REDACTED] aks_[REDACTED] {Key:aks_[REDACTED]}
	// level=INFO msg=issued secret=aks_[REDACTED]
}

func ExampleParseClusterID() {
	id, err := keys.ParseClusterID("vci_1b4e28ba_2fa1_41d2_883f_0016d3cca427")
	fmt.Println(id, err)

	// Another kind's identifier, dashes and uppercase are all refused.
	for _, in := range []string{
		"aki_1b4e28ba_2fa1_41d2_883f_0016d3cca427",
		"vci_1b4e28ba-2fa1-41d2-883f-0016d3cca427",
		"vci_1B4E28BA_2FA1_41D2_883F_0016D3CCA427",
	} {
		_, err := keys.ParseClusterID(in)
		fmt.Println(errors.Is(err, keys.ErrMalformedID))
	}

	var none keys.ClusterID
	fmt.Println(none, none.IsZero())
	// Output:
	// vci_1b4e28ba_2fa1_41d2_883f_0016d3cca427 <nil>
	// true
	// true
	// true
	// vci_none true
}

func ExampleNewClusterID() {
	id, err := keys.NewClusterID()
	if err != nil {
		panic(err)
	}
	back, err := keys.ParseClusterID(id.String())
	fmt.Println(len(id.String()), back == id, err)
	// Output:
	// 40 true <nil>
}

func ExampleNewHasher() {
	s, err := keys.ParseSecret("aks_000102030405060708090a0b0c0d0e0f101112131415161718191a1b64dec9c1")
	if err != nil {
		panic(err)
	}

	// Plain SHA-256.
	plain, _ := keys.NewHasher(nil)
	fmt.Println(plain.Digest(&s))

	// HMAC-SHA-256 under a server-side pepper, here 32 bytes.
	pepper := []byte("0123456789abcdef0123456789abcdef")
	peppered, err := keys.NewHasher(pepper)
	if err != nil {
		panic(err)
	}
	d := peppered.Digest(&s)
	fmt.Println(d.Equal(peppered.Digest(&s)), d.Equal(plain.Digest(&s)))

	// Store the whole digest; index it by its prefix.
	stored, _ := d.AppendBinary(nil)
	fmt.Println(len(stored), len(d.Prefix()), d.EqualBytes(stored))

	_, err = keys.NewHasher([]byte("too short"))
	fmt.Println(err)
	// Output:
	// sha256:b2e457b11fb8…
	// true false
	// 32 16 true
	// keys: pepper must be 16 to 64 bytes
}

func ExampleParseKeyName() {
	for _, in := range []string{"akn_ci_deploy", "akn_", "akn_ci-deploy"} {
		n, err := keys.ParseKeyName(in)
		fmt.Printf("%q %v\n", n, errors.Is(err, keys.ErrInvalidName))
	}
	// Output:
	// "akn_ci_deploy" false
	// "" true
	// "" true
}

func ExampleCheckDisplayName() {
	for _, in := range []string{"Zürich production", " padded", "tab\there", ""} {
		fmt.Println(keys.CheckDisplayName(in))
	}
	// Output:
	// <nil>
	// keys: invalid name: a name has no leading or trailing space
	// keys: invalid name: a name holds no control or format characters
	// keys: invalid name: a name is 1 to 200 bytes
}

func ExampleHasher_DigestText() {
	h, _ := keys.NewHasher(nil)

	// A lookup needs the digest of the presented text, not the secret:
	// DigestText checks the text as ParseSecret does and digests it.
	d, err := h.DigestText("aks_000102030405060708090a0b0c0d0e0f101112131415161718191a1b64dec9c1")
	fmt.Println(d, err)

	_, err = h.DigestText("aks_000102030405060708090a0b0c0d0e0f101112131415161718191a1b64dec9c2")
	fmt.Println(errors.Is(err, keys.ErrMalformedSecret), err)
	// Output:
	// sha256:b2e457b11fb8… <nil>
	// true keys: malformed secret: checksum mismatch
}

func ExampleDigest_EqualWords() {
	h, _ := keys.NewHasher(nil)
	d, _ := h.DigestText("aks_000102030405060708090a0b0c0d0e0f101112131415161718191a1b64dec9c1")

	// A cache that holds stored digests as four little-endian words, and
	// reads them word by word, compares one without rebuilding its bytes.
	b, _ := d.AppendBinary(nil)
	w := func(i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) }
	fmt.Println(d.EqualWords(w(0), w(1), w(2), w(3)))
	fmt.Println(d.EqualWords(w(0), w(1), w(2), w(3)^1))
	// Output:
	// true
	// false
}
