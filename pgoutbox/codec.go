package pgoutbox

import "encoding/json"

// A Codec turns events into the payloads stored in the outbox table and
// back. Encode is called by [Outbox.Write] on the writer's goroutine, Decode
// by a [Relay]; both may be called concurrently, so a Codec must be safe for
// concurrent use. It has the shape of the JetStream bridge's codec, so one
// value can serve both.
type Codec interface {
	// Encode returns the payload for v.
	Encode(v any) ([]byte, error)
	// Decode fills the value v points to from data.
	Decode(data []byte, v any) error
}

// JSON is the default [Codec]: encoding/json.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Encode(v any) ([]byte, error)    { return json.Marshal(v) }
func (jsonCodec) Decode(data []byte, v any) error { return json.Unmarshal(data, v) }
