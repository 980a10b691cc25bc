package main

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/lmittmann/tint"
)

// newLogger returns a tint logger writing to w: coloured when w is a
// terminal, plain otherwise. Unless verbose, it logs from level Info and
// leaves out panic stacks (the actor logs one with every panic, and the demo
// panics on purpose).
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(tint.NewTextHandler(w, &tint.Options{
		Level:      level,
		TimeFormat: time.TimeOnly,
		NoColor:    !isTerminal(w),
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if verbose {
				return a
			}
			if a.Key == "stack" {
				return slog.Attr{}
			}
			// A panic's error carries its stack after the first line.
			if err, ok := a.Value.Any().(error); ok {
				if msg, _, cut := strings.Cut(err.Error(), "\n"); cut {
					return slog.String(a.Key, msg)
				}
			}
			return a
		},
	}))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
