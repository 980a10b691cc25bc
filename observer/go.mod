module github.com/troupe-go/troupe/observer

go 1.26.0

require (
	github.com/chromedp/chromedp v0.23.0
	github.com/troupe-go/troupe v0.0.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/chromedp/cdproto v0.160.1 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/oklog/run v1.2.0 // indirect
)

replace github.com/troupe-go/troupe => ../
