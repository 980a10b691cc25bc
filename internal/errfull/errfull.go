// Package errfull holds the one error value that a full mailbox or inbox
// returns, so that package actor (as actor.ErrMailboxFull) and package bus
// (as bus.ErrFull) name the same value without bus importing actor.
package errfull

import "errors"

// Err is returned by a send that finds no room: actor.ErrMailboxFull and
// bus.ErrFull are this value.
var Err = errors.New("actor: mailbox full")
