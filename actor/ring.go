package actor

import "sync/atomic"

// batchSize is the most messages an actor takes from its mailbox at once.
// Taking a batch costs one lock, where a channel costs a lock per message,
// and it lets senders fill the room the batch made while the handler works
// through it.
const batchSize = 32

// A ring is a mailbox's bounded FIFO queue: a ring buffer that grows on
// demand up to the mailbox size, so an idle actor holds no buffer. Its
// fields are guarded by the mailbox's mutex, except ready.
type ring[M any] struct {
	buf  []M
	head int // index in buf of the oldest message
	size int // the most messages it holds
	n    int // the number of messages queued
	// ready is set when a message is pushed into the empty mailbox and
	// cleared when the actor empties it: the actor polls it without the
	// lock. While the actor keeps up with its senders, the mailbox is
	// seldom empty and senders seldom write it.
	ready atomic.Bool
	// pushed counts the messages pushed so far: the sequence number of the
	// latest, for the wait clock.
	pushed uint64
}

func (q *ring[M]) init(size int) { q.size = size }

func (q *ring[M]) full() bool { return q.n == q.size }

// push appends m to a ring that is not full.
func (q *ring[M]) push(m M) {
	n := q.n
	if n == 0 {
		q.ready.Store(true)
	}
	if n == len(q.buf) {
		q.grow()
	}
	i := q.head + n
	if i >= len(q.buf) {
		i -= len(q.buf)
	}
	q.buf[i] = m
	q.n = n + 1
	q.pushed++
}

// grow makes room for more than the queued messages, up to size, doubling
// from one slot: an idle keyed actor that had one message holds one.
func (q *ring[M]) grow() {
	buf := make([]M, min(max(2*len(q.buf), 1), q.size))
	q.copyOut(buf[:q.n])
	q.buf, q.head = buf, 0
}

// copyOut copies the oldest len(dst) queued messages to dst, without
// removing them.
func (q *ring[M]) copyOut(dst []M) {
	k := copy(dst, q.buf[q.head:])
	copy(dst[k:], q.buf)
}

// pop removes and returns the oldest message, if any.
func (q *ring[M]) pop() (m M, ok bool) {
	n := q.n
	if n == 0 {
		return m, false
	}
	m = q.buf[q.head]
	q.remove(1, n)
	return m, true
}

// take moves up to len(dst) of the oldest messages to dst and returns how
// many it moved.
func (q *ring[M]) take(dst []M) int {
	n := q.n
	k := min(n, len(dst))
	if k == 0 {
		return 0
	}
	q.copyOut(dst[:k])
	q.remove(k, n)
	return k
}

// remove drops the k oldest of the n queued messages, clearing their slots
// so that the garbage collector can free what they point to.
func (q *ring[M]) remove(k, n int) {
	end := q.head + k
	if end <= len(q.buf) {
		clear(q.buf[q.head:end])
	} else {
		clear(q.buf[q.head:])
		clear(q.buf[:end-len(q.buf)])
	}
	q.head = end
	if q.head >= len(q.buf) {
		q.head -= len(q.buf)
	}
	q.n = n - k
	if q.n == 0 {
		q.ready.Store(false)
	}
}
