package badgerstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// logger adapts a *slog.Logger, possibly nil, to badger.Logger. With a nil
// logger every message is dropped: badger's default logger writes to
// standard error.
type logger struct {
	l   *slog.Logger
	dir string
}

func (l logger) Errorf(format string, args ...any)   { l.log(slog.LevelError, format, args) }
func (l logger) Warningf(format string, args ...any) { l.log(slog.LevelWarn, format, args) }
func (l logger) Infof(format string, args ...any)    { l.log(slog.LevelInfo, format, args) }
func (l logger) Debugf(format string, args ...any)   { l.log(slog.LevelDebug, format, args) }

func (l logger) log(level slog.Level, format string, args []any) {
	if l.l == nil || !l.l.Enabled(context.Background(), level) {
		return
	}
	// Badger puts keys, which hold digest prefixes and usernames, in some
	// messages ("Unable to read: Key: %v"): byte slices are shown by their
	// length only.
	for i, a := range args {
		if b, ok := a.([]byte); ok {
			args[i] = fmt.Sprintf("<%d bytes>", len(b))
		}
	}
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	l.l.Log(context.Background(), level, msg, "component", "badger", "dir", l.dir)
}
