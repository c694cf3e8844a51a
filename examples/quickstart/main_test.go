package main

import (
	"bytes"
	"context"
	"errors"
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
	steps := []string{
		"created account aci_",
		`("Acme Corp")`,
		"created workspace wsi_",
		"issued application key aki_",
		"akn_terraform",
		"shown once",
		"aks_[REDACTED]",
		`created BYOC cluster vci_`,
		`("orders-east", SASL off) with its agent key aki_`,
		`("orders-west") with its agent key aki_`,
		`created serverless cluster vci_`,
		`("analytics", SASL required), agent key: <nil>`,
		"application key authenticated as application key aki_",
		`agent key of "orders-east" authorized for "orders-east"`,
		`agent key of "orders-east" refused for "orders-west": auth: permission denied`,
		"agent key refused on the public API: auth: permission denied",
		"revoked application key aki_",
		"it is refused: auth: unauthenticated",
		`deleted cluster "orders-west"; its agent key is refused: auth: unauthenticated`,
	}
	for _, s := range steps {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q", s)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 12 {
		t.Errorf("output has %d lines, want 12 (one per step)", len(lines))
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, "• ") {
			t.Errorf("line %d is not a step: %q", i+1, l)
		}
	}
	if m := regexp.MustCompile(`aks_[0-9a-f]{64}`).FindString(out); m != "" {
		t.Errorf("output shows a full secret")
	}
	// Nor a run of 64 hex digits with any other prefix.
	if regexp.MustCompile(`[0-9a-fA-F]{64}`).MatchString(out) {
		t.Errorf("output shows 64 hex digits in a row")
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var buf bytes.Buffer
	err := run(ctx, &buf)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("run with a cancelled context: got %v, want context.Canceled", err)
	}
	if buf.Len() != 0 {
		t.Errorf("run with a cancelled context printed %q", buf.String())
	}
}
