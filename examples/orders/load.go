package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// loadResult is what the demo's clients saw.
type loadResult struct {
	Sent     int         // orders sent
	Statuses map[int]int // answers by HTTP status
	Bad      map[int]int // answers to the deliberately bad requests
	Accepted []string    // IDs of the orders answered 201
	Errors   int         // requests that got no answer
}

// demoOrders returns n orders made from seed: a few items each, mostly
// from the catalog, now and then an unknown SKU.
func demoOrders(n int, seed uint64) []OrderRequest {
	r := rand.New(rand.NewPCG(seed, 0x6f7264657273)) // "orders"
	skus := []string{"mug", "tee", "cap", "book", "sticker", "poster"}
	out := make([]OrderRequest, n)
	for i := range out {
		c := r.IntN(60)
		o := OrderRequest{Customer: fmt.Sprintf("customer-%02d", c), Email: fmt.Sprintf("customer-%02d@example.com", c)}
		for range 1 + r.IntN(3) {
			sku := skus[r.IntN(len(skus))]
			if r.IntN(40) == 0 {
				sku = "unicorn" // not in the catalog
			}
			o.Items = append(o.Items, Item{SKU: sku, Qty: 1 + r.IntN(3)})
		}
		out[i] = o
	}
	return out
}

// badRequests are sent by the demo before its orders, to show that they are
// answered at once and publish nothing.
var badRequests = []string{
	`{"customer": "ada", "email": "ada@example.com", "items": [`,                            // malformed JSON
	`{"customer": "ada", "email": "ada@example.com", "items": [{"sku": "mug", "qty": -2}]}`, // negative quantity
	`{"customer": "ada", "email": "ada@example.com", "items": [{"sku": "mug", "qty": 1}], "x": "` + // too large
		strings.Repeat("x", maxBodyLen) + `"}`,
}

// placeOrders posts the deliberately bad requests, then cfg.Orders orders
// from cfg.Concurrency clients, to the service at base.
func placeOrders(ctx context.Context, base string, cfg Config) *loadResult {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency}}
	defer client.CloseIdleConnections()
	res := &loadResult{Statuses: map[int]int{}, Bad: map[int]int{}}
	post := func(body []byte) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/orders", bytes.NewReader(body))
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		var ans struct{ ID string }
		_ = json.NewDecoder(resp.Body).Decode(&ans) // an error answer has no ID
		return resp.StatusCode, ans.ID, nil
	}
	for _, b := range badRequests {
		if status, _, err := post([]byte(b)); err == nil {
			res.Bad[status]++
		}
	}

	orders := make(chan OrderRequest)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for o := range orders {
				body, _ := json.Marshal(o) // cannot fail: plain strings and ints
				status, id, err := post(body)
				mu.Lock()
				res.Sent++
				if err != nil {
					res.Errors++
				} else {
					res.Statuses[status]++
				}
				if status == http.StatusCreated {
					res.Accepted = append(res.Accepted, id)
				}
				mu.Unlock()
			}
		})
	}
	for _, o := range demoOrders(cfg.Orders, cfg.Seed) {
		select {
		case orders <- o:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(orders)
	wg.Wait()
	slices.Sort(res.Accepted)
	return res
}
