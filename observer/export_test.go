package observer

import (
	"github.com/troupe-go/troupe/internal/clock"
	"github.com/troupe-go/troupe/internal/lograte"
)

// UseClock makes d's log limiter read the time from c.
func (d *DeadLetters) UseClock(c clock.Clock) { d.logs = lograte.New[dlKey](0, c) }
