package actor

import (
	"fmt"
	"time"
)

// Default values of the options of a [Keyed].
const (
	// DefaultMaxKeys is the most keys a [Keyed] holds at once unless
	// [WithMaxKeys] says otherwise.
	DefaultMaxKeys = 1 << 20
	// DefaultKeyRestarts and DefaultKeyWindow: a key whose handler panics
	// more than 5 times within 10 seconds is removed (see
	// [WithKeyRestarts]).
	DefaultKeyRestarts = 5
	DefaultKeyWindow   = 10 * time.Second
	// DefaultKeyedRestarts and DefaultKeyedWindow: a [Keyed] whose keys
	// panic more than 100 times in all within 10 seconds ends its Run (see
	// [WithKeyedRestarts]).
	DefaultKeyedRestarts = 100
	DefaultKeyedWindow   = 10 * time.Second
)

// A KeyedOption configures a [Keyed] at construction: any [Option], which
// then applies to every key's actor (the mailbox size is per key), or one of
// the options only a Keyed has ([WithIdleTimeout], [WithMaxKeys],
// [WithKeyRestarts], [WithKeyedRestarts]).
type KeyedOption interface{ applyKeyed(*keyedConfig) }

func (o Option) applyKeyed(c *keyedConfig) { o(&c.config) }

// keyedOnly is a [KeyedOption] that is not an [Option].
type keyedOnly func(*keyedConfig)

func (o keyedOnly) applyKeyed(c *keyedConfig) { o(c) }

type keyedConfig struct {
	config
	idleTimeout   time.Duration
	maxKeys       int
	keyRestarts   int
	keyWindow     time.Duration
	keyedRestarts int
	keyedWindow   time.Duration
}

// init sets the defaults, then applies opts.
func (c *keyedConfig) init(opts []KeyedOption) {
	c.setDefaults()
	c.maxKeys = DefaultMaxKeys
	c.keyRestarts, c.keyWindow = DefaultKeyRestarts, DefaultKeyWindow
	c.keyedRestarts, c.keyedWindow = DefaultKeyedRestarts, DefaultKeyedWindow
	for _, o := range opts {
		o.applyKeyed(c)
	}
}

// WithIdleTimeout makes a [Keyed] passivate a key's actor that has had no
// message for d: the actor is stopped and forgotten, and the key's next
// message starts a new one from the factory. A key is passivated between
// d and 2d after its last message was handled; a message sent meanwhile
// reaches the old actor, or a new one, never neither. Zero, the default,
// never passivates. The check visits every key once per d, under the lock
// that creating a key takes: keep d well above a millisecond when there
// are many keys. It panics if d < 0.
func WithIdleTimeout(d time.Duration) KeyedOption {
	if d < 0 {
		panic(fmt.Sprintf("actor: WithIdleTimeout: negative timeout %v", d))
	}
	return keyedOnly(func(c *keyedConfig) { c.idleTimeout = d })
}

// WithMaxKeys bounds the number of keys a [Keyed] holds at once. At the
// bound, a message for a new key is refused with [ErrTooManyKeys]: the
// Keyed does not passivate another key early to make room, so that a flood
// of new keys cannot push out the keys in use; with [WithIdleTimeout] idle
// keys make room as they are passivated. The default is [DefaultMaxKeys].
// It panics if n < 1.
func WithMaxKeys(n int) KeyedOption {
	if n < 1 {
		panic(fmt.Sprintf("actor: WithMaxKeys: n %d < 1", n))
	}
	return keyedOnly(func(c *keyedConfig) { c.maxKeys = n })
}

// WithKeyRestarts sets how many panics one key's actor absorbs. A key whose
// handler panics is restarted at once from the factory, its queued messages
// kept, while the other keys go on; but when it panics more than
// maxRestarts times within window, the key is removed: its queued messages
// are reported as dead letters with [ErrKeyRestarts], and its next message
// starts it afresh. The default is [DefaultKeyRestarts] within
// [DefaultKeyWindow]. It panics if maxRestarts < 0 or window <= 0.
func WithKeyRestarts(maxRestarts int, window time.Duration) KeyedOption {
	checkIntensity("WithKeyRestarts", maxRestarts, window)
	return keyedOnly(func(c *keyedConfig) { c.keyRestarts, c.keyWindow = maxRestarts, window })
}

// WithKeyedRestarts sets how many key panics, over all its keys, a [Keyed]
// absorbs before its Run stops every key and returns the last
// [*PanicError], for its supervisor to count against its own intensity.
// The default is [DefaultKeyedRestarts] within [DefaultKeyedWindow]. It
// panics if maxRestarts < 0 or window <= 0.
func WithKeyedRestarts(maxRestarts int, window time.Duration) KeyedOption {
	checkIntensity("WithKeyedRestarts", maxRestarts, window)
	return keyedOnly(func(c *keyedConfig) { c.keyedRestarts, c.keyedWindow = maxRestarts, window })
}

func checkIntensity(option string, maxRestarts int, window time.Duration) {
	if maxRestarts < 0 {
		panic(fmt.Sprintf("actor: %s: negative maxRestarts %d", option, maxRestarts))
	}
	if window <= 0 {
		panic(fmt.Sprintf("actor: %s: window %v is not positive", option, window))
	}
}
