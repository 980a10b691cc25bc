package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
)

// consumer makes sure the stream and the durable consumer exist, with the
// import's settings: it creates the consumer, or updates it when a setting
// differs and logs the difference.
func (im *Import[E]) consumer(ctx context.Context) (jetstream.Consumer, error) {
	if err := im.b.EnsureStream(ctx); err != nil {
		return nil, err
	}
	js, stream := im.b.js, im.b.cfg.stream
	c, err := js.Consumer(ctx, stream, im.durable)
	switch {
	case err == nil:
		have := c.CachedInfo().Config
		want := im.consumerConfig(have)
		diff := consumerDiff(have, want)
		if len(diff) == 0 {
			return c, nil
		}
		im.b.log.Warn("jetstream consumer differs from the options; updating",
			append([]any{"stream", stream, "consumer", im.durable}, diff...)...)
		c, err = js.UpdateConsumer(ctx, stream, want)
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		c, err = js.CreateConsumer(ctx, stream, im.consumerConfig(jetstream.ConsumerConfig{}))
		if err == nil {
			im.b.log.Info("jetstream consumer created", "stream", stream, "consumer", im.durable, "subject", im.r.subject)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s on %s: %w", ErrConsumer, im.durable, stream, err)
	}
	return c, nil
}

// consumerConfig returns base with the settings the import controls.
func (im *Import[E]) consumerConfig(base jetstream.ConsumerConfig) jetstream.ConsumerConfig {
	c := base
	c.Name = im.durable
	c.Durable = im.durable
	c.FilterSubject = im.r.subject
	c.AckPolicy = jetstream.AckExplicitPolicy
	c.AckWait = im.cfg.ackWait
	// The import, not the server, ends redeliveries: it terminates and
	// reports a message whose handler failed on its last allowed delivery.
	// A server MaxDeliver would also count the deliveries of a message
	// given back unhandled (released when the import stops)
	// and then stop delivering it without a word: lost to the consumer.
	c.MaxDeliver = -1
	c.MaxAckPending = im.cfg.maxAckPending
	return c
}

// consumerDiff lists, as slog attributes, the settings that differ.
func consumerDiff(have, want jetstream.ConsumerConfig) []any {
	var d []any
	add := func(key string, h, w any) { d = append(d, slog.Group(key, "have", h, "want", w)) }
	if have.FilterSubject != want.FilterSubject {
		add("filter_subject", have.FilterSubject, want.FilterSubject)
	}
	if have.AckPolicy != want.AckPolicy {
		add("ack_policy", have.AckPolicy.String(), want.AckPolicy.String())
	}
	if have.AckWait != want.AckWait {
		add("ack_wait", have.AckWait, want.AckWait)
	}
	if have.MaxDeliver != want.MaxDeliver {
		add("max_deliver", have.MaxDeliver, want.MaxDeliver)
	}
	if have.MaxAckPending != want.MaxAckPending {
		add("max_ack_pending", have.MaxAckPending, want.MaxAckPending)
	}
	return d
}
