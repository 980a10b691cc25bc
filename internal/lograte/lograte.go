package lograte

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/troupe-go/troupe/internal/clock"
	"github.com/troupe-go/troupe/internal/panics"
)

// DefaultPeriod is the period of a [Limiter] made with a zero period: at
// most one line per key per second.
const DefaultPeriod = time.Second

// A Limiter writes at most one log line per period for each key K; see the
// package doc. It is safe for concurrent use and must not be copied after
// first use. The zero value is not usable: call [New].
type Limiter[K comparable] struct {
	period time.Duration
	clock  clock.Clock
	// every is how often a storm reads the clock: once a batch holds
	// every events, only each every-th event reads it (see Log).
	every uint64

	mu    sync.Mutex
	keys  map[K]*entry
	swept time.Time // when expired last looked at every key

	// sites are the sites of LogSite whose detail has been written (or
	// kept for a batch's line); at most maxSites, then forgotten at once.
	sites map[panics.Site]struct{}
}

// maxSites bounds the sites a Limiter remembers (see [Limiter.LogSite]).
// Sites are code locations, so a program has a bounded number of them;
// past maxSites they are all forgotten and their details written again,
// which bounds the memory of a program whose sites never repeat (code
// generated at run time) without hiding anything.
const maxSites = 4096

// entry is one key's state: when its last line was written, and the batch
// of events counted since.
type entry struct {
	last time.Time // when the last line was written
	n    uint64    // events counted since that line, not yet written

	// The batch's first event, kept to be written later.
	first  time.Time
	ctx    context.Context
	logger *slog.Logger
	level  slog.Level
	msg    string
	attrs  []slog.Attr
}

// New returns a Limiter that writes at most one line per period for each
// key, reading the time from c. A period of zero means [DefaultPeriod]; a
// nil c means the system clock.
func New[K comparable](period time.Duration, c clock.Clock) *Limiter[K] {
	if period <= 0 {
		period = DefaultPeriod
	}
	if c == nil {
		c = clock.Real()
	}
	return &Limiter[K]{period: period, clock: c, every: readEvery}
}

// readEvery is how many events of a storm share one reading of the clock.
// Reading the clock costs more than the rest of counting an event: 90 ns a
// counted event reading it every time, 33 ns reading it every 64th
// (BenchmarkLogCountedEveryClockRead, BenchmarkLogCounted). A storm of a
// million events a second reads it 16,000 times instead of a million, and
// its line comes at most 63 events late.
const readEvery = 64

// Log records an event for key k. If no line was written for k within the
// period, it writes one now to logger at level with msg: for this event
// (attrs and count 1) or, when events were counted since the last line, for
// the first of them (its attrs, its ctx, and the count of the batch with
// this event). Otherwise it only counts the event, keeping the attrs of the
// first one counted. attrs is called only when they are needed, so an event
// that is only counted costs no formatting. Nothing is recorded if logger
// is not enabled at level.
//
// Under a storm, once a batch holds 64 events, only every 64th event reads
// the clock: the batch's line may come up to 63 events after its period
// ended, and never early. Below 64 events a period, every event reads it.
func (l *Limiter[K]) Log(ctx context.Context, logger *slog.Logger, level slog.Level, k K, msg string, attrs func() []slog.Attr) {
	l.LogSite(ctx, logger, level, k, panics.Site{}, msg, attrs, nil)
}

