package auth

import (
	"context"
	"errors"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/keys"
)

// Authorize decides whether principal p may perform a public-API action on
// target t. It enforces:
//
//   - an agent key never acts on the public API;
//   - an application key acts on its own workspace and the clusters in it,
//     never on account-level actions or another workspace;
//   - an account key acts at account level and on every workspace (and
//     cluster) of its own account, never another account's.
//
// A refusal is ErrPermissionDenied. A target that does not exist is also
// ErrPermissionDenied, so that the answer never tells a key about resources
// it may not see. A principal that has expired since it was authenticated is
// ErrUnauthenticated.
func (e *Engine) Authorize(ctx context.Context, p Principal, t Target) error {
	if err := e.checkLive(&p); err != nil {
		return err
	}
	if p.Kind == KindAgent {
		return errAgentOnAPI
	}
	if p.Kind != KindApplication && p.Kind != KindAccount {
		return invalid("principal of unknown kind", nil)
	}
	set := 0
	for _, zero := range [...]bool{t.Account.IsZero(), t.Workspace.IsZero(), t.Cluster.IsZero()} {
		if !zero {
			set++
		}
	}
	if set != 1 {
		return invalid("target needs exactly one of account, workspace and cluster", nil)
	}
	account, ws := t.Account, t.Workspace
	switch {
	case !t.Cluster.IsZero():
		c, err := e.lookupScope(ctx, t.Cluster)
		if isAuthNotFound(err) {
			return errNoResource
		} else if err != nil {
			return err
		}
		account, ws = c.account, c.workspace
	case !t.Workspace.IsZero():
		w, err := e.readWorkspaceScope(ctx, t.Workspace)
		if isAuthNotFound(err) {
			return errNoResource
		} else if err != nil {
			return err
		}
		account = w.Account
	}
	switch p.Kind {
	case KindApplication:
		if ws.IsZero() {
			return errAccountLevel
		}
		if ws != p.Workspace {
			return errOtherWorkspace
		}
	case KindAccount:
		if account != p.Account {
			return errOtherAccount
		}
	}
	return nil
}

// AuthorizeAgent decides whether principal p may run agent operations for
// cluster c: p must be an agent key of c's workspace granted c or "*", and c
// must exist and be BYOC. Anything else is ErrPermissionDenied; an expired
// principal is ErrUnauthenticated.
func (e *Engine) AuthorizeAgent(ctx context.Context, p Principal, c keys.ClusterID) error {
	if err := e.checkLive(&p); err != nil {
		return err
	}
	if p.Kind != KindAgent {
		return errNotAgent
	}
	s, err := e.lookupScope(ctx, c)
	if isAuthNotFound(err) {
		return errNoResource
	} else if err != nil {
		return err
	}
	return agentScope(&p, c, s.workspace, cluster.Type(s.typ))
}

// agentScope decides whether agent key p may act for cluster c, of
// workspace ws and type typ.
func agentScope(p *Principal, c keys.ClusterID, ws keys.WorkspaceID, typ cluster.Type) error {
	switch {
	case ws != p.Workspace:
		return errOtherWorkspace
	case !typ.HasAgents():
		return errNotBYOC
	case !p.AnyCluster && p.Cluster != c:
		return errWrongCluster
	}
	return nil
}

// AuthenticateAgent authenticates an agent's secret and authorizes it for
// cluster c in one call: ErrUnauthenticated for a bad secret,
// ErrPermissionDenied for a good secret that may not act for c.
func (e *Engine) AuthenticateAgent(ctx context.Context, secret string, c keys.ClusterID) (Principal, error) {
	p, err := e.Authenticate(ctx, secret)
	if err != nil {
		return Principal{}, err
	}
	if err := e.AuthorizeAgent(ctx, p, c); err != nil {
		return Principal{}, err
	}
	return p, nil
}

// AuthenticateAPI authenticates a public-API caller's secret and authorizes
// it for target t in one call.
func (e *Engine) AuthenticateAPI(ctx context.Context, secret string, t Target) (Principal, error) {
	p, err := e.Authenticate(ctx, secret)
	if err != nil {
		return Principal{}, err
	}
	if err := e.Authorize(ctx, p, t); err != nil {
		return Principal{}, err
	}
	return p, nil
}

func (e *Engine) checkLive(p *Principal) error {
	if !p.ExpiresAt.IsZero() && !e.now().Before(p.ExpiresAt) {
		return errExpired
	}
	return nil
}

// isAuthNotFound reports whether err is this package's ErrNotFound or an
// invalid (zero) id: both mean "no such resource" to an authorization.
func isAuthNotFound(err error) bool {
	return err != nil && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidArgument))
}
