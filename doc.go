// Package troupe structures long-running services as supervised actors that
// communicate through a typed event bus.
//
// The library is three packages used together or on their own:
//
//   - [github.com/troupe-go/troupe/actor]: an actor owns a bounded mailbox and
//     one goroutine that handles messages one at a time; a handler panic becomes
//     an error with its stack, never a crash of the process.
//   - [github.com/troupe-go/troupe/supervisor]: a supervisor runs actors,
//     servers and other supervisors as a tree, restarting children with the
//     Erlang/OTP strategies, restart intensity and backoff.
//   - [github.com/troupe-go/troupe/bus]: producers publish typed Go values; the
//     bus routes each into the mailboxes of its subscribers, with a
//     backpressure policy per subscriber and every dropped event reported.
//
// This package holds no code; it is the overview.
package troupe
