package kafkatest

import (
	"context"
	"errors"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/keys"
)

// ForCluster returns the [Authenticator] of one virtual cluster, whose
// decisions are made by engine e: this is how an agent plugs the engine
// into its Kafka listener, one Authenticator per cluster it serves.
//
//   - Mechanisms are [auth.SASLMechanisms], in the engine's order of
//     preference.
//   - AllowUnauthenticated asks [auth.Engine.AllowUnauthenticated] on every
//     call, so that a change of the cluster's SASL policy
//     ([auth.Engine.SetClusterSASL]) takes effect on the next request. Any
//     error (an unknown or deleted cluster, a store failure) answers false:
//     the listener fails closed.
//   - PLAIN is one step, [auth.Engine.AuthenticatePlain] of the client's
//     message.
//   - SCRAM-SHA-256 and SCRAM-SHA-512 run an [auth.SCRAMExchange] from
//     [auth.Engine.StartSCRAM], two steps.
//
// On success the Reply's Principal is the credential's username, which is
// not secret. The engine's errors never hold secret material, so they may
// go to [Config.Logf] as they are; the client only ever sees
// [FailureMessage], after [Config.FailureDelay].
func ForCluster(e *auth.Engine, cl keys.ClusterID) Authenticator {
	return &engineAuth{c: clusterChecker{e: e, cl: cl}}
}

// ForAgent returns the [Authenticator] of an offline agent: the same
// decisions as [ForCluster], answered from the agent's applied snapshot.
func ForAgent(a *auth.Agent) Authenticator { return &engineAuth{c: a} }

// Checker makes one cluster's SASL decisions: an [*auth.Agent] is one, and
// ForCluster makes one of an engine and a cluster id.
type Checker interface {
	AllowUnauthenticated(ctx context.Context) (bool, error)
	AuthenticatePlain(ctx context.Context, msg []byte) (auth.CredentialPrincipal, error)
	StartSCRAM(ctx context.Context, mechanism string) (*auth.SCRAMExchange, error)
}

// clusterChecker is the Checker of one cluster of a control-plane engine.
type clusterChecker struct {
	e  *auth.Engine
	cl keys.ClusterID
}

func (c clusterChecker) AllowUnauthenticated(ctx context.Context) (bool, error) {
	return c.e.AllowUnauthenticated(ctx, c.cl)
}

func (c clusterChecker) AuthenticatePlain(ctx context.Context, msg []byte) (auth.CredentialPrincipal, error) {
	return c.e.AuthenticatePlain(ctx, c.cl, msg)
}

func (c clusterChecker) StartSCRAM(ctx context.Context, mechanism string) (*auth.SCRAMExchange, error) {
	return c.e.StartSCRAM(ctx, c.cl, mechanism)
}

// policyTimeout bounds the store read behind AllowUnauthenticated, whose
// interface has no context: a store that hangs refuses the connection
// rather than holding it.
const policyTimeout = 5 * time.Second

// engineAuth is the Authenticator ForCluster and ForAgent return.
type engineAuth struct{ c Checker }

func (a *engineAuth) Mechanisms() []string { return engineMechanisms }

// engineMechanisms is auth.SASLMechanisms, taken once: Mechanisms is asked
// on every handshake. The server does not modify it.
var engineMechanisms = auth.SASLMechanisms()

func (a *engineAuth) AllowUnauthenticated() bool {
	ctx, cancel := context.WithTimeout(context.Background(), policyTimeout)
	defer cancel()
	ok, err := a.c.AllowUnauthenticated(ctx)
	return err == nil && ok
}

func (a *engineAuth) Start(ctx context.Context, mechanism string) (Exchange, error) {
	if mechanism == auth.MechanismPlain {
		return &enginePlain{a: a}, nil
	}
	// Any other name goes to StartSCRAM, which refuses what it does not
	// know with ErrInvalidArgument.
	x, err := a.c.StartSCRAM(ctx, mechanism)
	if err != nil {
		return nil, err
	}
	return &engineSCRAM{x: x}, nil
}

// errPlainStep is the error of a second Step of a PLAIN exchange, which is
// one message long. The server never makes that call.
var errPlainStep = errors.New("kafkatest: PLAIN is one message")

// enginePlain is one PLAIN exchange: one message, checked by the engine.
type enginePlain struct {
	a    *engineAuth
	used bool
}

func (x *enginePlain) Step(ctx context.Context, msg []byte) (Reply, error) {
	if x.used {
		return Reply{}, errPlainStep
	}
	x.used = true
	p, err := x.a.c.AuthenticatePlain(ctx, msg)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Done: true, Principal: string(p.Username)}, nil
}

// engineSCRAM is one SCRAM exchange of the engine.
type engineSCRAM struct{ x *auth.SCRAMExchange }

func (s *engineSCRAM) Step(ctx context.Context, msg []byte) (Reply, error) {
	reply, err := s.x.Step(ctx, msg)
	if err != nil {
		return Reply{}, err
	}
	if !s.x.Done() {
		return Reply{Msg: reply}, nil
	}
	p, err := s.x.Principal()
	if err != nil {
		return Reply{}, err
	}
	return Reply{Msg: reply, Done: true, Principal: string(p.Username)}, nil
}
