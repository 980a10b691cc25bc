package actor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// Run states of a mailbox.
const (
	idle     int32 = iota // never run, or between Runs after a panic: sends are queued
	running               // a Run is handling messages
	draining              // the Run's context ended; it handles what is queued: sends fail
	stopped               // the Run returned after its context ended, or Retire: sends fail with ErrStopped
)

// A mailbox is the one mailbox of troupe: the bounded queue that an
// [Actor] and a [Pool] own, the one send path into it (TrySend, Send,
// Displace), the Run state that decides whether a send is accepted, and
// the loops (see loop) that take messages from it. An actor has one loop, a
// pool several; a keyed pool's loops share out the keys (see takeKeyed).
//
// One mutex guards the queue, the Run state changes, the parked loops and
// the keys: a send is lock, copy, unlock. The state is also an atomic, so
// that it can be read without the lock.
type mailbox[M any] struct {
	name string
	cfg  *config

	mu    sync.Mutex
	state atomic.Int32
	// shared is set while several loops take from the mailbox (a pool of
	// more than one worker): each then takes one message at a time, so
	// that a message waits for the first free worker, never behind the
	// batch of a busy one. A single loop takes batches (see batchSize);
	// once it is no longer alone, it gives back those of its batch it has
	// not started (see loop.spillRest). (Beside state, in the room its
	// alignment leaves.)
	shared bool
	// stop is closed when a Run's context ends, waking the senders waiting
	// for room; the first sender that waits makes it, so that a mailbox
	// nobody waits on (an idle keyed actor's) holds no channel.
	stop chan struct{}

	q ring[M]
	// parked lists the loops waiting for a message, woken one per message
	// pushed.
	parked []*loop[M]
	// room is closed when messages are taken, waking the senders waiting
	// for room; the first sender that waits makes it.
	room chan struct{}

	// spill holds, oldest first, the messages a pool's worker took in a
	// batch while it was the only worker and gave back when it no longer
	// was (see loop.spillRest), for any worker to take before the queue.
	// It is made at the first such message.
	spill *[]pendingMsg[M]

	// key is set for a keyed pool; owners and backlogged are its state
	// (see takeKeyed).
	key        func(M) uint64
	owners     map[uint64]owner[M]
	backlogged int

	// timers are the pending timers that send to the mailbox (see
	// timer.go), cancelled when it stops.
	timers map[*timer[M]]struct{}

	wait waitClock
	// deadBy counts the dead letters by reason (see deadReason); their
	// sum is the count of dead letters.
	deadBy  [3]atomic.Uint64
	evicted atomic.Uint64
}

func (mb *mailbox[M]) init(name string, cfg *config) {
	mb.name, mb.cfg = name, cfg
	mb.q.init(cfg.mailbox, cfg.extras().propagator != nil)
	mb.wait.init(cfg.mailbox)
}

// start moves the mailbox to running unless a Run is active.
func (mb *mailbox[M]) start() bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	switch mb.state.Load() {
	case idle, stopped:
	default:
		return false
	}
	mb.state.Store(running)
	return true
}

// refuse makes sends fail from now on and wakes the senders waiting for
// room: the Run's context ended.
func (mb *mailbox[M]) refuse() {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.state.Load() != running {
		return
	}
	mb.state.Store(draining)
	mb.closeStop()
}

// closeStop wakes the senders waiting for room: the mailbox refuses
// messages from now on. mb.mu is held.
func (mb *mailbox[M]) closeStop() {
	if mb.stop != nil {
		close(mb.stop)
		mb.stop = nil
	}
}

// full reports whether the mailbox has no room. A keyed pool's backlogs
// (see takeKeyed) count against its size. mb.mu is held.
func (mb *mailbox[M]) full() bool { return mb.q.n+mb.backlogged >= mb.q.size }

// put puts m in the mailbox if it accepts messages and has room. It returns
// m's sequence number (0 if it was not put) and the loop to wake, for
// accepted; c is what m carries (see Propagator). mb.mu is held.
func (mb *mailbox[M]) put(m M, c any) (seq uint64, wake *loop[M], err error) {
	if mb.state.Load() >= draining {
		return 0, nil, ErrStopped
	}
	if mb.full() {
		return 0, nil, ErrMailboxFull
	}
	return mb.push(m, c)
}

