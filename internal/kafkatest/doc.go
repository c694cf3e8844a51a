// Package kafkatest is a minimal Kafka-protocol listener for tests: just
// enough of a broker for a real Kafka client (franz-go's kgo, in this
// package's tests) to connect, authenticate with SASL and ask for metadata.
// It exists so that the agent's SASL decisions can be tested end to end,
// through a client that was not written by us, before any real agent exists.
//
// # What it answers
//
// [Start] listens on 127.0.0.1 on a free port and answers four requests,
// decoded and encoded with franz-go's kmsg:
//
//   - ApiVersions v0–v3. A newer version (kgo asks with v5 first) is
//     answered as Kafka does since KIP-511: error UNSUPPORTED_VERSION in a
//     v0 response whose only key is ApiVersions with the versions we take,
//     and the client retries with v3. Its response header is never
//     flexible, whatever the version.
//   - SaslHandshake v0–v1. An enabled mechanism is accepted; any other is
//     answered with UNSUPPORTED_SASL_MECHANISM (33) and the list of enabled
//     ones, and the connection stays open for the client to try another
//     (Kafka closes it instead). After a v0 handshake the next frames are
//     bare SASL tokens, not requests, as in Kafka before 1.0.
//   - SaslAuthenticate v0–v2, whose session lifetime (v1+) is always 0: no
//     re-authentication is asked for.
//   - Metadata v0–v13: one broker (the listener itself, node 0, its host and
//     port), the configured cluster id, node 0 as controller, and no topics;
//     a topic asked for by name is answered UNKNOWN_TOPIC_OR_PARTITION.
//
// Any other request, a request version out of range, a malformed request or
// a frame over [MaxRequestSize] closes the connection, as does a request
// that breaks the SASL sequence (SaslAuthenticate with no handshake, a
// second handshake in the middle of an exchange). After success a further
// SaslHandshake or SaslAuthenticate is answered ILLEGAL_SASL_STATE, as
// Kafka does when re-authentication is off.
//
// # Who decides
//
// The listener decides nothing about credentials: an [Authenticator]
// supplied in [Config] lists the mechanisms, says whether a connection may
// skip SASL (the cluster's SASL policy), and runs each exchange. The engine
// of package auth plugs in there; the tests use a fake.
//
// A failed exchange (whatever [Exchange] error, or a failed
// [Authenticator.Start]) is answered SASL_AUTHENTICATION_FAILED (58) with
// the one message [FailureMessage], whatever the cause: a wrong password, an
// unknown user and a revoked key look the same on the wire. The answer comes
// after [Config.FailureDelay] (100 ms by default, as in Kafka), waited in the
// connection's goroutine once the Exchange has returned, and the connection
// is closed once it is written. The Exchange's error goes to [Config.Logf]
// only, never to the client.
//
// A connection that has not authenticated may send ApiVersions and the SASL
// requests; anything else closes it unless [Authenticator.AllowUnauthenticated]
// says so, and never in the middle of an exchange.
//
// # What it does not do
//
// It is not a broker: no topics, no produce or fetch, no groups, no
// authorization of requests after authentication, no TLS, no
// re-authentication (KIP-368), no quotas or throttling, no rate limit on
// failures beyond the delay. It reads one request at a time per connection
// and answers in order. It is for tests only, which is why it sits under
// internal/.
//
// # Shutting down and counting
//
// [Server.Close] closes the listener and every connection and waits for all
// of the server's goroutines to end. [Server.Stats] counts successful and
// failed authentications for each connection, and who authenticated.
package kafkatest
