package supervisor

import (
	"context"
	"errors"
	"fmt"

	"github.com/troupe-go/troupe/internal/panics"
)

// A Starter is a [Runner] with a start phase, OTP's init: work that must
// be done before the child counts as started, such as opening a listener or
// connecting a pool. The supervisor calls Start, then Run with the same
// context, one child at a time in Add order, at the first start and at every
// restart: the next child's Start begins only after this one's Start has
// returned nil and its Run has begun. So a child may rely on the children
// added before it being ready.
//
// Start must return once the child is ready, or with an error if it cannot
// be. An error at the supervisor's first start fails the supervisor's Run
// at once, naming the child, after stopping the children already started;
// at a restart it is the child's failure, counted toward the restart
// intensity. [ErrIgnore] says the child has nothing to do: it is not run,
// and no restart is counted. A panic in Start is a failure like a panic in
// Run. Start must return soon after ctx is done: the supervisor waits for it.
type Starter interface {
	Runner
	Start(ctx context.Context) error
}

// ErrIgnore, returned by a [Starter]'s Start, says the child has nothing to
// do (OTP's ignore): it is not run, and it is neither a failure nor a
// restart. A Permanent or Transient child that ignored its start is started
// again with its group when a sibling's failure restarts the group; a
// Temporary one is not.
var ErrIgnore = errors.New("supervisor: ignore")

// StartError is the error of a child whose start phase failed: [Supervisor.Run]
// returns it when a child fails to start at the first start, and
// [Supervisor.Add] when the child it adds to a running supervisor does.
type StartError struct {
	// Path is the child's path in the tree.
	Path string
	// Err is what its Start returned.
	Err error
}

// Error names the child and its error.
func (e *StartError) Error() string {
	return fmt.Sprintf("supervisor: %s failed to start: %v", e.Path, e.Err)
}

// Unwrap returns Err.
func (e *StartError) Unwrap() error { return e.Err }

// callStart runs st's start phase, turning a panic into a *PanicError.
func callStart(ctx context.Context, st Starter) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panics.New(v, 0)
		}
	}()
	return st.Start(ctx)
}
