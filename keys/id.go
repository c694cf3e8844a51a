package keys

import (
	"crypto/rand"
	"fmt"
	"io"
)

// Kind is the type parameter of [ID]: it fixes an identifier's prefix. The
// kinds are this package's own; an ID of one kind is a different type from
// an ID of another, so they cannot be mixed up.
type Kind interface {
	prefix() string
}

type (
	accountKind    struct{}
	workspaceKind  struct{}
	clusterKind    struct{}
	keyKind        struct{}
	credentialKind struct{}
)

func (accountKind) prefix() string    { return "aci_" }
func (workspaceKind) prefix() string  { return "wsi_" }
func (clusterKind) prefix() string    { return "vci_" }
func (keyKind) prefix() string        { return "aki_" }
func (credentialKind) prefix() string { return "cci_" }

// The identifier types.
type (
	AccountID    = ID[accountKind]    // aci_…
	WorkspaceID  = ID[workspaceKind]  // wsi_…
	ClusterID    = ID[clusterKind]    // vci_…
	KeyID        = ID[keyKind]        // aki_…
	CredentialID = ID[credentialKind] // cci_…
)

// UUIDSize is the size of an identifier's binary form.
const UUIDSize = 16

// uuidTextLen is the length of a UUID's text, dashes (here underscores)
// included.
const uuidTextLen = 36

// ID is a 128-bit identifier of one kind. The zero value means "none" and is
// never issued or accepted by the Parse functions.
type ID[K Kind] struct {
	b [UUIDSize]byte
}

// NewID draws a version-4 UUID from crypto/rand.
func NewID[K Kind]() (ID[K], error) {
	return newID[K](rand.Reader)
}

func newID[K Kind](r io.Reader) (ID[K], error) {
	var id ID[K]
	if _, err := io.ReadFull(r, id.b[:]); err != nil {
		return ID[K]{}, fmt.Errorf("keys: reading random bytes: %w", err)
	}
	id.b[6] = id.b[6]&0x0f | 0x40 // version 4
	id.b[8] = id.b[8]&0x3f | 0x80 // RFC 4122 variant
	return id, nil
}

// Constructors for each kind.
func NewAccountID() (AccountID, error)       { return NewID[accountKind]() }
func NewWorkspaceID() (WorkspaceID, error)   { return NewID[workspaceKind]() }
func NewClusterID() (ClusterID, error)       { return NewID[clusterKind]() }
func NewKeyID() (KeyID, error)               { return NewID[keyKind]() }
func NewCredentialID() (CredentialID, error) { return NewID[credentialKind]() }

// Identifiers from their binary form, as stored; an all-zero array is the
// zero ID.
func AccountIDFromArray(b [UUIDSize]byte) AccountID       { return ID[accountKind]{b: b} }
func WorkspaceIDFromArray(b [UUIDSize]byte) WorkspaceID   { return ID[workspaceKind]{b: b} }
func ClusterIDFromArray(b [UUIDSize]byte) ClusterID       { return ID[clusterKind]{b: b} }
func KeyIDFromArray(b [UUIDSize]byte) KeyID               { return ID[keyKind]{b: b} }
func CredentialIDFromArray(b [UUIDSize]byte) CredentialID { return ID[credentialKind]{b: b} }

// SetBytes sets id from its 16-byte binary form, as stored. It fails, leaving
// id unchanged, if b has the wrong length. An all-zero b sets the zero ID.
func (id *ID[K]) SetBytes(b []byte) error {
	if len(b) != UUIDSize {
		return errIDLength
	}
	id.b = [UUIDSize]byte(b)
	return nil
}

var errIDLength = fmt.Errorf("%w: binary form has the wrong length", ErrMalformedID)

// ParseID parses the text of an identifier of kind K. It accepts exactly the
// canonical form: the kind's prefix, then a UUID in lowercase hex with
// underscores in place of dashes.
func ParseID[K Kind](s string) (ID[K], error) {
	var id ID[K]
	var k K
	p := k.prefix()
	if len(s) != len(p)+uuidTextLen || s[:len(p)] != p {
		return id, fmt.Errorf("%w: want %s followed by a UUID", ErrMalformedID, p)
	}
	u := s[len(p):]
	if u[8] != '_' || u[13] != '_' || u[18] != '_' || u[23] != '_' {
		return id, fmt.Errorf("%w: want %s followed by a UUID", ErrMalformedID, p)
	}
	ok := decodeHex(id.b[0:4], u[0:8]) &&
		decodeHex(id.b[4:6], u[9:13]) &&
		decodeHex(id.b[6:8], u[14:18]) &&
		decodeHex(id.b[8:10], u[19:23]) &&
		decodeHex(id.b[10:16], u[24:36])
	if !ok {
		return ID[K]{}, fmt.Errorf("%w: want lowercase hex digits", ErrMalformedID)
	}
	if id.IsZero() {
		return id, fmt.Errorf("%w: zero", ErrMalformedID)
	}
	return id, nil
}

// Parse functions for each kind, for call sites that read better without a
// type argument.
func ParseAccountID(s string) (AccountID, error)       { return ParseID[accountKind](s) }
func ParseWorkspaceID(s string) (WorkspaceID, error)   { return ParseID[workspaceKind](s) }
func ParseClusterID(s string) (ClusterID, error)       { return ParseID[clusterKind](s) }
func ParseKeyID(s string) (KeyID, error)               { return ParseID[keyKind](s) }
func ParseCredentialID(s string) (CredentialID, error) { return ParseID[credentialKind](s) }

// IsZero reports whether id is the zero value ("none").
func (id ID[K]) IsZero() bool { return id == ID[K]{} }

// Bytes returns the 16-byte binary form, as stored.
func (id ID[K]) Bytes() [UUIDSize]byte { return id.b }

// AppendText appends the text form to b; the zero ID appends nothing, so
// that an unset id encodes as an empty string and decodes back to zero.
func (id ID[K]) AppendText(b []byte) ([]byte, error) {
	if id.IsZero() {
		return b, nil
	}
	var k K
	b = append(b, k.prefix()...)
	b = appendHex(b, id.b[0:4])
	b = append(b, '_')
	b = appendHex(b, id.b[4:6])
	b = append(b, '_')
	b = appendHex(b, id.b[6:8])
	b = append(b, '_')
	b = appendHex(b, id.b[8:10])
	b = append(b, '_')
	return appendHex(b, id.b[10:16]), nil
}

// String returns the text form, for example "vci_1b4e28ba_2fa1_41d2_883f_0016d3cca427".
// The zero ID prints as its prefix alone followed by "none".
func (id ID[K]) String() string {
	if id.IsZero() {
		var k K
		return k.prefix() + "none"
	}
	b, _ := id.AppendText(make([]byte, 0, 40))
	return string(b)
}

// MarshalText implements encoding.TextMarshaler. The zero ID is the empty
// text.
func (id ID[K]) MarshalText() ([]byte, error) { return id.AppendText(nil) }

// UnmarshalText implements encoding.TextUnmarshaler with [ParseID]; the
// empty text is the zero ID.
func (id *ID[K]) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*id = ID[K]{}
		return nil
	}
	v, err := ParseID[K](string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
