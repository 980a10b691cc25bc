package jetstream

import (
	"errors"

	"github.com/nats-io/nats.go"
)

// Errors returned or reported by this package. Errors from the NATS client
// are wrapped beside them, so errors.Is matches both.
var (
	// ErrPublish wraps the error of a publish that JetStream did not
	// acknowledge: returned by [Publish] and [Inbox.Send] callers' reports,
	// and the reason of an [Exporter]'s dead letter after its last attempt.
	ErrPublish = errors.New("jetstream: publish not acknowledged")

	// ErrEncode wraps the codec's error for an event that could not be
	// encoded. [Publish] and [Inbox.Send] return it; nothing was published.
	ErrEncode = errors.New("jetstream: cannot encode event")

	// ErrDecode is the reason of an imported message whose payload the codec
	// could not decode. The message is terminated and reported with its raw
	// bytes.
	ErrDecode = errors.New("jetstream: cannot decode message")

	// ErrUnknownType is the reason of an imported message whose type header
	// names another type than the import's. The message is terminated and
	// reported with its raw bytes.
	ErrUnknownType = errors.New("jetstream: unexpected event type")

	// ErrMaxDeliver is the reason of an imported message whose handler
	// failed (returned an error or panicked) on its last allowed delivery.
	// The reason also wraps the handler's error or the panic.
	ErrMaxDeliver = errors.New("jetstream: delivered the maximum number of times")

	// ErrPanicked is the error of an import's handler that panicked: the
	// panic is recovered, with its value and stack in the error's text,
	// and counts as a failure of the message.
	ErrPanicked = errors.New("jetstream: handler panicked")

	// ErrStream wraps the error of creating, updating or looking up the
	// stream; with [WithExistingStream], a missing stream.
	ErrStream = errors.New("jetstream: stream unavailable")

	// ErrConsumer wraps the error of creating or updating a durable
	// consumer.
	ErrConsumer = errors.New("jetstream: consumer unavailable")

	// ErrAlreadyRunning is returned by Run of an [Import] or [Exporter]
	// when another Run of it has not returned yet.
	ErrAlreadyRunning = errors.New("jetstream: already running")

	// ErrLoop is returned by [Export] and by Run of an import made by
	// [NewImportToBus] when one bus would both re-publish imported events
	// and export them: every event would go round JetStream forever.
	ErrLoop = errors.New("jetstream: imported events would be exported again")

	// ErrMaybeStored is also matched by the reason of an exported event
	// given up after a publish whose ack did not come in time: JetStream
	// may have stored it. Publishing it again is safe: its Nats-Msg-Id is
	// the same, and JetStream drops the copy within the stream's duplicate
	// window.
	ErrMaybeStored = errors.New("jetstream: may have been stored")

	// ErrStopped is the reason of an exported event that was accepted but
	// could not be published before its [Exporter] stopped, and of an
	// imported message released unhandled at shutdown.
	ErrStopped = errors.New("jetstream: stopped")
)

// DeadLetter is an event or message this package accepted but gave up on,
// with the reason why. Exported events become dead letters when JetStream did
// not acknowledge them after every attempt or when the exporter stopped
// first; imported messages when they were terminated (undecodable payload,
// unexpected type, last delivery failed).
type DeadLetter struct {
	// Subject is the JetStream subject the message was (to be) published
	// to or was received on.
	Subject string
	// Type is the event's type name, as sent in the [TypeHeader].
	Type string
	// MsgID is the message's Nats-Msg-Id.
	MsgID string
	// Data is the raw payload, as encoded by the codec.
	Data []byte
	// Header holds the message's headers. It must not be modified.
	Header nats.Header
	// Event is the decoded event, or nil when it could not be decoded.
	Event any
	// Reason says why the message was given up; it matches one of the Err
	// values of this package with errors.Is.
	Reason error
	// Attempts is how many times the message was published (export) or
	// delivered (import).
	Attempts int
	// Stream and Sequence locate an imported message in its stream; they
	// are empty for exported events.
	Stream   string
	Sequence uint64
}