// push appends m, carrying c, and pops a parked loop to wake. mb.mu is held.
func (mb *mailbox[M]) push(m M, c any) (seq uint64, wake *loop[M], err error) {
	mb.wait.ready()
	mb.q.push(m, c)
	return mb.q.pushed, mb.popParked(), nil
}

// popParked takes the loop parked last off the parked loops, for the
// caller to wake once the lock is released, or returns nil if none is
// parked. mb.mu is held.
func (mb *mailbox[M]) popParked() *loop[M] {
	n := len(mb.parked)
	if n == 0 {
		return nil
	}
	l := mb.parked[n-1]
	l.parked = false
	mb.parked[n-1] = nil
	mb.parked = mb.parked[:n-1]
	if l.sched != nil {
		l.sched.unparked()
	}
	return l
}

// accepted does what follows putting the message with sequence number seq
// (0 for none) in the mailbox, once the lock is released: it stamps the wait
// clock, whose reading would otherwise hold the lock for as long as a send
// takes, and wakes a parked loop.
func (mb *mailbox[M]) accepted(seq uint64, wake *loop[M]) {
	mb.wait.stamp(seq)
	if wake != nil {
		wake.wakeUp()
	}
}

// trySend is TrySend of the mailbox's owner, and its Offer with c, what
// the sender's context carries.
func (mb *mailbox[M]) trySend(m M, c any) error {
	if mb.q.brim.Load() && mb.state.Load() < draining {
		// Full: refused without the lock, which the sender of a storm of
		// messages into a full mailbox would otherwise take once each
		// (BenchmarkDropNewest_Troupe in internal/benchmarks). A full ring
		// is a full mailbox; a keyed pool's mailbox, full with its
		// backlogs, takes the locked path. The Run state is read second:
		// a mailbox is empty when it stops, so a full one seen running was
		// running when it was seen full.
		return ErrMailboxFull
	}
	mb.mu.Lock()
	seq, wake, err := mb.put(m, c)
	mb.mu.Unlock()
	mb.accepted(seq, wake)
	return err
}

// send is Send of the mailbox's owner.
func (mb *mailbox[M]) send(ctx context.Context, m M) error {
	c := mb.cfg.extract(ctx)
	if err := mb.trySend(m, c); err != ErrMailboxFull {
		return err
	}
	if self, _ := ctx.Value(selfKey{}).(*mailbox[M]); self == mb {
		return ErrWouldDeadlock
	}
	for {
		mb.mu.Lock()
		seq, wake, err := mb.put(m, c)
		if err != ErrMailboxFull {
			mb.mu.Unlock()
			mb.accepted(seq, wake)
			return err
		}
		if mb.room == nil {
			mb.room = make(chan struct{})
		}
		if mb.stop == nil {
			mb.stop = make(chan struct{})
		}
		room, stop := mb.room, mb.stop
		mb.mu.Unlock()
		select {
		case <-room:
		case <-stop:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrMailboxFull, context.Cause(ctx))
		}
	}
}

// displace is Displace of the mailbox's owner. A keyed pool's backlogs are
// not evicted from: they are messages its loops have taken.
func (mb *mailbox[M]) displace(ctx context.Context, m M) (old M, evicted bool, err error) {
	c := mb.cfg.extract(ctx)
	mb.mu.Lock()
	if mb.state.Load() >= draining {
		mb.mu.Unlock()
		return old, false, ErrStopped
	}
	if mb.q.full() {
		// No loop is parked on a full ring: m takes the oldest's place.
		old = mb.q.replace(m, c)
		seq := mb.q.pushed
		mb.mu.Unlock()
		mb.evicted.Add(1)
		mb.accepted(seq, nil)
		return old, true, nil
	}
	if mb.full() {
		if old, _, evicted = mb.q.pop(); !evicted {
			mb.mu.Unlock()
			return old, false, ErrMailboxFull
		}
		mb.evicted.Add(1)
	}
	seq, wake, _ := mb.push(m, c)
	mb.mu.Unlock()
	mb.accepted(seq, wake)
	return old, evicted, nil
}

