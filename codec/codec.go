package codec

import "encoding/json"

// A Codec turns events into payloads and back. Encode is called on the
// goroutine that hands the event over (a publisher, an outbox writer),
// Decode on the goroutine that reads payloads back (a consumer, a relay);
// both may be called concurrently, so a Codec must be safe for concurrent
// use.
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
