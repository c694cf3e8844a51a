package auth

import (
	"errors"
	"fmt"

	"github.com/streamauth/streamauth/keys"
)

// Sentinel errors, matched with errors.Is. An error may wrap one of them with
// a reason for logs ("expired", "wrong cluster"); no error text ever holds
// secret material or echoes a secret the caller passed in.
var (
	// ErrUnauthenticated: the secret is malformed, unknown, revoked or
	// expired. It says nothing about which.
	ErrUnauthenticated = errors.New("auth: unauthenticated")
	// ErrPermissionDenied: the secret is valid but its key may not do
	// this: another cluster, workspace or account, or the wrong kind of key.
	ErrPermissionDenied = errors.New("auth: permission denied")
	// ErrNotFound: no such account, workspace, cluster or key.
	ErrNotFound = errors.New("auth: not found")
	// ErrAlreadyExists: a cluster of that name exists in the workspace.
	ErrAlreadyExists = errors.New("auth: already exists")
	// ErrInvalidArgument: a malformed name, id or spec, or a grant that
	// mixes principal kinds.
	ErrInvalidArgument = errors.New("auth: invalid argument")
	// ErrUnsupported: a valid request the domain does not allow, such as an
	// agent key for a serverless cluster.
	ErrUnsupported = errors.New("auth: unsupported")
	// ErrBusy: the engine is at its bound of concurrent password checks
	// (see Options.MaxPasswordChecks); the login may be tried again later.
	ErrBusy = errors.New("auth: busy")
)

// Errors returned on the hot path are allocated once, so that refusing a
// secret costs no allocation.
var (
	errMalformed = fmt.Errorf("%w: %w", ErrUnauthenticated, keys.ErrMalformedSecret)
	errUnknown   = fmt.Errorf("%w: unknown or revoked key", ErrUnauthenticated)
	errExpired   = fmt.Errorf("%w: expired key", ErrUnauthenticated)

	errAgentOnAPI     = fmt.Errorf("%w: an agent key may not call the public API", ErrPermissionDenied)
	errNotAgent       = fmt.Errorf("%w: not an agent key", ErrPermissionDenied)
	errOtherWorkspace = fmt.Errorf("%w: resource outside the key's workspace", ErrPermissionDenied)
	errOtherAccount   = fmt.Errorf("%w: resource outside the key's account", ErrPermissionDenied)
	errAccountLevel   = fmt.Errorf("%w: account-level action needs an account key", ErrPermissionDenied)
	errNoResource     = fmt.Errorf("%w: no such resource for this key", ErrPermissionDenied)
	errNotBYOC        = fmt.Errorf("%w: cluster has no agents", ErrPermissionDenied)
	errWrongCluster   = fmt.Errorf("%w: key bound to another cluster", ErrPermissionDenied)
)

// invalid wraps ErrInvalidArgument with a reason, and with err if it is not
// nil (an error of package keys or cluster, which never quotes its input).
func invalid(reason string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidArgument, reason, err)
	}
	return fmt.Errorf("%w: %s", ErrInvalidArgument, reason)
}
