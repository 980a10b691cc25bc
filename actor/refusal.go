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

// arm calls f, in a goroutine of its own, once ctx ends; f must call
// r.done when it has finished.
func (r *refusal) arm(ctx context.Context, f func()) {
	r.pending.Add(1)
	r.stop = context.AfterFunc(ctx, f)
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
