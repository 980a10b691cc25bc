package actor

import "sync/atomic"

// batchSize is the most messages an actor takes from its mailbox at once.
// Taking a batch costs one lock, where a channel costs a lock per message,
// and it lets senders fill the room the batch made while the handler works
// through it.
const batchSize = 32

// A ring is a mailbox's bounded FIFO queue: a ring buffer that grows on
// demand up to the mailbox size, so an idle actor holds no buffer. Its
// fields are guarded by the mailbox's mutex, except ready and brim.
type ring[M any] struct {
	buf  []M
	head int // index in buf of the oldest message
	size int // the most messages it holds
	n    int // the number of messages queued
	// pushed counts the messages pushed so far: the sequence number of the
	// latest, for the wait clock.
	pushed uint64
	// ready is set when a message is pushed into the empty mailbox and
	// cleared when the actor empties it: the actor polls it without the
	// lock. While the actor keeps up with its senders, the mailbox is
	// seldom empty and senders seldom write it.
	ready atomic.Bool
	// brim is set while the ring is full, so that a sender can refuse a
	// message without the lock (see mailbox.trySend); like ready, it is
	// written only when the ring fills or stops being full.
	brim atomic.Bool
	// carries is set when the mailbox has a [Propagator]: carried, parallel
	// to buf, then holds what each message's sender's context carries.
	// Without one, carried stays nil and costs nothing.
	carries bool
	carried []any
}

func (q *ring[M]) init(size int, carries bool) { q.size, q.carries = size, carries }

func (q *ring[M]) full() bool { return q.n == q.size }

// push appends m, with what its sender's context carries (c, kept only
// when the ring carries), to a ring that is not full.
func (q *ring[M]) push(m M, c any) {
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
	if q.carries {
		q.carried[i] = c
	}
	q.n = n + 1
	q.pushed++
	if q.n == q.size {
		q.brim.Store(true)
	}
}

// replace puts m, carrying c, in place of the oldest message of a full
// ring, and returns that message: a pop and a push that leave the ring
// full, with neither's writes to ready and brim.
func (q *ring[M]) replace(m M, c any) (old M) {
	i := q.head
	old = q.buf[i]
	q.buf[i] = m
	if q.carries {
		q.carried[i] = c
	}
	if q.head++; q.head == len(q.buf) {
		q.head = 0
	}
	q.pushed++
	return old
}

// grow makes room for more than the queued messages, up to size, doubling
// from one slot: an idle keyed actor that had one message holds one.
func (q *ring[M]) grow() {
	buf := make([]M, min(max(2*len(q.buf), 1), q.size))
	if q.carries {
		carried := make([]any, len(buf))
		copyRing(carried[:q.n], q.carried, q.head)
		q.carried = carried
	}
	q.copyOut(buf[:q.n])
	q.buf, q.head = buf, 0
}

// copyOut copies the oldest len(dst) queued messages to dst, without
// removing them.
func (q *ring[M]) copyOut(dst []M) { copyRing(dst, q.buf, q.head) }

// copyRing copies the len(dst) elements of the ring buffer buf from head.
func copyRing[T any](dst, buf []T, head int) {
	k := copy(dst, buf[head:])
	copy(dst[k:], buf)
}

// pop removes and returns the oldest message, if any, and what it carries.
func (q *ring[M]) pop() (m M, c any, ok bool) {
	n := q.n
	if n == 0 {
		return m, nil, false
	}
	m = q.buf[q.head]
	if q.carries {
		c = q.carried[q.head]
	}
	q.remove(1, n)
	return m, c, true
}

// take moves up to len(dst) of the oldest messages to dst, and what they
// carry to dstCarried when the ring carries, and returns how many it moved.
func (q *ring[M]) take(dst []M, dstCarried []any) int {
	n := q.n
	k := min(n, len(dst))
	if k == 0 {
		return 0
	}
	q.copyOut(dst[:k])
	if q.carries {
		copyRing(dstCarried[:k], q.carried, q.head)
	}
	q.remove(k, n)
	return k
}

// remove drops the k oldest of the n queued messages, clearing their slots
// so that the garbage collector can free what they point to.
func (q *ring[M]) remove(k, n int) {
	end := q.head + k
	clearRing(q.buf, q.head, end)
	if q.carries {
		clearRing(q.carried, q.head, end)
	}
	q.head = end
	if q.head >= len(q.buf) {
		q.head -= len(q.buf)
	}
	q.n = n - k
	if n == q.size {
		q.brim.Store(false)
	}
	if q.n == 0 {
		q.ready.Store(false)
	}
}

// clearRing clears the elements of the ring buffer buf from head to end,
// which may wrap around.
func clearRing[T any](buf []T, head, end int) {
	if end <= len(buf) {
		clear(buf[head:end])
	} else {
		clear(buf[head:])
		clear(buf[:end-len(buf)])
	}
}
