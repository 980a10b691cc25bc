package actor

import (
	"sync"
	"sync/atomic"
)

// gate is the Run state shared by [Actor] and [Pool]: whether sends are
// accepted, and the channel that wakes the senders waiting for room when a
// Run's context ends.
type gate struct {
	// state is read on every send; it changes under mu, and so does stop.
	state atomic.Int32
	mu    sync.Mutex
	// stop is closed when a Run's context ends, waking senders waiting for
	// room; the next Run makes a new one.
	stop       atomic.Pointer[chan struct{}]
	stopClosed bool
}

func (g *gate) init() {
	stop := make(chan struct{})
	g.stop.Store(&stop)
}

// start moves the gate to running unless it is running already.
func (g *gate) start() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.state.Load() {
	case idle:
	case stopped:
		if g.stopClosed {
			stop := make(chan struct{})
			g.stop.Store(&stop)
			g.stopClosed = false
		}
	default:
		return false
	}
	g.state.Store(running)
	return true
}

// refuse makes sends fail from now on and wakes the senders waiting for room.
func (g *gate) refuse() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state.Load() != running {
		return
	}
	g.state.Store(draining)
	close(*g.stop.Load())
	g.stopClosed = true
}

// retire moves a gate that no Run is using to stopped, as the end of a Run
// would: sends fail from now on. It calls f under the gate's lock, so that
// no Run starts meanwhile, and reports whether it did.
func (g *gate) retire(f func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.state.Load() {
	case idle:
		g.state.Store(stopped)
		close(*g.stop.Load())
		g.stopClosed = true
	case stopped:
	default:
		return false
	}
	f()
	return true
}
