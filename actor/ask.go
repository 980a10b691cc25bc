package actor

import (
	"context"
	"errors"
)

// ErrNoReply is returned by [Ask] when the handler returned nil without
// replying.
var ErrNoReply = errors.New("actor: handler returned without replying")

// A Request carries a message of type Req to an actor and the way back for
// its reply of type Resp; see [Ask]. The handler answers with
// [Request.Reply]. A Request may be copied; all copies share one reply.
type Request[Req, Resp any] struct {
	// Msg is the request's payload.
	Msg Req

	reply chan reply[Resp]
}

type reply[Resp any] struct {
	resp Resp
	err  error
}

// Reply answers the request. Only the first answer counts; later ones are
// ignored. It never blocks.
func (r Request[Req, Resp]) Reply(resp Resp, err error) {
	select {
	case r.reply <- reply[Resp]{resp, err}:
	default:
	}
}

// abandon answers the request with err unless it was answered already.
func (r Request[Req, Resp]) abandon(err error) {
	var zero Resp
	r.Reply(zero, err)
}

// A Sender is what [Ask] sends requests through: an [*Actor] or a [*Pool].
type Sender[M any] interface {
	Send(ctx context.Context, msg M) error
}

// Ask sends req to a and waits for the handler's [Request.Reply]. The errors
// tell the cases apart:
//   - the mailbox stayed full until ctx ended: matches [ErrMailboxFull] and
//     ctx's error;
//   - the actor has stopped: [ErrStopped];
//   - ctx ended while waiting for the reply: ctx's error only;
//   - the handler failed or panicked, or the request became a dead letter:
//     that error (the dead letter's reason);
//   - the error given to Reply.
//
// Ask allocates the reply channel, once per call.
func Ask[Req, Resp any](ctx context.Context, a Sender[Request[Req, Resp]], req Req) (Resp, error) {
	var zero Resp
	r := Request[Req, Resp]{Msg: req, reply: make(chan reply[Resp], 1)}
	if err := a.Send(ctx, r); err != nil {
		return zero, err
	}
	select {
	case rep := <-r.reply:
		return rep.resp, rep.err
	case <-ctx.Done():
		return zero, context.Cause(ctx)
	}
}