// madeRoom wakes the senders waiting for room, after messages were taken.
// mb.mu is held.
func (mb *mailbox[M]) madeRoom() {
	if mb.room != nil {
		close(mb.room)
		mb.room = nil
	}
}

// park adds l to the loops waiting for a message. mb.mu is held.
func (mb *mailbox[M]) park(l *loop[M]) {
	mb.parked = append(mb.parked, l)
	l.parked = true
}

// unpark removes l from the parked loops, if it is there. mb.mu is held.
func (mb *mailbox[M]) unpark(l *loop[M]) {
	if !l.parked {
		return
	}
	l.parked = false
	if i := slices.Index(mb.parked, l); i >= 0 {
		mb.parked = slices.Delete(mb.parked, i, i+1)
	}
}

// stopIdle moves a mailbox that no Run is using to stopped, as the end of a
// Run would: sends fail from now on. It calls f under the lock, so that no
// Run starts meanwhile, and reports whether it did.
func (mb *mailbox[M]) stopIdle(f func()) bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	switch mb.state.Load() {
	case idle:
		mb.state.Store(stopped)
		mb.closeStop()
		mb.cancelTimers()
	case stopped:
	default:
		return false
	}
	f()
	return true
}

// queued returns the messages in the queue, in the backlogs and given
// back by a worker (see spill). mb.mu is held.
func (mb *mailbox[M]) queued() int { return mb.q.n + mb.backlogged + mb.spilled() }

// spilled returns the number of messages given back by a worker (see
// spill). mb.mu is held.
func (mb *mailbox[M]) spilled() int {
	if mb.spill == nil {
		return 0
	}
	return len(*mb.spill)
}

// takeSpilled moves the oldest messages given back by a worker into dst
// and dstCarried, and returns how many. mb.mu is held.
func (mb *mailbox[M]) takeSpilled(dst []M, dstCarried []any) int {
	if mb.spilled() == 0 {
		return 0
	}
	s := *mb.spill
	k := min(len(s), len(dst))
	for i := range k {
		dst[i] = s[i].m
		if dstCarried != nil {
			dstCarried[i] = s[i].carried
		}
	}
	clear(s[:k])
	*mb.spill = s[k:]
	if len(*mb.spill) == 0 {
		*mb.spill = s[:0]
	}
	return k
}

// popSpilled removes and returns the oldest message given back by a
// worker, if any. mb.mu is held.
func (mb *mailbox[M]) popSpilled() (m M, ok bool) {
	var one [1]M
	if mb.takeSpilled(one[:], nil) == 0 {
		return m, false
	}
	return one[0], true
}

// retire is Retire of the mailbox's owner, whose loops are given: when no
// Run is active, sends fail with ErrStopped from now on, and every message
// accepted and not handled (kept for a retry, in a loop's hand or backlog,
// or queued) is reported as a dead letter with reason ([ErrStopped] for
// Retire; a keyed actor's removal gives its own).
func (mb *mailbox[M]) retire(loops []*loop[M], reason error) {
	pendingReason := errRetiredPending
	if reason != ErrStopped {
		pendingReason = reason
	}
	// The messages are collected under the lock, so that no Run starts
	// meanwhile, and reported after it, so that a dead-letter hook may send
	// to the mailbox.
	type letter struct {
		m        M
		reason   error
		attempts int
	}
	var left []letter
	mb.stopIdle(func() {
		for _, l := range loops {
			if l.hasPending {
				left = append(left, letter{l.pending.m, pendingReason, int(l.attempts)})
				l.clearPending()
			}
			for m, ok := l.nextHeld(); ok; m, ok = l.nextHeld() {
				l.letGo()
				left = append(left, letter{m, reason, 0})
			}
			for _, k := range l.backlog() {
				left = append(left, letter{k.m, reason, 0})
			}
			l.dropBacklog()
		}
		clear(mb.owners)
		for m, ok := mb.popSpilled(); ok; m, ok = mb.popSpilled() {
			left = append(left, letter{m, reason, 0})
		}
		for m, _, ok := mb.q.pop(); ok; m, _, ok = mb.q.pop() {
			left = append(left, letter{m, reason, 0})
		}
	})
	for _, d := range left {
		mb.deadLetter(d.m, d.reason, d.attempts)
	}
	mb.cfg.flushLogs()
}

