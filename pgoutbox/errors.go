package pgoutbox

import (
	"errors"
	"fmt"
)

// Errors returned or reported by this package. Errors from pgx are wrapped
// beside them, so errors.Is matches both.
var (
	// ErrDSN is returned by [NewRelay] for a connection string pgx cannot
	// parse.
	ErrDSN = errors.New("pgoutbox: malformed DSN")

	// ErrEncode is returned by [Outbox.Write] when the codec cannot encode
	// the event; nothing was written.
	ErrEncode = errors.New("pgoutbox: cannot encode event")

	// ErrDecode is the reason of a [DeadLetter]: a row whose payload the
	// codec cannot decode into the relay's event type.
	ErrDecode = errors.New("pgoutbox: cannot decode payload")

	// ErrAlreadyRunning is returned by [Relay.Run] while another Run of the
	// same relay has not returned.
	ErrAlreadyRunning = errors.New("pgoutbox: relay already running")
)

// A DeadLetter is an outbox row a [Relay] gave up on: its payload cannot be
// decoded. The row stays in the table, marked with the reason in its
// dead_letter column, and is never relayed again unless that column is set
// back to NULL (after fixing the payload, or the codec).
type DeadLetter struct {
	// Table is the outbox table, as given to [WithTable].
	Table string
	// ID is the row's id column.
	ID int64
	// Key is the row's ordering key, as given to [Outbox.Write].
	Key string
	// Payload is the row's raw payload.
	Payload []byte
	// Err is why the row was given up on; it wraps [ErrDecode].
	Err error
}

// String describes the dead letter for logs.
func (d DeadLetter) String() string {
	return fmt.Sprintf("pgoutbox: dead letter: %s row %d (key %q): %v", d.Table, d.ID, d.Key, d.Err)
}
