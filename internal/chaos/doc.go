// Package chaos holds only tests: chaos soaks fed through the bus with
// exact accounting of every event (a supervised tree of actors, a Keyed, a
// pool and a keyed pool), a fuzz target for the bus, and table tests of bad
// input to the public constructors and options of actor, bus and
// supervisor. It uses only the public APIs of those packages and exports
// nothing.
//
// Each soak runs for about three seconds with a fixed seed under go test;
// TROUPE_SOAK=10m runs each for ten minutes with a random seed, printed.
package chaos
