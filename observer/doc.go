// Package observer serves a live page showing a troupe program from the
// inside: its supervision tree (each child's path, state, restarts and last
// error), the mailboxes of its actors and pools (depth, capacity, oldest
// wait), its keyed actors (live keys, keys created, passivated, removed and
// restarted), the subscriptions of its bus (delivered, drops by reason) and
// the latest dead letters. The page updates itself through server-sent events;
// it needs no JavaScript framework and loads nothing from outside the binary.
//
// It is a module of its own (github.com/troupe-go/troupe/observer), so that
// a program that does not show the page compiles none of it, and the
// browser test's dependencies stay out of the core module.
//
// # Use
//
// The page reads the program through the public calls the caller hands it:
//
//	dead := observer.NewDeadLetters(100, logger)
//	b := bus.New(bus.WithDeadLetterHook(dead.Bus))
//	email := actor.New("email", sendEmail, actor.WithDeadLetterHook(dead.Actor))
//	carts := actor.NewKeyed("carts", newCart, actor.WithDeadLetterHook(dead.Actor))
//	page := observer.New(observer.Options{
//		Tree:          root.Tree,
//		Mailboxes:     []func() actor.Stats{email.Stats},
//		Keyed:         []func() actor.KeyedStats{carts.Stats},
//		Subscriptions: b.Stats,
//		DeadLetters:   dead,
//	})
//	mux.Handle("/debug/troupe/", http.StripPrefix("/debug/troupe", page))
//
// # What it serves
//
// Below the path it is mounted at, the [Handler] serves the page itself
// ("/"), its script and style sheet, the current [Snapshot] as JSON
// ("/snapshot") and a stream of snapshots as server-sent events ("/events",
// one event per [Options].Interval while the page is open). Each read of the
// page calls the functions in [Options] once: they must be safe to call from
// any goroutine, as the troupe calls they are meant for are.
//
// The page shows the program's internals (names, error texts): mount it
// where only its operators can reach it.
package observer
