package record

import (
	"encoding/binary"

	"github.com/streamauth/streamauth/internal/scram"
	"github.com/streamauth/streamauth/keys"
)

// Credential is the stored form of a cluster credential: who it is and the
// verifiers of its password, never the password.
type Credential struct {
	ID        keys.CredentialID // from the store key; not encoded
	Cluster   keys.ClusterID
	Workspace keys.WorkspaceID
	Account   keys.AccountID
	Created   int64
	Superuser bool
	Username  string
	Name      string
	Argon2    Argon2Hash
	// SCRAM holds the verifiers for SCRAM-SHA-256 and SCRAM-SHA-512, in
	// that order.
	SCRAM [2]SCRAMVerifier
}

// Argon2Hash is an argon2id hash of a password with its parameters.
type Argon2Hash struct {
	Time    uint32 // passes
	Memory  uint32 // KiB
	Threads uint8
	Salt    []byte
	Hash    []byte
}

// SCRAMVerifier is what a SCRAM server keeps for one mechanism.
type SCRAMVerifier struct {
	Iterations           uint32
	Salt                 []byte
	StoredKey, ServerKey []byte
}

// Bounds on what a decoded credential may ask for. A record read back from
// a store or a snapshot is not trusted to set the cost of a login: a
// memory parameter of 4 GiB would turn one login into an outage.
const (
	MaxArgon2Time    = 10
	MaxArgon2Memory  = 256 * 1024 // KiB: 256 MiB
	MaxArgon2Threads = 16
	minSalt, maxSalt = 8, 64 // of an argon2 hash
	minHash, maxHash = 16, 64
	// The SCRAM bounds are package scram's: what it accepts is what a
	// record may hold.
	MinSCRAMIter = scram.MinIterations
	MaxSCRAMIter = scram.MaxIterations
)

// ValidArgon2 reports whether argon2id parameters are within the bounds a
// record may hold: 1 to MaxArgon2Time passes, 1 to MaxArgon2Threads lanes,
// 8 KiB per lane to MaxArgon2Memory.
func ValidArgon2(time, memoryKiB uint32, threads uint8) bool {
	return time >= 1 && time <= MaxArgon2Time && threads >= 1 && threads <= MaxArgon2Threads &&
		memoryKiB >= 8*uint32(threads) && memoryKiB <= MaxArgon2Memory
}

// scramKeySizes are the StoredKey and ServerKey sizes of SCRAM-SHA-256 and
// SCRAM-SHA-512.
var scramKeySizes = [2]int{scram.SHA256.Size(), scram.SHA512.Size()}

// credentialFixed: version, cluster, workspace, account, created, flags.
const credentialFixed = 1 + 3*keys.UUIDSize + 8 + 1

const flagSuperuser = 1

// AppendCredential appends the encoding of c to b. The caller has checked
// every field against the bounds above.
func AppendCredential(b []byte, c *Credential) []byte {
	start := len(b)
	b = append(b, Version)
	for _, id := range [][keys.UUIDSize]byte{c.Cluster.Bytes(), c.Workspace.Bytes(), c.Account.Bytes()} {
		b = append(b, id[:]...)
	}
	b = appendInt64(b, c.Created)
	var flags byte
	if c.Superuser {
		flags |= flagSuperuser
	}
	b = append(b, flags)
	b = appendName(b, c.Username)
	b = appendName(b, c.Name)
	a := &c.Argon2
	b = binary.BigEndian.AppendUint32(b, a.Time)
	b = binary.BigEndian.AppendUint32(b, a.Memory)
	b = append(b, a.Threads)
	b = appendName(b, string(a.Salt))
	b = appendName(b, string(a.Hash))
	for i := range c.SCRAM {
		v := &c.SCRAM[i]
		b = binary.BigEndian.AppendUint32(b, v.Iterations)
		b = appendName(b, string(v.Salt))
		b = append(b, v.StoredKey...)
		b = append(b, v.ServerKey...)
	}
	return seal(b, start)
}

// DecodeCredential decodes a credential record; id comes from its store
// key. Every parameter is checked against its bounds.
func DecodeCredential(id keys.CredentialID, b []byte) (Credential, error) {
	body, err := open(b, credentialFixed)
	if err != nil {
		return Credential{}, err
	}
	c := Credential{ID: id}
	off := 1
	if idAt(&c.Cluster, body, off) != nil || idAt(&c.Workspace, body, off+keys.UUIDSize) != nil ||
		idAt(&c.Account, body, off+2*keys.UUIDSize) != nil {
		return Credential{}, errField
	}
	off += 3 * keys.UUIDSize
	c.Created = int64At(body, off)
	flags := body[off+8]
	if flags&^flagSuperuser != 0 {
		return Credential{}, errField
	}
	c.Superuser = flags&flagSuperuser != 0
	r := reader{b: body[credentialFixed:]}
	c.Username = string(r.bytes(255))
	c.Name = string(r.bytes(255))
	a := &c.Argon2
	a.Time, a.Memory, a.Threads = r.u32(), r.u32(), r.u8()
	a.Salt = r.bytes(maxSalt)
	a.Hash = r.bytes(maxHash)
	for i := range c.SCRAM {
		v := &c.SCRAM[i]
		v.Iterations = r.u32()
		v.Salt = r.bytes(scram.MaxSaltLen)
		v.StoredKey = r.take(scramKeySizes[i])
		v.ServerKey = r.take(scramKeySizes[i])
	}
	if r.bad || len(r.b) != 0 {
		return Credential{}, errLength
	}
	if !c.checkBounds() {
		return Credential{}, errField
	}
	return c, nil
}

func (c *Credential) checkBounds() bool {
	a := &c.Argon2
	if !ValidArgon2(a.Time, a.Memory, a.Threads) || len(a.Salt) < minSalt || len(a.Hash) < minHash {
		return false
	}
	for i := range c.SCRAM {
		v := &c.SCRAM[i]
		if v.Iterations < MinSCRAMIter || v.Iterations > MaxSCRAMIter || len(v.Salt) < scram.MinSaltLen {
			return false
		}
	}
	return c.Username != "" && c.Name != ""
}

// reader reads length-prefixed and fixed fields off a record body; once a
// read runs past the end, bad is set and every later read returns zero.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8 {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

// bytes reads one length byte and that many bytes, at most limit.
func (r *reader) bytes(limit int) []byte {
	n := int(r.u8())
	if n > limit {
		r.bad = true
		return nil
	}
	return r.take(n)
}
