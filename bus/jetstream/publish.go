package jetstream

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Publish encodes e, publishes it to its subject on the bridge's stream and
// waits for JetStream's acknowledgement, for at most the time ctx allows (or
// the client's default timeout of 5s when ctx has no deadline). It returns
// an error matching [ErrEncode] when e cannot be encoded and [ErrPublish]
// when it was not acknowledged; a publish that returned an error may still
// have been stored, and publishing e again is safe: its Nats-Msg-Id is the
// same when e is [Identified], and JetStream drops the copy.
//
// Publish is the synchronous path, for a caller that must know; an
// [Exporter] publishes asynchronously and retries. It panics if E has no
// type name (see [WithTypeName]).
func Publish[E any](ctx context.Context, b *Bridge, e E) error {
	r := b.routeOf("Publish", reflect.TypeFor[E]())
	m, err := b.message(r, e)
	if err != nil {
		return err
	}
	b.cfg.inject(ctx, m.Header)
	return b.publish(ctx, m)
}

// message encodes e as the message to publish on r: payload, type header
// and a Nats-Msg-Id made now, once, so that every retry reuses it.
func (b *Bridge) message(r route, e any) (*nats.Msg, error) {
	data, err := b.cfg.codec.Encode(e)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrEncode, r.name, err)
	}
	id := ""
	if ev, ok := e.(Identified); ok {
		id = ev.EventID()
	}
	if id == "" {
		id = nuid.Next()
	}
	return &nats.Msg{
		Subject: r.subject,
		Data:    data,
		Header:  nats.Header{TypeHeader: {r.name}, MsgIDHeader: {id}},
	}, nil
}

// publish publishes m once and waits for the ack. When no stream answers
// (the server lost its store, say) it makes the stream again, once, and
// publishes again.
func (b *Bridge) publish(ctx context.Context, m *nats.Msg) error {
	_, err := b.js.PublishMsg(ctx, m)
	if errors.Is(err, jetstream.ErrNoStreamResponse) && !b.cfg.existing {
		b.streamLost()
		if err = b.EnsureStream(ctx); err == nil {
			_, err = b.js.PublishMsg(ctx, m)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrPublish, m.Subject, err)
	}
	return nil
}
