package jetstream

import "encoding/json"

// A Codec turns events into message payloads and back. Encode is called on
// the goroutine that publishes the event, Decode on the goroutine that pulls
// messages from the consumer; both may be called concurrently, so a Codec
// must be safe for concurrent use.
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
