package codec_test

import (
	"fmt"

	"github.com/troupe-go/troupe/codec"
)

func ExampleJSON() {
	type OrderCreated struct {
		ID       string
		Customer string
	}
	data, err := codec.JSON.Encode(OrderCreated{ID: "o-1", Customer: "ada"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(data))

	var e OrderCreated
	if err := codec.JSON.Decode(data, &e); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Customer)
	// Output:
	// {"ID":"o-1","Customer":"ada"}
	// ada
}
