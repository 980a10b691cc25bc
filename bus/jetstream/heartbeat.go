package jetstream

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// heartbeat tells JetStream that the message in the handler is still being
// worked on, so that a handler running longer than AckWait does not get its
// message delivered again meanwhile. Marking a message costs a mutex, not a
// timer: one ticker per import looks at whichever message is in hand.
type heartbeat struct {
	mu   sync.Mutex
	cur  jetstream.Msg
	gen  uint64
	seen uint64
}

func (h *heartbeat) begin(m jetstream.Msg) {
	h.mu.Lock()
	h.cur = m
	h.gen++
	h.mu.Unlock()
}

func (h *heartbeat) end() {
	h.mu.Lock()
	h.cur = nil
	h.mu.Unlock()
}

// tick returns the message to report in progress: the one in hand at the
// previous tick too.
func (h *heartbeat) tick() jetstream.Msg {
	h.mu.Lock()
	defer h.mu.Unlock()
	var m jetstream.Msg
	if h.cur != nil && h.gen == h.seen {
		m = h.cur
	}
	h.seen = h.gen
	return m
}

// heartbeat reports the message in hand in progress every third of AckWait,
// until stop is closed.
func (im *Import[E]) heartbeat(stop <-chan struct{}) {
	t := time.NewTicker(im.cfg.ackWait / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if m := im.hb.tick(); m != nil {
				if err := m.InProgress(); err != nil {
					im.b.log.Warn("jetstream in-progress failed", "import", im.durable, "error", err)
				}
			}
		}
	}
}
