// Package snapshot is the wire format of a cluster snapshot: what the
// control plane signs and an agent in the customer's cloud verifies, so that
// the agent keeps authenticating Kafka clients while the control plane is
// unreachable.
//
// [Encode] checks and signs a [Snapshot]; [Decode] verifies and decodes one.
// Exporting a snapshot from an engine's store and applying it to an agent's
// store are written on top of this package, elsewhere.
//
// # What a snapshot holds
//
// One virtual cluster's offline state, and nothing of any other cluster:
//
//   - the cluster's id, its workspace's and account's ids, its type (one
//     with agents: BYOC) and its SASL policy;
//   - the cluster's key of fake SCRAM salts, so that an unknown username
//     gets the same salt from the agent as from the control plane;
//   - the hot records of the agent keys of its workspace: those bound to
//     it and those granted every cluster ("*"), which may act on it, and
//     those bound to the workspace's other clusters, so that the agent
//     can refuse one of them as a permission error, not as an unknown key;
//   - the records of the cluster's credentials;
//   - a version, an issue time and an expiry.
//
// # What it never holds
//
// No secret of an API key: a key record holds the SHA-256 digest of the
// secret only. No password: a credential record holds an argon2id hash and
// the SCRAM verifiers (salt, StoredKey, ServerKey). No private key. No key
// names or creation times (the keys' meta records stay in the control
// plane), no application or account keys, no credential of another
// cluster.
//
// A snapshot is signed, not encrypted: the hashes and verifiers in it are
// material for an offline guessing attack on passwords, and the fake salt
// key tells real usernames from unknown ones. Store and move it as the
// sensitive file it is.
//
// # Format, version 2
//
// All integers are big-endian; ids are 16-byte binary UUIDs.
//
//	offset  size  field
//	     0    20  magic "streamauth-snapshot\x00"
//	    20     1  format version, 2
//	    21     8  signer key id: the first 8 bytes of SHA-256(ed25519 public key)
//	    29    16  cluster id
//	    45    16  workspace id
//	    61    16  account id
//	    77     1  cluster type (cluster.Type)
//	    78     1  SASL policy (cluster.SASLPolicy)
//	    79     8  version, uint64
//	    87     8  issued, int64 Unix nanoseconds
//	    95     8  expires, int64 Unix nanoseconds
//	   103    32  fake salt key
//	   135     4  K, the number of agent keys, uint32
//	   139     4  C, the number of credentials, uint32
//	   143        K agent key entries:  length uint16, hot key record (wire form)
//	              C credential entries: credential id (16), length uint16, credential record
//	  n-64    64  ed25519 signature
//
// The signature is a plain ed25519 signature (RFC 8032, deterministic) of
// the message
//
//	"streamauth snapshot v2\x00" || SHA-256(bytes [0, n-64))
//
// that is, of the digest of everything before it behind a
// domain-separation prefix, so that a signature made for anything else
// with the same key is never a snapshot signature. Signing the SHA-256
// digest rather than the bytes spares ed25519 a SHA-512 pass over the
// whole snapshot (SHA-256 runs in hardware on current processors, several
// times faster); version 1 signed the bytes themselves and is refused.
// The signature ends the snapshot: nothing follows it.
// Records are those of package record, each with its own version byte and
// CRC-32C. An agent key's hot record is in its wire form
// (record.AppendKeyWire: version 1, 111 bytes, the full 32-byte digest),
// not in the shorter store form an engine keeps under the digest prefix
// (record.AppendKey, version 2), which leaves the prefix to its store key:
// an entry has no store key. Snapshots of every release carry the wire
// form; an agent writes each record into its store in the store form.
//
// # What Decode checks
//
// In this order, and nothing past the header before the signature
// verifies:
//
//  1. the size: at most [MaxSize], at least a header and a signature;
//  2. the magic and the format version;
//  3. the key id names one of the trusted public keys, and the signature
//     verifies with it ([ErrSignature] otherwise);
//  4. the counts: at most [MaxEntries] each, and no more than the bytes
//     left can hold; each entry within the bytes; no byte between the last
//     entry and the signature;
//  5. the header: nonzero ids; a type with agents and a SASL policy valid
//     for it; a nonzero version; expires after issued; a nonzero fake salt
//     key;
//  6. each agent key: a valid hot record in the wire form
//     (record.ViewKeyWire, which refuses the store form) of kind agent,
//     of the snapshot's account and workspace, and either bound to a
//     cluster (flags 0, nonzero cluster) or granted every cluster of the
//     workspace (flags record.FlagAnyCluster, zero cluster); nonzero ids in
//     strictly increasing order; no two digest prefixes alike;
//  7. each credential: a valid record (record.DecodeCredential, which
//     bounds the cost parameters) of the snapshot's cluster, workspace and
//     account; nonzero ids in strictly increasing order; no two usernames
//     alike.
//
// Steps 1, 2 and 4 to 7 fail with [ErrMalformed]. [Encode] checks steps 5
// to 7 and the bounds before it signs, and refuses with [ErrInvalid]: a
// snapshot Encode returns always decodes, and a snapshot Decode returns
// always encodes back to the same bytes.
//
// # What the caller checks
//
// Decode knows neither the clock nor the agent's state. Before applying a
// snapshot, an agent checks that its Cluster is the agent's own (one
// signing key serves every cluster, so a snapshot of another cluster
// verifies); that its Version is greater than the version applied last
// (an older snapshot, validly signed, must not roll back a revocation);
// and that it has not expired.
//
// # Rotating the signing key
//
// An agent trusts a set of public keys, not one, so that the signing key
// can be replaced without a moment in which agents refuse every snapshot:
//
//  1. Generate the new key pair in the control plane. Keep signing with
//     the old key.
//  2. Add the new public key to the trusted set of every agent. Wait until
//     every agent reports it (an agent can report the KeyID of each key it
//     trusts).
//  3. Sign every new snapshot with the new key. Agents accept snapshots of
//     both keys meanwhile.
//  4. Wait until every agent has applied a snapshot signed with the new
//     key, and until every snapshot signed with the old key has expired.
//  5. Remove the old public key from the trusted set of every agent.
//  6. Destroy the old private key.
//
// If the old key leaked, there is no waiting: steps 2 and 5 are done
// together, replacing the leaked key by the new one in every agent's set.
// A leaked key can sign any version, up to the largest, so an agent that
// applied a snapshot since the leak must have its applied version reset
// before it applies one signed with the new key.
package snapshot
