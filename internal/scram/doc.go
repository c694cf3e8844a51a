// Package scram is the server side of SCRAM-SHA-256 and SCRAM-SHA-512
// (RFC 5802, RFC 7677), the SASL mechanisms with which Kafka clients prove
// they know a password without sending it.
//
// # The exchange
//
// SCRAM is four messages, two each way. With SCRAM-SHA-256, user "user"
// and password "pencil" (the example of RFC 7677):
//
//	client: n,,n=user,r=rOprNGfwEbeRWgbNEkqO
//	server: r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096
//	client: c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=
//	server: v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=
//
// The client names the user and sends a random nonce ("r="), behind a gs2
// header ("n,,": no channel binding, no separate authorization identity).
// The server appends its own nonce and sends the user's salt ("s=") and
// iteration count ("i="). The client derives SaltedPassword = PBKDF2(H,
// password, salt, iterations) and from it ClientKey = HMAC(SaltedPassword,
// "Client Key"), and sends a proof ("p=") bound to everything said so far,
// the AuthMessage: client-first-message without its gs2 header,
// server-first-message and client-final-message without its proof, joined
// by ',':
//
//	ClientProof = ClientKey XOR HMAC(H(ClientKey), AuthMessage)
//
// The server answers with its own signature ("v="), which shows the client
// that the server, too, knows the user's verifier. The nonces make each
// AuthMessage unique, so a recorded proof is worth nothing later.
//
// # What is stored
//
// A [Verifier], made by [NewVerifier]: the salt, the iteration count,
// StoredKey = H(ClientKey) and ServerKey = HMAC(SaltedPassword, "Server
// Key"). Never the password, nor ClientKey: a copy of the store lets no one
// log in, only test password guesses at the cost of PBKDF2 each (and
// pretend to be the server). A verifier belongs to one mechanism; a user
// who may log in with both has two.
//
// # What the server checks
//
// [Conversation.Step] enforces the protocol on every byte a client sends,
// and never panics whatever it gets:
//
//   - each message is 1 to [MaxMessageLen] bytes of UTF-8, without NUL;
//   - the gs2 header is "n" or "y" (the client could bind the channel but
//     believes the server cannot: true, there is no -PLUS mechanism here),
//     never "p=" (channel binding, refused), then an optional "a=" identity
//     that must be the username itself;
//   - "m=" (a mandatory extension) is refused; the username "n=" is 1 to
//     [MaxUsernameLen] bytes once "=2C" and "=3D" are decoded to ',' and
//     '=', and any other '=' is refused; the nonce "r=" is 1 to
//     [MaxNonceLen] bytes of printable ASCII other than ','; extensions
//     after it ("name=value", such as Kafka's "tokenauth=true") are
//     ignored, though they are part of the AuthMessage;
//   - the final message repeats the base64 of the exact gs2 header in "c="
//     and the exact whole nonce in "r="; the proof "p=" comes last, in
//     canonical base64 of exactly the hash's size;
//   - the proof: ClientKey = proof XOR HMAC(StoredKey, AuthMessage), and
//     H(ClientKey) must equal StoredKey, compared in constant time.
//
// A wrong proof is [ErrAuthFailed]; a broken rule is an error wrapping
// [ErrMalformed] with a short fixed reason. No error quotes the client's
// bytes, a proof or a key. The password is never normalized (no SASLprep):
// Kafka does not normalize either, so a Kafka client derives its proof from
// the very bytes the verifier was made from.
//
// # Unknown users
//
// A server that answered "no such user" to the first message would let
// anyone list its users, one probe each, without knowing any password. So
// an unknown user gets a server-first-message like everyone else's: a fake
// salt, HMAC(FakeKey, mechanism ‖ username), the same for the same name on
// every attempt (a salt that changed between attempts would give the user
// away), and the iteration count most real users have (ServerConfig's
// FakeIterations, DefaultIterations unless set). The proof is then checked
// against a fake StoredKey, with the same work as for a real user, and
// fails with the same [ErrAuthFailed]. What still differs is the time
// Lookup takes to find or not find a user, which is the store's to keep
// even (the first step's own work differs by one HMAC-SHA-256 of the
// username, about a microsecond); and real salts or iteration counts of
// unusual sizes (imported from elsewhere) set their users apart from the
// fake ones.
//
// # Using it
//
// One [Server] per mechanism, made once by [NewServer]; one [Conversation]
// per authentication attempt, from [Server.Start]. Feed Step each client
// message (the auth bytes of Kafka's SaslAuthenticate requests) and send
// back each reply; when [Conversation.Done] reports true, the connection
// belongs to [Conversation.Username].
package scram
