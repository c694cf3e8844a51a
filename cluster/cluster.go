// Package cluster describes virtual clusters as the auth core sees them:
// their type, whether agents run for them, and their SASL policy.
//
// A virtual cluster is either BYOC ("bring your own cloud": the customer runs
// agents in their own network) or serverless (hosted, with no agents of the
// customer's). BYOC variants, such as a schema-registry cluster, behave as
// BYOC everywhere in streamauth.
//
// The SASL policy says whether a Kafka client must authenticate to connect.
// BYOC clusters default to [SASLOff] (their agents sit in the customer's own
// network) and may be switched to [SASLRequired]; serverless clusters always
// require SASL.
//
// This package does no I/O and imports nothing else of streamauth.
package cluster

import (
	"errors"
	"fmt"
)

// ErrInvalid reports an unknown cluster type or SASL policy, or a policy the
// cluster type does not allow.
var ErrInvalid = errors.New("cluster: invalid")

// Type is a virtual cluster's type.
type Type uint8

// The cluster types. The zero Type is invalid.
const (
	BYOC               Type = 1 // agents run in the customer's cloud
	Serverless         Type = 2 // hosted; no customer agents
	BYOCSchemaRegistry Type = 3 // a BYOC schema-registry cluster; behaves as BYOC
)

var typeNames = map[Type]string{
	BYOC:               "byoc",
	Serverless:         "serverless",
	BYOCSchemaRegistry: "byoc_schema_registry",
}

// ParseType parses a type's name: "byoc", "serverless" or
// "byoc_schema_registry".
func ParseType(s string) (Type, error) {
	for t, name := range typeNames {
		if name == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown cluster type", ErrInvalid)
}

// Valid reports whether t is a known type.
//
// A switch, not a lookup in typeNames: authorization asks it of every
// cluster it reads. TestTypeNames keeps the two in step.
func (t Type) Valid() bool {
	switch t {
	case BYOC, Serverless, BYOCSchemaRegistry:
		return true
	}
	return false
}

// String returns the type's name.
func (t Type) String() string {
	if name, ok := typeNames[t]; ok {
		return name
	}
	return fmt.Sprintf("cluster.Type(%d)", uint8(t))
}

// IsBYOC reports whether t is BYOC or a BYOC variant.
func (t Type) IsBYOC() bool { return t == BYOC || t == BYOCSchemaRegistry }

// HasAgents reports whether clusters of type t have agents, and so agent
// keys. Only BYOC clusters do.
func (t Type) HasAgents() bool { return t.IsBYOC() }

// DefaultSASL returns the SASL policy a new cluster of type t starts with:
// off for BYOC, required for serverless.
func (t Type) DefaultSASL() SASLPolicy {
	if t.IsBYOC() {
		return SASLOff
	}
	return SASLRequired
}

// CheckSASL reports whether a cluster of type t may have policy p. Serverless
// clusters always require SASL.
func (t Type) CheckSASL(p SASLPolicy) error {
	if !t.Valid() {
		return fmt.Errorf("%w: unknown cluster type", ErrInvalid)
	}
	if !p.Valid() {
		return fmt.Errorf("%w: unknown SASL policy", ErrInvalid)
	}
	if !t.IsBYOC() && p != SASLRequired {
		return fmt.Errorf("%w: a %s cluster always requires SASL", ErrInvalid, t)
	}
	return nil
}

// SASLPolicy says whether Kafka clients of a cluster must authenticate.
type SASLPolicy uint8

// The SASL policies. The zero SASLPolicy is invalid.
const (
	SASLOff      SASLPolicy = 1 // clients may connect without SASL
	SASLRequired SASLPolicy = 2 // an unauthenticated connection is refused
)

// Valid reports whether p is a known policy.
func (p SASLPolicy) Valid() bool { return p == SASLOff || p == SASLRequired }

// String returns "off" or "required".
func (p SASLPolicy) String() string {
	switch p {
	case SASLOff:
		return "off"
	case SASLRequired:
		return "required"
	}
	return fmt.Sprintf("cluster.SASLPolicy(%d)", uint8(p))
}

// AllowsUnauthenticated reports whether a connection may proceed without
// SASL: the one question an agent asks of the policy.
func (p SASLPolicy) AllowsUnauthenticated() bool { return p == SASLOff }
