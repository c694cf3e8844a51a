package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// TestRun runs the quickstart on every backend, pebble in a temporary
// directory of its own choosing (the default) and badger in the test's.
func TestRun(t *testing.T) {
	for _, cfg := range []config{
		{Backend: "pebble"},
		{Backend: "badger", Dir: t.TempDir()},
		{Backend: "mem"},
	} {
		t.Run(cfg.Backend, func(t *testing.T) { testRun(t, cfg) })
	}
}

func testRun(t *testing.T, cfg config) {
	var buf bytes.Buffer
	if err := run(t.Context(), &buf, cfg); err != nil {
		t.Fatalf("run: %v\noutput so far:\n%s", err, buf.String())
	}
	out := buf.String()
	steps := []string{
		"opened a " + cfg.Backend + " store",
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
	wantLines := 13
	if cfg.Backend != "mem" {
		steps = append(steps, "reopened the store: the agent key of \"orders-east\" still authenticates, the revoked key is still refused")
		wantLines++
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != wantLines {
		t.Errorf("output has %d lines, want %d (one per step)", len(lines), wantLines)
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
	err := run(ctx, &buf, config{Backend: "pebble"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("run with a cancelled context: got %v, want context.Canceled", err)
	}
	if buf.Len() != 0 {
		t.Errorf("run with a cancelled context printed %q", buf.String())
	}
}

func TestRunUnknownStore(t *testing.T) {
	var buf bytes.Buffer
	if err := run(t.Context(), &buf, config{Backend: "etcd", Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "unknown store") {
		t.Errorf("run with an unknown store: got %v", err)
	}
}
