package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/troupe-go/troupe/troupeotel"
)

// metricsPath is where Prometheus scrapes the service's metrics.
const metricsPath = "/metrics"

// serviceMetrics is the service's OpenTelemetry instrumentation, exported
// for Prometheus at /metrics. It reads the actors', the bus's and the
// supervision tree's counters at each scrape (troupeotel's Observe calls)
// and counts give-ups through the supervisor's hook; it puts no middleware
// on the message path, so the demo's handling costs what it did. Each App
// has a registry of its own.
type serviceMetrics struct {
	otel     *troupeotel.Instrumentation
	provider *sdkmetric.MeterProvider
	handler  http.Handler
}

func newServiceMetrics() (*serviceMetrics, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	in, err := troupeotel.New(troupeotel.WithMeterProvider(mp))
	if err != nil {
		return nil, err
	}
	return &serviceMetrics{otel: in, provider: mp, handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}, nil
}

// registered returns the error of a registration of what each scrape
// reads; the registrations end with the meter provider, at the end of Run.
func registered(_ metric.Registration, err error) error { return err }
