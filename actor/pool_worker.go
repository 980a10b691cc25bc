package actor

import (
	"context"
	"sync/atomic"

	"github.com/troupe-go/troupe/internal/panics"
)

// A worker is one goroutine of a [Pool]. In an unkeyed pool it takes
// messages from the mailbox; in a keyed one from in, fed by the dispatcher.
type worker[M any] struct {
	p  *Pool[M]
	id int
	// in is the hand-off channel of a keyed pool's worker, closed by the
	// dispatcher to stop it; nil in an unkeyed pool.
	in chan M
	// quit is closed, and retiring set, to make an unkeyed pool's worker
	// exit after the message in hand.
	quit     chan struct{}
	retiring atomic.Bool

	// pending is a message whose handler panicked, retried first when the
	// worker restarts; only the worker's goroutine touches these.
	pending    M
	hasPending bool
	attempts   int

	// The counters sit on a cache line of their own, away from the fields
	// other workers and senders read.
	_        [64]byte
	handled  atomic.Uint64
	failed   atomic.Uint64
	panicked atomic.Uint64
	busy     atomic.Bool
	_        [64]byte
}

// retire makes the worker exit after the message in hand. The caller holds
// the pool's wmu.
func (w *worker[M]) retire() {
	w.retiring.Store(true)
	close(w.quit)
}

// run is the worker's goroutine: it restarts the loop in place after a
// panic, and in an unkeyed pool drains the mailbox when the Run's ctx ends.
func (w *worker[M]) run(r *poolRun[M]) {
	for {
		perr := w.loop(r)
		if perr == nil {
			break
		}
		w.p.restarted(r, perr)
	}
	if w.in == nil && !w.retiring.Load() {
		w.drain(r.drainCtx(), r)
	}
}

// loop handles messages until the worker is told to stop (nil) or the
// handler panics. As in [Actor]'s loop, one deferred recover covers the
// whole loop, and the fast path is single-case selects.
func (w *worker[M]) loop(r *poolRun[M]) (perr *PanicError) {
	var cur M
	retry := false
	defer func() {
		if v := recover(); v != nil {
			perr = panics.New(v, 0)
			w.busy.Store(false)
			w.onPanic(cur, retry, perr)
		}
	}()
	if w.hasPending {
		cur, retry = w.pending, true
		w.clearPending()
		w.handle(r.hctx, cur)
		retry = false
	}
	// A keyed worker stops when in is closed; done and quit stay nil,
	// never ready.
	src, done, quit := w.in, r.done, w.quit
	if src == nil {
		src = w.p.mbox
	} else {
		done, quit = nil, nil
	}
	var ok bool
	for {
		// A retiring worker (never a keyed one) takes no other message.
		if w.retiring.Load() {
			return nil
		}
		// Once done is closed, the drain handles what is left, with its
		// own context: check before every message, whichever path took
		// the last one.
		select {
		case <-done:
			return nil
		default:
		}
		select {
		case cur, ok = <-src:
			if !ok {
				return nil
			}
			w.take(r, cur)
			continue
		default:
		}
		if w.spin(src, &cur, &ok) {
			if !ok {
				return nil
			}
			w.take(r, cur)
			continue
		}
		select {
		case <-done:
			return nil
		case <-quit:
			return nil
		case cur, ok = <-src:
			if !ok {
				return nil
			}
			w.take(r, cur)
		}
	}
}

// spin polls src without blocking for a short while (see [Actor.spin]).
func (w *worker[M]) spin(src chan M, m *M, ok *bool) bool {
	for range maxSpins {
		select {
		case *m, *ok = <-src:
			return true
		default:
		}
	}
	return false
}

// take handles a message a worker received: normally, or under the drain
// rules once the Run's ctx has ended (a keyed pool's worker may hold messages
// handed to it before).
func (w *worker[M]) take(r *poolRun[M], m M) {
	select {
	case <-r.done:
		w.drainOne(r.drainCtx(), r, m)
		return
	default:
	}
	w.handle(r.hctx, m)
}

func (w *worker[M]) handle(ctx context.Context, m M) {
	w.busy.Store(true)
	err := w.p.handler(ctx, m)
	w.busy.Store(false)
	if err != nil {
		w.failed.Add(1)
		w.p.cfg.reportError(ctx, w.p.name, m, err)
		return
	}
	w.handled.Add(1)
	if w.p.asks {
		// A request the handler did not answer must not leave Ask waiting.
		any(m).(abandoner).abandon(ErrNoReply)
	}
}

func (w *worker[M]) clearPending() {
	var zero M
	w.pending, w.hasPending = zero, false
}

// onPanic decides the fate of the message in hand when the handler
// panicked: kept to be retried as soon as the worker restarts, or reported
// as a dead letter.
func (w *worker[M]) onPanic(m M, retry bool, perr *PanicError) {
	w.panicked.Add(1)
	if !retry {
		w.attempts = 0
	}
	w.attempts++
	w.p.cfg.logPanic(w.p.name, w.attempts, perr, "worker", w.id)
	if w.attempts <= w.p.cfg.maxRetries {
		w.pending, w.hasPending = m, true
		return
	}
	w.p.deadLetter(m, &panickedError{perr}, w.attempts)
	w.attempts = 0
}

// drain handles what is queued in the mailbox, together with the other
// workers, until it is empty or ctx (the drain deadline) ends.
func (w *worker[M]) drain(ctx context.Context, r *poolRun[M]) {
	for ctx.Err() == nil {
		select {
		case m := <-w.p.mbox:
			w.drainOne(ctx, r, m)
		default:
			return
		}
	}
	r.timedOut.Store(true)
}

// drainOne handles one message during the drain: a panic there is reported
// with the message and the drain goes on; past the deadline the message is
// reported unhandled.
func (w *worker[M]) drainOne(ctx context.Context, r *poolRun[M], m M) {
	if ctx.Err() != nil {
		r.timedOut.Store(true)
		w.p.deadLetter(m, ErrDrainTimeout, 0)
		return
	}
	defer func() {
		if v := recover(); v != nil {
			perr := panics.New(v, 0)
			w.busy.Store(false)
			w.panicked.Add(1)
			w.p.deadLetter(m, &panickedError{perr}, 1)
		}
	}()
	w.handle(ctx, m)
}
