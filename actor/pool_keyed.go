package actor

// A keyed pool keeps per-key order without pinning keys to workers: a key
// belongs to the worker that holds one of its messages, for as long as it
// holds one. A worker that takes from the queue a message whose key another
// worker owns appends it to that worker's backlog and takes the next one;
// the owner handles its backlog before it takes from the queue again. So
// one key's messages are handled one at a time, in the order they were
// accepted, while a key nobody holds goes to whichever worker is free: a
// worker stuck on one key holds up only the keys it owns. The backlogs count
// against the mailbox's size, so one key's flood fills the mailbox rather
// than memory. Everything here is guarded by the mailbox's mutex.

// An owner is the worker that holds messages of a key, and how many (in its
// hand, in its backlog, kept for a retry).
type owner[M any] struct {
	l *loop[M]
	n int
}

// loopKeys is what a keyed pool's loop holds (see loop.keys): the
// messages of the keys it owns, taken from the queue by other loops, and
// the key of the message in hand while it is counted in mb.owners
// (hasKey).
type loopKeys[M any] struct {
	backlog []keyedMsg[M]
	key     uint64
	hasKey  bool
}

// backlog returns the messages of l's backlog; none unless l is a keyed
// pool's.
func (l *loop[M]) backlog() []keyedMsg[M] {
	if l.keys == nil {
		return nil
	}
	return l.keys.backlog
}

// holdsKey reports whether l counts the key of the message in its hand in
// mb.owners; never unless l is a keyed pool's.
func (l *loop[M]) holdsKey() bool { return l.keys != nil && l.keys.hasKey }

// keyedMsg is a message in a backlog, with its key.
type keyedMsg[M any] struct {
	m M
	c any // what m carries (see Propagator)
	k uint64
}

// takeKeyed puts in dst[0] the next message l is to handle, if any: first
// from its backlog, then from the queue, passing on the messages of keys
// other workers own. It first lets go of the key of the message l handled
// last. A dismissed worker takes only its backlog. It returns 1 or 0.
func (mb *mailbox[M]) takeKeyed(l *loop[M], dst []M, dstCarried []any) int {
	lk := l.keys
	if lk.hasKey {
		lk.hasKey = false
		if o := mb.owners[lk.key]; o.n > 1 {
			o.n--
			mb.owners[lk.key] = o
		} else {
			delete(mb.owners, lk.key)
		}
	}
	if len(lk.backlog) > 0 {
		k := lk.backlog[0]
		lk.backlog[0] = keyedMsg[M]{}
		lk.backlog = lk.backlog[1:]
		mb.backlogged--
		dst[0], lk.key, lk.hasKey = k.m, k.k, true
		if dstCarried != nil {
			dstCarried[0] = k.c
		}
		return 1
	}
	if l.dismissed {
		return 0
	}
	for {
		m, c, ok := mb.q.pop()
		if !ok {
			return 0
		}
		k := mb.key(m)
		if o, owned := mb.owners[k]; owned {
			// l owns no key now: its backlog is empty and its last key
			// let go.
			o.l.keys.backlog = append(o.l.keys.backlog, keyedMsg[M]{m, c, k})
			o.n++
			mb.owners[k] = o
			mb.backlogged++
			continue
		}
		if mb.owners == nil {
			mb.owners = make(map[uint64]owner[M])
		}
		mb.owners[k] = owner[M]{l, 1}
		dst[0], lk.key, lk.hasKey = m, k, true
		if dstCarried != nil {
			dstCarried[0] = c
		}
		return 1
	}
}

// dropBacklog forgets l's backlog and the keys it owns, whose messages the
// caller reports.
func (l *loop[M]) dropBacklog() {
	lk := l.keys
	if lk == nil {
		return
	}
	mb := l.mb
	mb.backlogged -= len(lk.backlog)
	for _, k := range lk.backlog {
		delete(mb.owners, k.k)
	}
	if lk.hasKey {
		delete(mb.owners, lk.key)
		lk.hasKey = false
	}
	lk.backlog = nil
}
