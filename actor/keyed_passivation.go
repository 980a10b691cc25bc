package actor

import (
	"maps"
	"time"
)

// armSweep makes the clock passivate the idle keys after d, and again
// every d while r runs. kd.mu is held.
func (kd *Keyed[K, M]) armSweep(r *keyedRun[K, M], d time.Duration) {
	r.sweep = kd.cfg.clk().AfterFunc(d, func() {
		kd.mu.Lock()
		defer kd.mu.Unlock()
		if kd.run.Load() != r || r.halted {
			return
		}
		kd.passivateIdle()
		kd.armSweep(r, d)
	})
}

// stopSweep stops the passivation of idle keys. Keyed.mu is held.
func (r *keyedRun[K, M]) stopSweep() {
	if r.sweep != nil {
		r.sweep()
	}
}

// passivateIdle stops and forgets the keys that had no message since the
// last call and are parked with an empty mailbox and no pending timer. A
// key's mailbox is stopped under its lock, so a send either got in before
// (and the key is not idle) or fails with ErrStopped and looks the key up
// again. kd.mu is held.
func (kd *Keyed[K, M]) passivateIdle() {
	if kd.state != running {
		return
	}
	for key, k := range kd.keys {
		mb := &k.mb
		mb.mu.Lock()
		idle := k.l.parked && mb.q.n == 0 && mb.q.pushed == k.seen && len(mb.timers) == 0
		k.seen = mb.q.pushed
		if idle {
			mb.state.Store(stopped)
			mb.unpark(&k.l)
			mb.closeStop()
		}
		mb.mu.Unlock()
		if idle {
			delete(kd.keys, key)
			kd.passivated++
		}
	}
	if len(kd.keys) < kd.peak/4 {
		// Give the memory of the passivated keys' entries back (a clone
		// would keep the old map's size).
		keys := make(map[K]*keyActor[K, M], len(kd.keys))
		maps.Copy(keys, kd.keys)
		kd.keys, kd.peak = keys, len(keys)
	}
}
