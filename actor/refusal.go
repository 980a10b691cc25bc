package actor

import (
	"context"
	"sync"
)

// A refusal is what an [Actor], a [Pool] and a [Keyed] do when the context
// of their Run ends, even while handlers are busy: refuse new messages and
// wake whatever waits for them. Run arms it with the function that does
// so, which calls done last; the end of the Run disarms it, waiting for
// that function if it has started, so that a refusal never lands on a
// later Run.
type refusal struct {
	stop    func() bool
	pending sync.WaitGroup
}

// arm calls f once ctx ends; f must call r.done when it has finished,
// and must not block: it is called in a goroutine of its own, or, when ctx
// has an AfterFunc method (see context.AfterFunc), as that method calls
// it (a supervisor's child's context calls it on the goroutine that
// cancels). Such a method is called directly rather than through
// context.AfterFunc, which would wrap f in a context of its own, some 200
// bytes kept for as long as the Run waits (BenchmarkRefusalArm).
func (r *refusal) arm(ctx context.Context, f func()) {
	r.pending.Add(1)
	if af, ok := ctx.(afterFuncer); ok {
		r.stop = af.AfterFunc(f)
		return
	}
	r.stop = context.AfterFunc(ctx, f)
}

// afterFuncer is a context with its own AfterFunc method, which
// context.AfterFunc uses when there is one.
type afterFuncer interface {
	AfterFunc(f func()) (stop func() bool)
}

// done tells the refusal that its function has finished.
func (r *refusal) done() { r.pending.Done() }

// wait waits until the function, started because ctx ended, has finished.
func (r *refusal) wait() { r.pending.Wait() }

// disarm keeps the function from running and reports true, if it has not
// started; otherwise it waits until it has finished and reports false, as
// it does when called again.
func (r *refusal) disarm() bool {
	if r.stop() {
		r.pending.Done()
		return true
	}
	r.pending.Wait()
	return false
}