// errRetiredPending is the reason of a message kept for a retry when the
// actor is retired instead.
var errRetiredPending = fmt.Errorf("%w before its retry: %w", ErrStopped, ErrPanicked)

// reject reports every message in the queue as a dead letter with reason.
// It is called when no loop takes messages any more.
func (mb *mailbox[M]) reject(reason error) {
	for {
		mb.mu.Lock()
		m, ok := mb.popSpilled()
		if !ok {
			m, _, ok = mb.q.pop()
		}
		mb.mu.Unlock()
		if !ok {
			return
		}
		mb.deadLetter(m, reason, 0)
	}
}

func (mb *mailbox[M]) deadLetter(m M, reason error, attempts int) {
	mb.deadBy[deadReason(reason)].Add(1)
	mb.cfg.deadLetter(mb.name, m, reason, attempts)
}

// selfKey marks the context a handler is called with, with its mailbox as
// value, so that Send can tell it is called from the mailbox's own loop.
type selfKey struct{}

// drainCtx returns the context of a drain after the Run's context ended:
// ctx's values, without its cancellation, and the drain timeout.
func (mb *mailbox[M]) drainCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), mb.cfg.drainTimeout)
}

// finish ends a Run whose context ended, once its loops have drained: what
// they left, held or queued, is reported with [ErrDrainTimeout] (nothing is
// left unless the drain timed out, or a pool's loop stopped when the pool
// gave up), a message kept for a retry as panicked, and the mailbox is
// stopped. Sends have
// been refused since the context ended, under the lock that guards the
// queue: what the drain leaves is all there is.
func (mb *mailbox[M]) finish(loops []*loop[M]) {
	for _, l := range loops {
		l.rejectHeld(ErrDrainTimeout)
	}
	mb.reject(ErrDrainTimeout)
	mb.mu.Lock()
	mb.state.Store(stopped)
	mb.cancelTimers()
	mb.mu.Unlock()
	mb.cfg.flushLogs()
}

// stats returns the counters of the mailbox and of its loops, summed.
func (mb *mailbox[M]) stats(loops []*loop[M]) Stats {
	s := Stats{
		Name:     mb.name,
		Capacity: mb.q.size,
		DeadLettersBy: DeadLetterCounts{
			Panicked:     mb.deadBy[0].Load(),
			DrainTimeout: mb.deadBy[1].Load(),
			Stopped:      mb.deadBy[2].Load(),
		},
		Evicted: mb.evicted.Load(),
		Running: mb.state.Load() == running,
	}
	s.DeadLetters = s.DeadLettersBy.Panicked + s.DeadLettersBy.DrainTimeout + s.DeadLettersBy.Stopped
	mb.mu.Lock()
	s.Queued = mb.queued()
	for _, l := range loops {
		p := l.progress.Load()
		s.Queued += int(p & (1<<heldBits - 1))
		s.Handled += p >> heldBits
		s.Failed += l.failed.Load()
		s.Panics += l.panicked.Load()
	}
	s.OldestWait = mb.wait.oldest(mb.q.pushed, s.Queued)
	mb.mu.Unlock()
	return s
}

// A DeadLetterCounts counts an actor's dead letters by reason.
type DeadLetterCounts struct {
	// Panicked counts those whose handler panicked ([ErrPanicked]).
	Panicked uint64
	// DrainTimeout counts those left when the drain timed out
	// ([ErrDrainTimeout]).
	DrainTimeout uint64
	// Stopped counts those reported by Retire ([ErrStopped]), a message
	// kept for a retry included.
	Stopped uint64
}

// deadReason returns the index in mailbox.deadBy of a dead letter's reason.
func deadReason(reason error) int {
	switch {
	case errors.Is(reason, ErrDrainTimeout):
		return 1
	case errors.Is(reason, ErrStopped):
		return 2
	}
	return 0
}
