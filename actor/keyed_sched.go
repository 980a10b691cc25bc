package actor

import (
	"runtime"
	"runtime/pprof"
	"time"
)

// The keys of a Keyed that have messages are run by a small set of runner
// goroutines, not one goroutine each. A send that unparks a key queues it
// (enqueue); a runner takes the next queued key, runs its loop until the
// key parks with an empty mailbox, then takes the next key, and exits when
// it finds none: an idle Keyed has no goroutine, and a stream of messages
// over many keys is handled by a few goroutines going from key to key,
// instead of a new goroutine per message.
//
// At most runLimit runners (GOMAXPROCS at the Run's start) run keys that
// make progress. A runner that has been on the same key for a whole stall
// period (a handler stuck, or waiting on I/O, or a key that never runs out
// of messages) no longer counts: the stall watch, a timer armed only while
// keys are queued, starts runners for the queued keys in its place, so
// that keys never wait for each other longer than about two stall periods.
// When every runner is held up, the watch starts as many runners as are
// held up, at least runLimit: a burst of handlers that all wait on I/O gets
// a runner per key within a few periods, as it had a goroutine per key.

// stallPeriod is the period of the stall watch: a runner on the same key
// for a whole period no longer counts against the limit.
const stallPeriod = time.Millisecond

// lingers is how many times a runner that finds no queued key yields to
// the other goroutines (often a sender about to unpark the next key) before
// it exits: starting a runner costs more than a few yields.
const lingers = 2

// A keyRunner is a runner goroutine's record, kept for the stall watch
// and KeyedInbox.Len.
type keyRunner[K comparable, M any] struct {
	// k is the key the runner runs, nil between keys; since the stall
	// watch's epoch when the runner took it; i the runner's index in
	// keyedRun.runners. All three are guarded by keyedRun.mu.
	k     *keyActor[K, M]
	since uint64
	i     int
}

// enqueue queues k, just unparked or waiting for a Run, for a runner, and
// starts a runner if fewer than the limit are making progress. It returns
// false when r has given up (halted): k is then to wait for the next Run.
func (r *keyedRun[K, M]) enqueue(k *keyActor[K, M]) bool {
	r.mu.Lock()
	if r.halted {
		r.mu.Unlock()
		return false
	}
	r.live++
	r.push(k)
	var w *keyRunner[K, M]
	if len(r.runners)-r.blocked < r.limit {
		w = r.addRunner()
	} else if !r.watching {
		r.watching = true
		if r.watch == nil {
			r.watch = time.AfterFunc(stallPeriod, r.watchStalls)
		} else {
			r.watch.Reset(stallPeriod)
		}
	}
	r.mu.Unlock()
	if w != nil {
		go r.runKeys(w)
	}
	return true
}

// runKeys is a runner: it runs the queued keys one after the other until
// it finds none.
func (r *keyedRun[K, M]) runKeys(w *keyRunner[K, M]) {
	pprof.SetGoroutineLabels(r.hctx)
	var k *keyActor[K, M]
	for {
		r.mu.Lock()
		if k != nil {
			r.live--
		}
		for range lingers {
			if k = r.pop(); k != nil || r.halted {
				break
			}
			r.mu.Unlock()
			runtime.Gosched()
			r.mu.Lock()
		}
		if k == nil {
			k = r.pop()
		}
		w.k = k
		if k == nil {
			r.removeRunner(w)
			if r.live == 0 && len(r.runners) == 0 {
				select {
				case r.idle <- struct{}{}:
				default:
				}
			}
			r.mu.Unlock()
			return
		}
		w.since = r.epoch
		r.mu.Unlock()
		r.kd.serve(r, k)
	}
}

// watchStalls is the stall watch: every stallPeriod while keys are
// queued, it counts the runners held up on one key for a whole period and
// starts runners in their place.
func (r *keyedRun[K, M]) watchStalls() {
	r.mu.Lock()
	r.epoch++
	r.blocked = 0
	for _, w := range r.runners {
		if w.since+2 <= r.epoch {
			r.blocked++
		}
	}
	if r.n == 0 {
		r.watching = false
		r.mu.Unlock()
		return
	}
	n := 0
	if moving := len(r.runners) - r.blocked; moving < r.limit {
		n = r.limit - moving
		if moving == 0 {
			n = max(n, r.blocked)
		}
		n = min(n, r.n)
	}
	start := make([]*keyRunner[K, M], 0, n)
	for range n {
		start = append(start, r.addRunner())
	}
	r.watch.Reset(stallPeriod)
	r.mu.Unlock()
	for _, w := range start {
		go r.runKeys(w)
	}
}

// stopWatch stops the stall watch if no key is queued. r.mu is not held.
func (r *keyedRun[K, M]) stopWatch() {
	r.mu.Lock()
	if r.n == 0 && r.watch != nil {
		r.watch.Stop()
		r.watching = false
	}
	r.mu.Unlock()
}

// addRunner records a new runner. r.mu is held.
func (r *keyedRun[K, M]) addRunner() *keyRunner[K, M] {
	var w *keyRunner[K, M]
	if n := len(r.spare); n > 0 {
		w, r.spare = r.spare[n-1], r.spare[:n-1]
	} else {
		w = new(keyRunner[K, M])
	}
	w.i, w.since = len(r.runners), r.epoch
	r.runners = append(r.runners, w)
	return w
}

// removeRunner forgets w, whose runner exits. r.mu is held.
func (r *keyedRun[K, M]) removeRunner(w *keyRunner[K, M]) {
	last := len(r.runners) - 1
	r.runners[w.i] = r.runners[last]
	r.runners[w.i].i = w.i
	r.runners[last] = nil
	r.runners = r.runners[:last]
	r.spare = append(r.spare, w)
}

// push appends k to the queue of keys waiting for a runner. r.mu is held.
func (r *keyedRun[K, M]) push(k *keyActor[K, M]) {
	if r.n == len(r.queue) {
		q := make([]*keyActor[K, M], max(16, 2*len(r.queue)))
		m := copy(q, r.queue[r.head:])
		copy(q[m:], r.queue[:r.head])
		r.queue, r.head = q, 0
	}
	r.queue[(r.head+r.n)%len(r.queue)] = k
	r.n++
}

// pop takes the next key waiting for a runner, nil if none. r.mu is held.
func (r *keyedRun[K, M]) pop() *keyActor[K, M] {
	if r.n == 0 {
		return nil
	}
	k := r.queue[r.head]
	r.queue[r.head] = nil
	r.head = (r.head + 1) % len(r.queue)
	r.n--
	if r.n == 0 && len(r.queue) > maxIdleQueue {
		// A burst over many keys grew the queue: give its memory back.
		r.queue, r.head = nil, 0
	}
	return k
}

// maxIdleQueue is the most room the queue keeps once empty.
const maxIdleQueue = 256
