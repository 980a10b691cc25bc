module github.com/troupe-go/troupe

go 1.26.0

require (
	github.com/oklog/run v1.2.0
	go.uber.org/goleak v1.3.0
)

require github.com/stretchr/testify v1.8.1 // indirect
