package auth

import "github.com/streamauth/streamauth/keys"

// keyScope is what a principal holds besides its key id and expiry: the
// part many keys share (every application key of a workspace has the
// same). The read cache keeps each distinct scope once per table
// (keyCache), and a cached key refers to its scope by index, so that a
// cached key fits one cache line.
type keyScope struct {
	account, workspace, cluster [keys.UUIDSize]byte
	kind, flags                 uint8
}
