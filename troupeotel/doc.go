// Package troupeotel instruments troupe with OpenTelemetry.
package troupeotel
