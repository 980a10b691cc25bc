package actor

import (
	"context"

	"github.com/sourcegraph/conc"
)

// handoff is how many messages a keyed pool's dispatcher may hand to a
// worker beyond the one it is handling. A little slack lets the dispatcher
// run ahead of a busy worker without holding up the others for long; the
// messages handed off are counted in [WorkerStats].Queued, not in the
// mailbox.
const handoff = 4

// A generation is the set of workers of a keyed pool between two resizes:
// the key of a message picks one of them.
type generation[M any] struct {
	workers []*worker[M]
	g       *conc.WaitGroup
}

// startGen starts as many workers as asked for, each with its hand-off
// channel.
func (p *Pool[M]) startGen(r *poolRun[M]) generation[M] {
	gen := generation[M]{workers: make([]*worker[M], p.want.Load()), g: new(conc.WaitGroup)}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	for i := range gen.workers {
		gen.workers[i] = p.addWorker(make(chan M, handoff))
		p.spawn(r, gen.g, gen.workers[i])
	}
	return gen
}

// stop closes the workers' hand-off channels and waits until they have
// handled what they were given and exited.
func (gen generation[M]) stop() {
	for _, w := range gen.workers {
		close(w.in)
	}
	gen.g.Wait()
}

// pick returns the worker for m's key.
func (p *Pool[M]) pick(gen generation[M], m M) *worker[M] {
	return gen.workers[p.key(m)%uint64(len(gen.workers))]
}

// Outcomes of forward.
const (
	forwarded = iota
	failed    // the Run failed: the message is in p.carry
	ended     // ctx ended: the message is still to be forwarded
)

// forward hands m to the worker for its key, waiting while that worker is
// busy, unless the Run fails or its ctx ends meanwhile.
func (p *Pool[M]) forward(r *poolRun[M], gen generation[M], m M) int {
	w := p.pick(gen, m)
	select {
	case w.in <- m:
		return forwarded
	default:
	}
	select {
	case w.in <- m:
		return forwarded
	case <-r.fail:
		p.carry, p.hasCarry = m, true
		return failed
	case <-r.done:
		return ended
	}
}

// dispatch runs a keyed pool: the Run's goroutine takes the messages from
// the mailbox and hands each to the worker its key maps to, so that messages
// of one key are handled in order by one worker. A resize lets every worker
// finish what it was given before the keys are mapped anew.
func (p *Pool[M]) dispatch(r *poolRun[M]) *PanicError {
	gen := p.startGen(r)
	var m M
	if p.hasCarry {
		m = p.carry
		p.clearCarry()
		switch p.forward(r, gen, m) {
		case failed:
			gen.stop()
			return r.perr
		case ended:
			return p.drainKeyed(r, gen, m, true)
		}
	}
	done := r.done
	for {
		select {
		case m = <-p.mbox:
		default:
			select {
			case m = <-p.mbox:
			case <-done:
				return p.drainKeyed(r, gen, m, false)
			case <-r.fail:
				gen.stop()
				return r.perr
			case <-p.resize:
				if int(p.want.Load()) != len(gen.workers) {
					gen.stop()
					gen = p.startGen(r)
				}
				continue
			}
		}
		switch p.forward(r, gen, m) {
		case failed:
			gen.stop()
			return r.perr
		case ended:
			return p.drainKeyed(r, gen, m, true)
		}
		select {
		case <-done:
			return p.drainKeyed(r, gen, m, false)
		default:
		}
		select {
		case <-r.fail:
			gen.stop()
			return r.perr
		default:
		}
	}
}

// drainKeyed forwards what is queued (after held, if any) to the workers
// until the mailbox is empty or the drain deadline passes, then stops them.
func (p *Pool[M]) drainKeyed(r *poolRun[M], gen generation[M], held M, hasHeld bool) *PanicError {
	dctx := r.drainCtx()
	if hasHeld {
		p.forwardDrain(dctx, r, gen, held)
	}
	for dctx.Err() == nil {
		select {
		case m := <-p.mbox:
			p.forwardDrain(dctx, r, gen, m)
			continue
		default:
		}
		gen.stop()
		return nil
	}
	r.timedOut.Store(true)
	gen.stop()
	return nil
}

// forwardDrain hands m to its worker during the drain, or reports it when
// the deadline passes first.
func (p *Pool[M]) forwardDrain(ctx context.Context, r *poolRun[M], gen generation[M], m M) {
	w := p.pick(gen, m)
	select {
	case w.in <- m:
	case <-ctx.Done():
		r.timedOut.Store(true)
		p.deadLetter(m, ErrDrainTimeout, 0)
	}
}
