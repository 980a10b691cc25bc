// Package bustest helps test code that publishes on or subscribes to a
// [bus.Bus].
//
// A [Recorder] is an inbox that records what it is given: subscribe it to
// the events a test expects, or use its [Recorder.Record] method as a bus's
// dead-letter or slow-subscriber hook. [WaitFor], [WaitN] and [Expect] wait,
// up to a context's deadline, for what the code under test delivers
// asynchronously, so that tests synchronise on events rather than on sleeps:
//
//	b := bus.New()
//	rec := bustest.NewRecorder[OrderCreated]("email")
//	bus.Subscribe(b, rec)
//	placeOrder(ctx, b) // publishes OrderCreated{ID: 42}
//	if err := bustest.Expect(ctx, rec, OrderCreated{ID: 42}); err != nil {
//		t.Fatal(err)
//	}
//
// A Recorder never fills up: it accepts every event at once. To test a
// subscriber that falls behind, subscribe a [Queue], or an actor whose handler
// waits on a channel the test controls.
package bustest
