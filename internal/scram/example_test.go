package scram_test

import (
	"context"
	"crypto/rand"
	"fmt"

	xdg "github.com/xdg-go/scram"

	"github.com/streamauth/streamauth/internal/scram"
)

// A server that knows one user, alice, and three clients: alice with her
// password, alice with a wrong one, and a user who does not exist. The
// clients are xdg-go/scram's, standing in for a Kafka client.
func Example() {
	ctx := context.Background()

	// The Kafka client asked for SCRAM-SHA-256 in its SaslHandshake.
	mech, ok := scram.MechanismByName("SCRAM-SHA-256")
	if !ok {
		panic("unsupported mechanism")
	}

	// What the store keeps for alice: a verifier, never the password.
	v, err := scram.NewVerifier(mech, []byte("pencil"), nil, scram.DefaultIterations)
	if err != nil {
		panic(err)
	}
	users := map[string]scram.Verifier{"alice": v}

	// In production the FakeKey is a long-lived secret that every server
	// shares; a random one does for the example.
	fakeKey := make([]byte, 32)
	rand.Read(fakeKey)
	s, err := scram.NewServer(scram.ServerConfig{
		Mechanism: mech,
		Lookup: func(_ context.Context, name string) (scram.Verifier, bool, error) {
			v, ok := users[name]
			return v, ok, nil
		},
		FakeKey: fakeKey,
	})
	if err != nil {
		panic(err)
	}

	for _, login := range []struct{ user, password string }{
		{"alice", "pencil"}, {"alice", "crayon"}, {"mallory", "pencil"},
	} {
		client, err := xdg.SHA256.NewClient(login.user, login.password, "")
		if err != nil {
			panic(err)
		}
		cc := client.NewConversation()
		conv := s.Start()
		msg, _ := cc.Step("") // client-first-message
		for {
			// The agent passes each SaslAuthenticate request's bytes to
			// Step and sends the reply back.
			reply, err := conv.Step(ctx, []byte(msg))
			if err != nil {
				fmt.Printf("%s/%s: refused: %v\n", login.user, login.password, err)
				break
			}
			if msg, err = cc.Step(string(reply)); err != nil {
				panic(err)
			}
			if conv.Done() {
				fmt.Printf("%s/%s: authenticated as %s; the client checked the server: %v\n",
					login.user, login.password, conv.Username(), cc.Valid())
				break
			}
		}
	}
	// Output:
	// alice/pencil: authenticated as alice; the client checked the server: true
	// alice/crayon: refused: scram: authentication failed
	// mallory/pencil: refused: scram: authentication failed
}
