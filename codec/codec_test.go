package codec_test

import (
	"testing"

	"github.com/troupe-go/troupe/codec"
)

type order struct {
	ID  string
	Qty int
}

func TestJSONRoundTrip(t *testing.T) {
	in := order{ID: "o-1", Qty: 3}
	data, err := codec.JSON.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), `{"ID":"o-1","Qty":3}`; got != want {
		t.Fatalf("Encode = %s, want %s", got, want)
	}
	var out order
	if err := codec.JSON.Decode(data, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("Decode = %+v, want %+v", out, in)
	}
}

func TestJSONDecodeError(t *testing.T) {
	var out order
	if err := codec.JSON.Decode([]byte(`{"ID":`), &out); err == nil {
		t.Fatal("Decode of a truncated payload returned nil")
	}
}
