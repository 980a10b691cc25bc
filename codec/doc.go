// Package codec turns events into bytes and back for the packages that
// carry events out of the process: the JetStream bridge (bus/jetstream)
// and the PostgreSQL outbox (pgoutbox) both take a [Codec], so one value
// serves both, and both default to [JSON].
package codec
