// Package keys defines the textual formats of everything streamauth names or
// issues: identifiers, key names and API-key secrets, and the digests under
// which secrets are stored.
//
// # Identifiers
//
// Every identifier is a random 128-bit UUID (version 4) behind a prefix that
// says what it identifies, with the UUID's dashes written as underscores so
// that the whole identifier is one word to a shell, a URL and a secret
// scanner:
//
//	aci_…  account            [AccountID]
//	wsi_…  workspace          [WorkspaceID]
//	vci_…  virtual cluster    [ClusterID]
//	aki_…  API key            [KeyID]
//	cci_…  cluster credential [CredentialID]
//
// Identifiers are values: comparable with ==, usable as map keys, and the zero
// value means "none". [NewID] draws one from crypto/rand; the Parse functions
// ([ParseAccountID] and its siblings) refuse anything that is not exactly the
// canonical form.
//
// # Secrets
//
// An API-key secret is "aks_" followed by 64 lowercase hex digits: 224 bits
// from crypto/rand and a 32-bit checksum over them. [ParseSecret] checks the
// prefix, length, alphabet and checksum without allocating and without any
// store access, so a mistyped, truncated or made-up secret is refused before
// anything is looked up.
//
// A [Secret] never prints itself: String, GoString, every fmt verb and
// log/slog all show a fixed placeholder. [Secret.Reveal] is the one way to the
// text, for showing a newly issued secret to its owner once. Secrets cannot be
// compared with ==; [Secret.Equal] compares in constant time.
//
// # Digests
//
// Secrets are stored and looked up only by their [Digest]: SHA-256 of the
// secret, or HMAC-SHA-256 under a server-side pepper (see [NewHasher]).
// Digests, too, compare only in constant time.
//
// # Speed
//
// A secret is parsed and digested on every authentication, so on amd64
// this package does the work in a few lines of assembly: the 64 digits
// sixteen at a time (SSSE3), the checksum by the CRC-32C instruction
// (SSE4.2), and the digest as one SHA-256 compression (SHA extensions), two
// with a pepper, on a block laid out on the stack. None of that assembly
// branches on or indexes memory by a secret's bytes. Elsewhere (other
// processors, or the purego build tag) the digits are decoded in Go, with
// no branch on them either, the checksum by tables indexed by the
// secret's bytes, and the digest through crypto/sha256, as it is also in
// FIPS 140 mode (GODEBUG=fips140=on). Both paths give the same results:
// the tests check each against the standard library.
package keys
