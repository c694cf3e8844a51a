// Package auth is streamauth's engine: it issues API keys, looks them up,
// authorizes what they may do and revokes them, over any [store.Store].
//
// # The domain
//
// An account holds workspaces; a workspace holds virtual clusters, each BYOC
// (the customer runs agents for it) or serverless. Three kinds of API key
// act on them, each defined by its [Grant]:
//
//   - an account key ([KindAccount]) acts at account level and on every
//     workspace of its account;
//   - an application key ([KindApplication]) acts on everything in its one
//     workspace;
//   - an agent key ([KindAgent]) runs agent operations for one BYOC cluster,
//     or for every BYOC cluster of its workspace.
//
// Creating a BYOC cluster issues its agent key in the same atomic write
// ([Engine.CreateCluster]); serverless clusters have none, and no agent key
// can be made for one.
//
// # Checking a request
//
// [Engine.Authenticate] turns a secret into a [Principal] or refuses it with
// [ErrUnauthenticated]; [Engine.Authorize] (public API) and
// [Engine.AuthorizeAgent] (agent operations) then answer nil or
// [ErrPermissionDenied]. The two refusals are distinct on purpose: the first
// means "who are you?", the second "not you, not here".
// [Engine.AuthenticateAPI] and [Engine.AuthenticateAgent] do both in one call.
//
// Authenticate parses the secret with no store access, digests it, reads
// the one record indexed under the digest's first 16 bytes and compares the
// full digest in constant time. Secrets are never stored, only digests; a
// secret is returned once, in the [IssuedKey] that creates it.
//
// # Kafka clients: credentials and SASL
//
// A Kafka client authenticates to a cluster's agent with a cluster
// credential ([Engine.CreateCredential]): a generated username and a
// password shown once, generated or imported. The store keeps an argon2id
// hash of the password for SASL PLAIN and SCRAM-SHA-256/512 verifiers,
// never the password. A credential is looked up within its own cluster
// only, so it never authenticates against another.
//
// An agent asks [Engine.AllowUnauthenticated] whether a connection may
// skip SASL (the cluster's policy: off by default for BYOC, always
// required for serverless), checks PLAIN messages with
// [Engine.AuthenticatePlain] and runs SCRAM exchanges with
// [Engine.StartSCRAM]. Every failed login has one error, whatever the
// cause; an unknown user costs the same work as a wrong password and, in
// SCRAM, gets a stable fake salt. Argon2id runs are bounded
// ([Options.MaxPasswordChecks], [ErrBusy]) and successful PLAIN checks
// remembered for a while ([Options.RememberPlain]); deleting a credential
// forgets them before it returns.
//
// # Errors
//
// Every failure matches one of the sentinels ([ErrUnauthenticated],
// [ErrPermissionDenied], [ErrNotFound], [ErrAlreadyExists],
// [ErrInvalidArgument], [ErrUnsupported]) with errors.Is, or is a store
// error ([store.ErrCorrupt], [store.ErrClosed], a context error) passed
// through. No error text holds secret material.
//
// # In front of the store
//
// Over a store that is not held in memory (pebble, badger), the engine
// keeps two things of its own, both configured in [Options]:
//
//   - an exact index of the digest prefixes of the live keys, loaded in
//     [New] and kept in step with every write, so that a well-formed but
//     unknown secret is refused with no store read;
//   - a bounded cache of recently authenticated keys.
//
// Over a store held in memory (memstore), it keeps no index, and caches
// every key that authenticates, about 75 bytes each: a cached key takes
// one read of one cache line, where the store's record takes two reads,
// one after the other.
//
// A revocation ([Engine.DeleteKey], [Engine.DeleteCluster]) takes its keys
// out of both before it returns, and a lookup that read a key before the
// revocation cannot put it back afterwards: Authenticate stays
// linearizable with revocations.
//
// Over any store (unless [Options.Shared]), the engine also remembers the
// scope of the clusters it authorized on: account, workspace and type,
// what [Engine.Authorize] and [Engine.AuthorizeAgent] need of a cluster,
// and what never changes in a cluster's life. So an authorization on a
// cluster reads nothing from the store. Deleting a cluster drops its scope
// the same way, before DeleteCluster returns.
//
// # Sharing a store
//
// Every write reads what it depends on, then commits a batch guarded on
// those reads being unchanged, and retries on [store.ErrConflict]. So a
// delete of a cluster and a concurrent creation of an agent key for it never
// leave a key without its cluster. Several engines may share one store if
// each is made with [Options.Shared], which turns the index, the cache and
// the clusters' scopes off: they see only the writes of their own engine.
package auth
