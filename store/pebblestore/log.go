package pebblestore

import (
	"github.com/cockroachdb/redact"

	"context"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
)

// pebbleLogger is Pebble's Logger on an optional slog.Logger: quiet when l
// is nil.
type pebbleLogger struct {
	l *slog.Logger
}

var _ pebble.Logger = pebbleLogger{}

// Infof logs Pebble's informational messages at Debug level.
func (p pebbleLogger) Infof(format string, args ...any) {
	p.log(slog.LevelDebug, format, args...)
}

// Errorf logs at Error level.
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.log(slog.LevelError, format, args...)
}

// Fatalf logs at Error level, then panics: Pebble calls it for failures it
// cannot recover from (a failed log or MANIFEST write), after which it may
// carry on as if the write had succeeded; it must not return.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if p.l != nil {
		p.l.Error("pebble: fatal: " + msg)
	}
	panic("pebblestore: pebble fatal error: " + msg)
}

func (p pebbleLogger) log(level slog.Level, format string, args ...any) {
	if p.l == nil || !p.l.Enabled(context.Background(), level) {
		return
	}
	p.l.Log(context.Background(), level, "pebble: "+fmt.Sprintf(format, args...))
}

// eventListener routes Pebble's notable events to l (nowhere if l is nil).
// Detected corruption is logged, not fatal (Pebble's default): the read
// that found it returns an error wrapping store.ErrCorrupt.
func eventListener(l *slog.Logger) *pebble.EventListener {
	p := pebbleLogger{l}
	return &pebble.EventListener{
		// Errors and corruption reports may name user keys, which hold
		// digest prefixes and usernames: their unsafe parts are redacted.
		BackgroundError: func(err error) {
			p.log(slog.LevelError, "background error: %s", redacted(err))
		},
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			p.log(slog.LevelError, "data corruption: %s", redacted(info))
		},
		DiskSlow: func(info pebble.DiskSlowInfo) {
			p.log(slog.LevelWarn, "%v", info)
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			p.log(slog.LevelWarn, "write stall: %v", info)
		},
		WriteStallEnd: func() {
			p.log(slog.LevelInfo, "write stall ended")
		},
		LowDiskSpace: func(info pebble.LowDiskSpaceInfo) {
			p.log(slog.LevelWarn, "%v", info)
		},
		PossibleAPIMisuse: func(info pebble.PossibleAPIMisuseInfo) {
			p.log(slog.LevelError, "possible API misuse: %v", info)
		},
	}
}

// redacted formats v with the parts Pebble does not mark safe (keys,
// values) replaced by a placeholder.
func redacted(v any) string { return string(redact.Sprint(v).Redact().StripMarkers()) }
