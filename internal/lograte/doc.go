// Package lograte bounds repeated log lines: for each key (an actor or a
// subscription, and a reason), a [Limiter] writes at most one line per
// period, and that line carries how many events it stands for.
//
// # How a line is chosen
//
// The first event for a key is written at once. Events for the same key
// within the period after a line are only counted, and the first of them
// is kept. The first event past the period writes one line for the whole
// batch: the kept event's message and attributes, with "count" (the events
// since the previous line, this one included) and "first" (when the kept
// event happened). So a storm of a million identical events costs one line
// per period, and the count tells how big the storm was. (Under a storm the
// clock is read once every 64 events, so a line may come up to 63 events
// after its period ended; see [Limiter.Log].)
//
// # No goroutine
//
// A Limiter owns no goroutine and no timer: it only works when an event
// arrives. The cost is that when events stop, the last batch is not written
// until something happens. Three things write it:
//   - the next event for the same key, whenever it comes;
//   - any line written by the same Limiter: it also writes every other key's
//     batch whose period is over (and forgets keys that went quiet), looking
//     at every key at most once a period;
//   - [Limiter.Flush], which the owner calls when it stops (an actor's Run
//     returning, a bus closing).
//
// # Details written once
//
// Some events carry a detail too costly to write every time, such as the
// stack of a panic. [Limiter.LogSite] takes the event's site (where in the
// code it happened: a panic's function and line) and writes the detail
// with the first line for that site only; every later event of the site is
// counted and summarised like any other. A crash-looping actor thus logs
// one stack, then a line per period with the count.
//
// Counts that must be exact at any moment belong in statistics (an actor's
// Stats, a bus's Stats), not in logs: the log is for a human reading what
// happened, bounded so that logging never becomes the overload.
package lograte
