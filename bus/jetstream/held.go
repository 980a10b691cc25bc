package jetstream

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// held is the set of messages an import pulled and has not settled yet
// (acked, naked, terminated or released): those waiting in its mailbox and
// the one in the handler. The import pulls only as many messages as its
// mailbox has room for, so held never exceeds the mailbox, and reports every
// held message in progress to JetStream every third of AckWait: a message
// waiting behind a slow handler is not delivered to another worker
// meanwhile, however long the queue takes.
type held struct {
	mu   sync.Mutex
	msgs map[jetstream.Msg]struct{}
	room chan struct{} // signalled when a message is settled
}

func newHeld() held {
	return held{msgs: map[jetstream.Msg]struct{}{}, room: make(chan struct{}, 1)}
}

func (h *held) add(m jetstream.Msg) {
	h.mu.Lock()
	h.msgs[m] = struct{}{}
	h.mu.Unlock()
}

// settle removes m and signals the room it makes.
func (h *held) settle(m jetstream.Msg) {
	h.mu.Lock()
	delete(h.msgs, m)
	h.mu.Unlock()
	select {
	case h.room <- struct{}{}:
	default:
	}
}

func (h *held) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.msgs)
}

// all returns the held messages.
func (h *held) all() []jetstream.Msg {
	h.mu.Lock()
	defer h.mu.Unlock()
	ms := make([]jetstream.Msg, 0, len(h.msgs))
	for m := range h.msgs {
		ms = append(ms, m)
	}
	return ms
}

// inProgress reports every held message in progress, every third of
// AckWait, until stop is closed.
func (im *Import[E]) inProgress(stop <-chan struct{}) {
	t := time.NewTicker(max(im.cfg.ackWait/3, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			for _, m := range im.held.all() {
				if err := m.InProgress(); err != nil {
					im.b.log.Debug("jetstream in-progress failed", "import", im.durable, "error", err)
				}
			}
		}
	}
}

// failures counts the failed handler attempts of the messages an unordered
// import naked, by stream sequence, so that [WithMaxDeliver] counts handler
// attempts and not the deliveries of a message released unhandled. A count
// is forgotten when its message is settled here, or when it was not seen
// for longer than any redelivery takes (it went to another process).
type failures struct {
	mu     sync.Mutex
	counts map[uint64]failureCount
	maxAge time.Duration
}

type failureCount struct {
	n    int
	last time.Time
}

// add counts one more failure of the message at seq and returns the count.
func (f *failures) add(seq uint64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if f.counts == nil {
		f.counts = map[uint64]failureCount{}
	}
	if len(f.counts) >= 1024 {
		for s, c := range f.counts {
			if now.Sub(c.last) > f.maxAge {
				delete(f.counts, s)
			}
		}
	}
	c := f.counts[seq]
	c.n++
	c.last = now
	f.counts[seq] = c
	return c.n
}

func (f *failures) forget(seq uint64) {
	f.mu.Lock()
	delete(f.counts, seq)
	f.mu.Unlock()
}
