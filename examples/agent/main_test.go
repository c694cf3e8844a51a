package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var buf bytes.Buffer
	if err := run(t.Context(), &buf); err != nil {
		t.Fatalf("run: %v\noutput so far:\n%s", err, buf.String())
	}
	out := buf.String()
	for _, s := range []string{
		"exported a signed snapshot",
		"agent refused a tampered snapshot: auth: snapshot signature does not verify",
		"agent applied snapshot version 1",
		`offline: the agent key of "orders-east" authenticates`,
		`offline: the agent key of "orders-west" is refused: auth: permission denied`,
		"offline: a Kafka client logs in with SASL PLAIN as ccun_",
		"applied version 2: the deleted credential is refused: auth: unauthenticated",
		"the old snapshot is refused: auth: snapshot older than the one applied",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q", s)
		}
	}
	// No secret, password or key in any form: secrets and passwords are
	// their prefix and 64 hex digits; keys and messages printed as byte
	// slices are runs of decimal numbers; base64 is a long run of its
	// alphabet. Usernames (32 hex digits) and ids are fine.
	for what, re := range map[string]*regexp.Regexp{
		"a secret or password": regexp.MustCompile(`(aks|ccp)_[0-9a-fA-F]`),
		"64 hex digits":        regexp.MustCompile(`[0-9a-fA-F]{64}`),
		"a byte slice":         regexp.MustCompile(`\[\d{1,3}( \d{1,3}){7,}`),
		"base64":               regexp.MustCompile(`[A-Za-z0-9+/]{40,}`),
	} {
		if re.MatchString(out) {
			t.Errorf("output shows %s", what)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
