package actor

import (
	"errors"

	"github.com/troupe-go/troupe/internal/panics"
)

// ErrNilHandler is returned by the Run of an actor made by [NewFrom] whose
// factory returned a nil handler, and is the reason (wrapped) of the dead
// letters of a key whose factory did so (see [NewKeyed]).
var ErrNilHandler = errors.New("actor: factory returned a nil handler")

// makeHandler calls factory, turning a panic into a [*PanicError] and a nil
// handler into [ErrNilHandler].
func makeHandler[M any](factory func() Handler[M]) (h Handler[M], err error) {
	defer func() {
		if v := recover(); v != nil {
			err = newPanicError(panics.New(v, 0))
		}
	}()
	if h = factory(); h == nil {
		return nil, ErrNilHandler
	}
	return h, nil
}
