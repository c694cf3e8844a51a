package scram

import (
	"bytes"
	"errors"
	"testing"

	xdg "github.com/xdg-go/scram"
)

// xdgHash is xdg-go/scram's hash of each mechanism offered.
var xdgHash = map[Mechanism]xdg.HashGeneratorFcn{SHA256: xdg.SHA256, SHA512: xdg.SHA512}

// runXDG runs one conversation of xdg-go/scram's client cc against conv,
// until either side fails or both are done. It returns whether the client
// accepted the server's signature, and the server's error.
func runXDG(t *testing.T, cc *xdg.ClientConversation, conv *Conversation) (clientValid bool, serverErr error) {
	t.Helper()
	msg := ""
	for {
		out, err := cc.Step(msg)
		if err != nil {
			t.Fatalf("client: %v", err)
		}
		if cc.Done() {
			return cc.Valid(), nil
		}
		if msg, serverErr = step(conv, out); serverErr != nil {
			return false, serverErr
		}
	}
}

func TestInteropXDG(t *testing.T) {
	const user, password = "alice", "s3cret password"
	for _, m := range []Mechanism{SHA256, SHA512} {
		t.Run(m.String(), func(t *testing.T) {
			v, err := NewVerifier(m, []byte(password), nil, DefaultIterations)
			if err != nil {
				t.Fatal(err)
			}
			s := newTestServer(t, m, map[string]Verifier{user: v}, "")
			newClient := func(t *testing.T, password, authz string) *xdg.Client {
				c, err := xdgHash[m].NewClient(user, password, authz)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			for _, tc := range []struct {
				name     string
				password string
				authz    string
				conv     func(*xdg.Client) *xdg.ClientConversation
				ok       bool
			}{
				{"right password", password, "", (*xdg.Client).NewConversation, true},
				{"authzid", password, user, (*xdg.Client).NewConversation, true},
				{"gs2 y", password, "", (*xdg.Client).NewConversationAdvertisingChannelBinding, true},
				{"wrong password", password + "!", "", (*xdg.Client).NewConversation, false},
				{"empty password", "", "", (*xdg.Client).NewConversation, false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					conv := s.Start()
					valid, err := runXDG(t, tc.conv(newClient(t, tc.password, tc.authz)), conv)
					if tc.ok {
						if err != nil || !valid || !conv.Done() || conv.Username() != user {
							t.Fatalf("server %v, client valid %v, Done %v, Username %q", err, valid, conv.Done(), conv.Username())
						}
						return
					}
					if err != ErrAuthFailed || conv.Done() || conv.Username() != "" {
						t.Fatalf("server %v, Done %v, Username %q; want ErrAuthFailed", err, conv.Done(), conv.Username())
					}
					if _, err := step(conv, "c=biws"); err != ErrFinished {
						t.Fatalf("Step after the failure: %v, want ErrFinished", err)
					}
				})
			}
		})
	}
}

// TestInteropXDGCredentials compares NewVerifier with xdg-go/scram's
// stored credentials for the same password, salt and iteration count.
func TestInteropXDGCredentials(t *testing.T) {
	salts := [][]byte{[]byte("12345678"), bytes.Repeat([]byte{0xa5}, SaltLen), bytes.Repeat([]byte("s"), MaxSaltLen)}
	for _, m := range []Mechanism{SHA256, SHA512} {
		for _, password := range []string{"pencil", "pässwörd with spaces", "x"} {
			for i, salt := range salts {
				iters := []int{MinIterations, 5000, MaxIterations}[i]
				c, err := xdgHash[m].NewClientUnprepped("u", password, "")
				if err != nil {
					t.Fatal(err)
				}
				want, err := c.GetStoredCredentialsWithError(xdg.KeyFactors{Salt: string(salt), Iters: iters})
				if err != nil {
					t.Fatal(err)
				}
				got, err := NewVerifier(m, []byte(password), salt, iters)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.StoredKey, want.StoredKey) || !bytes.Equal(got.ServerKey, want.ServerKey) ||
					!bytes.Equal(got.Salt, salt) || got.Iterations != iters {
					t.Errorf("%v %q salt %d iters %d: NewVerifier differs from xdg-go/scram", m, password, len(salt), iters)
				}
			}
		}
	}
}

// TestInteropXDGServer runs our verifier behind xdg-go/scram's server, the
// other way round, with xdg-go/scram's client: a verifier made here works
// elsewhere.
func TestInteropXDGServer(t *testing.T) {
	for _, m := range []Mechanism{SHA256, SHA512} {
		v, err := NewVerifier(m, []byte("pencil"), nil, DefaultIterations)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := xdgHash[m].NewServer(func(string) (xdg.StoredCredentials, error) {
			return xdg.StoredCredentials{
				KeyFactors: xdg.KeyFactors{Salt: string(v.Salt), Iters: v.Iterations},
				StoredKey:  v.StoredKey, ServerKey: v.ServerKey,
			}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		client, err := xdgHash[m].NewClient("user", "pencil", "")
		if err != nil {
			t.Fatal(err)
		}
		cc, sc := client.NewConversation(), srv.NewConversation()
		msg := ""
		for !cc.Done() {
			out, err := cc.Step(msg)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Done() {
				break
			}
			if msg, err = sc.Step(out); err != nil {
				t.Fatal(err)
			}
		}
		if !cc.Valid() || !sc.Valid() {
			t.Fatalf("%v: client valid %v, server valid %v", m, cc.Valid(), sc.Valid())
		}
	}
}

// TestSASLprep shows the one way xdg-go/scram's NewClient and Kafka
// differ: NewClient normalizes the password with SASLprep, Kafka (and
// NewVerifier) use its bytes as they are. A password that SASLprep changes
// (here a no-break space, mapped to a space) then fails.
func TestSASLprep(t *testing.T) {
	const password = "no\u00a0break"
	v, err := NewVerifier(SHA256, []byte(password), nil, DefaultIterations)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, SHA256, map[string]Verifier{"user": v}, "")
	prepped, err := xdg.SHA256.NewClient("user", password, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runXDG(t, prepped.NewConversation(), s.Start()); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("SASLprep'd password: %v, want ErrAuthFailed", err)
	}
	raw, err := xdg.SHA256.NewClientUnprepped("user", password, "")
	if err != nil {
		t.Fatal(err)
	}
	if valid, err := runXDG(t, raw.NewConversation(), s.Start()); err != nil || !valid {
		t.Fatalf("password as is: %v, valid %v", err, valid)
	}
}
