module github.com/troupe-go/troupe/pgoutbox

go 1.26.0

require (
	github.com/jackc/pgx/v5 v5.12.0
	github.com/troupe-go/troupe v0.0.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/oklog/run v1.2.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace github.com/troupe-go/troupe => ../
