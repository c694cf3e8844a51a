package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"sync"

	"github.com/streamauth/streamauth/keys"
)

// remembered holds the successful SASL PLAIN checks of the last while, so
// that a client reconnecting in a loop does not cost an argon2id run each
// time. An entry is found by a keyed hash of (cluster, username, password):
// the password is not kept, and without the engine's random key the table
// is no help in guessing it.
//
// A credential delete clears the credential's entries before it returns,
// with the same care as the key cache (see [hotKeys]): while any delete is
// in flight the table is bypassed and takes no inserts, and a check that
// began before a delete cannot insert after it, because the delete
// advances the epoch.
type remembered struct {
	key   [32]byte
	ttl   int64 // nanoseconds
	limit int

	mu      sync.Mutex
	epoch   uint64
	pending int
	m       map[[sha256.Size]byte]rememberedLogin
}

type rememberedLogin struct {
	p       CredentialPrincipal
	expires int64 // Unix nanoseconds
}

const rememberLimit = 16384

func newRemembered(ttlNanos int64) (*remembered, error) {
	r := &remembered{ttl: ttlNanos, limit: rememberLimit, m: make(map[[sha256.Size]byte]rememberedLogin)}
	if _, err := rand.Read(r.key[:]); err != nil {
		return nil, err
	}
	return r, nil
}

// id is the table key of a login: SHA-256 of the engine's random key, the
// cluster, and the user and password with the user's length between, so
// that no other split of the same bytes has the same id. The input is a
// fixed-length prefix (the key) and a message of at most
// 16+1+2×maxPlainField bytes, hashed on the stack: the remembered path
// allocates nothing.
func (r *remembered) id(cl keys.ClusterID, user, password []byte) [sha256.Size]byte {
	var buf [len(r.key) + keys.UUIDSize + 1 + 2*maxPlainField]byte
	defer clear(buf[:])
	b := append(buf[:0], r.key[:]...)
	cb := cl.Bytes()
	b = append(b, cb[:]...)
	b = append(b, byte(len(user)))
	b = append(b, user...)
	b = append(b, password...)
	return sha256.Sum256(b)
}

// lookup returns a remembered login that has not expired, or false and
// the epoch a later insert must present.
func (r *remembered) lookup(id *[sha256.Size]byte, now int64) (CredentialPrincipal, bool, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == 0 {
		if l, ok := r.m[*id]; ok {
			if now < l.expires {
				return l.p, true, 0
			}
			delete(r.m, *id)
		}
	}
	return CredentialPrincipal{}, false, r.epoch
}

// insert remembers a login checked by a lookup that began at epoch, unless
// a credential delete has run or is running since.
func (r *remembered) insert(id *[sha256.Size]byte, p CredentialPrincipal, now int64, epoch uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.epoch != epoch || r.pending != 0 {
		return
	}
	if len(r.m) >= r.limit {
		for k := range r.m { // a random entry: map iteration starts anywhere
			delete(r.m, k)
			break
		}
	}
	r.m[*id] = rememberedLogin{p: p, expires: now + r.ttl}
}

// begin runs before a commit that deletes credentials.
func (r *remembered) begin() {
	r.mu.Lock()
	r.pending++
	r.mu.Unlock()
}

// end runs after that commit returned: the deleted credentials' entries go.
func (r *remembered) end(ids []keys.CredentialID) {
	gone := make(map[keys.CredentialID]bool, len(ids))
	for _, id := range ids {
		gone[id] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, l := range r.m {
		if gone[l.p.Credential] {
			delete(r.m, k)
		}
	}
	r.epoch++
	r.pending--
}
