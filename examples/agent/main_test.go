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
	// Secrets and passwords are 64 hex digits; usernames and ids are not.
	if regexp.MustCompile(`[0-9a-fA-F]{64}`).MatchString(out) {
		t.Errorf("output shows 64 hex digits in a row")
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
