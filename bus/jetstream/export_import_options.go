package jetstream

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Default values of the [Exporter] and [Import] options.
const (
	// DefaultExportMailbox is how many events an exporter queues before
	// [Inbox.Send] waits and [Inbox.Offer] fails.
	DefaultExportMailbox = 1024
	// DefaultImportMailbox is how many messages an import holds for its
	// handler; it also sizes the pull batch and MaxAckPending.
	DefaultImportMailbox = 64
	// DefaultPublishAttempts is how many times an exporter publishes an
	// event before reporting it as a dead letter.
	DefaultPublishAttempts = 5
	// DefaultPublishTimeout bounds the wait for one publish's ack.
	DefaultPublishTimeout = 5 * time.Second
	// DefaultBackoffMin and DefaultBackoffMax bound the delay before an
	// exporter's next attempt and before a failed message is redelivered.
	DefaultBackoffMin = 100 * time.Millisecond
	DefaultBackoffMax = 30 * time.Second
	// DefaultMaxDeliver is how many times a message is delivered to an
	// import's handler before it is terminated as a dead letter.
	DefaultMaxDeliver = 5
	// DefaultAckWait is how long JetStream waits for an ack before it
	// redelivers a message.
	DefaultAckWait = 30 * time.Second
	// DefaultDrainTimeout bounds the handling of what is queued when an
	// exporter or import stops.
	DefaultDrainTimeout = 2 * time.Second
)

// An ExportOption configures an [Exporter]. The options of type
// [CommonOption] configure both exporters and imports.
type ExportOption interface{ applyExport(*exportConfig) }

// An ImportOption configures an [Import]. The options of type
// [CommonOption] configure both exporters and imports.
type ImportOption interface{ applyImport(*importConfig) }

// A CommonOption configures an [Exporter] or an [Import].
type CommonOption func(*common)

func (o CommonOption) applyExport(c *exportConfig) { o(&c.common) }
func (o CommonOption) applyImport(c *importConfig) { o(&c.common) }

type exportOption func(*exportConfig)

func (o exportOption) applyExport(c *exportConfig) { o(c) }

type importOption func(*importConfig)

func (o importOption) applyImport(c *importConfig) { o(c) }

type common struct {
	mailbox      int
	onDeadLetter func(DeadLetter)
	drainTimeout time.Duration
	backoffMin   time.Duration
	backoffMax   time.Duration
}

type exportConfig struct {
	common
	attempts int
	timeout  time.Duration
}

type importConfig struct {
	common
	maxDeliver    int
	ackWait       time.Duration
	maxAckPending int
	deadSubject   string
	unordered     bool
}

func defaultCommon(mailbox int) common {
	return common{
		mailbox:      mailbox,
		drainTimeout: DefaultDrainTimeout,
		backoffMin:   DefaultBackoffMin,
		backoffMax:   DefaultBackoffMax,
	}
}

// WithMailbox sets how many events (exporter) or messages (import) are
// queued for the actor. The defaults are [DefaultExportMailbox] and
// [DefaultImportMailbox]. It panics if n < 1.
func WithMailbox(n int) CommonOption {
	if n < 1 {
		panic(fmt.Sprintf("jetstream: WithMailbox: n %d < 1", n))
	}
	return func(c *common) { c.mailbox = n }
}

// WithDeadLetterHook sets the function called with every event or message
// given up. The default logs it at level Error. The hook must not block.
func WithDeadLetterHook(h func(DeadLetter)) CommonOption {
	if h == nil {
		panic("jetstream: WithDeadLetterHook: nil hook")
	}
	return func(c *common) { c.onDeadLetter = h }
}

// WithDrainTimeout sets how long what is queued is still handled after the
// context of Run ended. The default is [DefaultDrainTimeout]. It panics if
// d < 0.
func WithDrainTimeout(d time.Duration) CommonOption {
	if d < 0 {
		panic(fmt.Sprintf("jetstream: WithDrainTimeout: negative timeout %v", d))
	}
	return func(c *common) { c.drainTimeout = d }
}