// LogSite is [Limiter.Log] for an event that comes from a code location,
// site (the function and line that panicked): detail's attributes (such as
// the panic's stack) are added to the first line that l writes for site,
// whatever its key, and left out of every later line for site. An event
// whose site is new is written at once if its key is new (keys usually
// hold the site), or else kept with detail as its batch's first event; an
// event counted without being kept does not use up its site's detail. The
// zero Site means none: LogSite is then Log. detail, like attrs, is called
// only when needed.
//
// site is a [panics.Site], not an interface: a restart logs its panic's
// site twice (the actor's line and the supervisor's), and boxing it would
// cost an allocation each time, even for an event only counted.
func (l *Limiter[K]) LogSite(ctx context.Context, logger *slog.Logger, level slog.Level, k K, site panics.Site, msg string, attrs, detail func() []slog.Attr) {
	if !logger.Enabled(ctx, level) {
		return
	}
	l.mu.Lock()
	if l.keys == nil {
		l.keys = make(map[K]*entry)
	}
	e := l.keys[k]
	if e != nil && e.n >= l.every && e.n%l.every != 0 {
		// A storm: count without reading the clock.
		e.n++
		l.mu.Unlock()
		return
	}
	now := l.clock.Now()
	if e == nil {
		e = &entry{}
		l.keys[k] = e
	} else if now.Sub(e.last) < l.period {
		// Within the period: count, and keep the batch's first event.
		if e.n == 0 {
			e.keep(ctx, logger, level, msg, l.attrs(site, attrs, detail), now)
		}
		e.n++
		l.mu.Unlock()
		return
	}
	var out []line
	if e.n == 0 {
		out = append(out, line{ctx, logger, level, msg, l.attrs(site, attrs, detail), 1, time.Time{}})
	} else {
		out = append(out, e.line(1))
	}
	e.wrote(now)
	out = l.expired(now, out)
	l.mu.Unlock()
	write(out)
}

// Flush writes one line for every key with events counted since its last
// line, whatever the period, and forgets every key. The owner of a Limiter
// calls it when it stops, so that no batch is left unwritten.
func (l *Limiter[K]) Flush() {
	l.mu.Lock()
	var out []line
	for _, e := range l.keys {
		if e.n > 0 {
			out = append(out, e.line(0))
		}
	}
	clear(l.keys)
	l.mu.Unlock()
	write(out)
}

// attrs returns the attributes of an event from site that will be written:
// attrs, and detail's if site is new, which it then remembers. l.mu is held.
func (l *Limiter[K]) attrs(site panics.Site, attrs, detail func() []slog.Attr) []slog.Attr {
	a := attrs()
	if site == (panics.Site{}) || detail == nil {
		return a
	}
	if _, ok := l.sites[site]; ok {
		return a
	}
	if l.sites == nil || len(l.sites) >= maxSites {
		l.sites = make(map[panics.Site]struct{})
	}
	l.sites[site] = struct{}{}
	return append(a, detail()...)
}

// expired appends to out a line for every key whose batch's period is over
// and forgets the keys quiet for a whole period. It looks at every key at
// most once a period, so that a burst of lines for many new keys (a
// thousand children started at once) costs no sweep each: a quiet key's
// batch is then written at most two periods after its first event, by any
// line of l. l.mu is held.
func (l *Limiter[K]) expired(now time.Time, out []line) []line {
	if now.Sub(l.swept) < l.period {
		return out
	}
	l.swept = now
	for k, e := range l.keys {
		if now.Sub(e.last) < l.period {
			continue
		}
		if e.n == 0 {
			delete(l.keys, k)
			continue
		}
		out = append(out, e.line(0))
		e.wrote(now)
	}
	return out
}

func (e *entry) keep(ctx context.Context, logger *slog.Logger, level slog.Level, msg string, attrs []slog.Attr, now time.Time) {
	e.ctx, e.logger, e.level, e.msg, e.attrs, e.first = ctx, logger, level, msg, attrs, now
}

// line returns the line for e's batch with extra more events, and empties
// the batch.
func (e *entry) line(extra uint64) line {
	ln := line{e.ctx, e.logger, e.level, e.msg, e.attrs, e.n + extra, e.first}
	e.n, e.ctx, e.logger, e.attrs = 0, nil, nil, nil
	return ln
}

func (e *entry) wrote(now time.Time) { e.last = now }

// line is a log line to write once the Limiter's lock is released: a slow
// log handler must not hold up the events of other keys.
type line struct {
	ctx    context.Context
	logger *slog.Logger
	level  slog.Level
	msg    string
	attrs  []slog.Attr
	count  uint64
	first  time.Time // when the batch's first event happened; zero if this event is the only one
}

func write(out []line) {
	for _, ln := range out {
		attrs := append(ln.attrs, slog.Uint64("count", ln.count))
		if !ln.first.IsZero() {
			attrs = append(attrs, slog.Time("first", ln.first))
		}
		ln.logger.LogAttrs(ln.ctx, ln.level, ln.msg, attrs...)
	}
}
