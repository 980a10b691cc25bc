module github.com/troupe-go/troupe

go 1.26

require (
	github.com/lmittmann/tint v1.2.1 // indirect
	github.com/oklog/run v1.2.0 // indirect
	github.com/sourcegraph/conc v0.3.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
)