// WithBackoff bounds the delay before the next attempt: an exporter's next
// publish of an event, an import's redelivery of a message whose handler
// failed (the NakWithDelay). The n-th delay is drawn from [c/2, c] where c
// is min·2ⁿ⁻¹ capped at max. The defaults are [DefaultBackoffMin] and
// [DefaultBackoffMax]. It panics unless 0 < min <= max.
func WithBackoff(min, max time.Duration) CommonOption {
	if min <= 0 || max < min {
		panic(fmt.Sprintf("jetstream: WithBackoff: want 0 < min <= max, got min %v, max %v", min, max))
	}
	return func(c *common) { c.backoffMin, c.backoffMax = min, max }
}

// delay returns the backoff before attempt n+1 after n failed ones.
func (c *common) delay(n int) time.Duration {
	d := c.backoffMin
	for i := 1; i < n && d < c.backoffMax; i++ {
		d *= 2
	}
	d = min(d, c.backoffMax)
	return d/2 + rand.N(d/2+1)
}

// WithPublishAttempts sets how many times an exporter publishes an event
// before it reports it as a dead letter with [ErrPublish]. The default is
// [DefaultPublishAttempts]. It panics if n < 1.
func WithPublishAttempts(n int) ExportOption {
	if n < 1 {
		panic(fmt.Sprintf("jetstream: WithPublishAttempts: n %d < 1", n))
	}
	return exportOption(func(c *exportConfig) { c.attempts = n })
}

// WithPublishTimeout bounds the wait for the ack of one publish. The
// default is [DefaultPublishTimeout]. It panics if d <= 0.
func WithPublishTimeout(d time.Duration) ExportOption {
	if d <= 0 {
		panic(fmt.Sprintf("jetstream: WithPublishTimeout: timeout %v <= 0", d))
	}
	return exportOption(func(c *exportConfig) { c.timeout = d })
}

// WithMaxDeliver sets how many times the handler is called with a message
// that keeps failing before the import terminates it and reports it as a
// dead letter with [ErrMaxDeliver]. Only handler attempts count: not the
// deliveries of a message given back unhandled, nor those after AckWait.
// The consumer's own MaxDeliver is left unlimited, so that the server never
// drops a message silently. The default is [DefaultMaxDeliver]. It panics
// if n < 1.
func WithMaxDeliver(n int) ImportOption {
	if n < 1 {
		panic(fmt.Sprintf("jetstream: WithMaxDeliver: n %d < 1", n))
	}
	return importOption(func(c *importConfig) { c.maxDeliver = n })
}

// WithAckWait sets the consumer's AckWait: how long JetStream waits for the
// ack of a message before delivering it again. The import reports every
// message it holds in progress every third of AckWait, so AckWait bounds
// how long the messages of a process that died or froze wait before they
// go to another one, not how long a handler may take. The default is
// [DefaultAckWait]. It panics if d <= 0.
func WithAckWait(d time.Duration) ImportOption {
	if d <= 0 {
		panic(fmt.Sprintf("jetstream: WithAckWait: %v <= 0", d))
	}
	return importOption(func(c *importConfig) { c.ackWait = d })
}

// WithMaxAckPending sets the consumer's MaxAckPending: how many messages
// may be delivered and not yet acked, over every process sharing the
// durable consumer. Each import holds at most its mailbox; the default,
// 16 mailboxes, leaves room for 16 imports sharing the consumer. It panics
// if n < 1.
func WithMaxAckPending(n int) ImportOption {
	if n < 1 {
		panic(fmt.Sprintf("jetstream: WithMaxAckPending: n %d < 1", n))
	}
	return importOption(func(c *importConfig) { c.maxAckPending = n })
}

// WithDeadLetterSubject makes the import publish a copy of every message it
// terminates to subject, with the original headers, its payload and a
// [ReasonHeader]: JetStream has no dead-letter queue of its own, and a
// terminated message otherwise stays in the stream unseen. The subject
// should be stored by a stream (the bridge's default subjects "<prefix>.>"
// include "<prefix>.dead.OrderCreated", say). It panics if subject is not a
// literal subject.
func WithDeadLetterSubject(subject string) ImportOption {
	checkSubject("WithDeadLetterSubject", "subject", subject)
	return importOption(func(c *importConfig) { c.deadSubject = subject })
}

// WithUnordered makes a failed message wait for its next attempt outside
// the import: it is naked with the backoff as its delay and the handler
// goes on with the next messages meanwhile, so a retry may come after
// messages published later. By default an import retries a failed message
// in place, before any later one: slower when handlers fail, but in order.
func WithUnordered() ImportOption {
	return importOption(func(c *importConfig) { c.unordered = true })
}
