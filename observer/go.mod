module github.com/troupe-go/troupe/observer

go 1.26.0

require (
	github.com/troupe-go/troupe v0.0.0
	go.uber.org/goleak v1.3.0
)

require github.com/oklog/run v1.2.0 // indirect

replace github.com/troupe-go/troupe => ../
