package observer_test

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package installs the browser.
const chromiumPath = "/usr/bin/chromium"

var updateScreenshot = flag.Bool("update-screenshot", false, "also write the browser test's screenshot to testdata/page.png, for the README")

// browser starts a headless Chromium for the test and returns its context.
// Without Chromium the test fails in CI (CI=true) and is skipped elsewhere.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium is missing at %s (CI=true): install it with apt-get install -y chromium", chromiumPath)
		}
		t.Skipf("skipping the browser test: Chromium is missing at %s (install it with apt-get install -y chromium)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser() // closes the browser and waits for it
		cancelAlloc()
	})
	// The first action starts the browser, which lives as long as ctx: it
	// runs without a timeout of its own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// text reads the text of the element sel selects in one evaluation: the
// page replaces its rows at every update, so a node found by one protocol
// call may be gone by the next.
func text(sel string) chromedp.Action[string] {
	return chromedp.Evaluate[string](`document.querySelector('` + sel + `').textContent`)
}

// TestBrowserShowsRestartsLive loads the page in headless Chromium, makes
// the service's actor panic, and waits until the page shows the restart,
// without reloading it; then saves a screenshot as a test artifact.
func TestBrowserShowsRestartsLive(t *testing.T) {
	s := startService(t, 50*time.Millisecond)
	mux := http.NewServeMux()
	mux.Handle("/debug/troupe/", http.StripPrefix("/debug/troupe", s.page))
	srv := httptest.NewServer(mux)
	// Cleanups run last first: the browser closes, which ends the page's
	// event stream, then the server closes, then the service stops.
	t.Cleanup(srv.Close)
	ctx := browser(t)

	const restarts = `tr[data-path="shop/orders"] td.restarts`
	s.publish(t, "ok")
	s.publish(t, "bad")
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(step,
		chromedp.Navigate(srv.URL+"/debug/troupe"),
		chromedp.Poll[chromedp.Void](`document.querySelector('`+restarts+`') !== null`),
		// A mark that a reload would erase.
		chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`),
	)
	if err != nil {
		t.Fatal(err)
	}
	before, err := chromedp.Run(step, text(restarts))
	if err != nil {
		t.Fatal(err)
	}
	if before != "0" {
		t.Fatalf("got restarts %q on the page before the panic; want 0", before)
	}

	s.publish(t, "boom")
	<-s.restarted
	if _, err := chromedp.Run(step, chromedp.Poll[bool](`document.querySelector('`+restarts+`').textContent === "1"`)); err != nil {
		t.Fatalf("waiting for the page to show the restart: %v", err)
	}
	stillThere, err := chromedp.Run(step, chromedp.Evaluate[bool](`window.notReloaded === true`))
	if err != nil {
		t.Fatal(err)
	}
	if !stillThere {
		t.Error("the page was reloaded; want it updated in place")
	}
	lastError, err := chromedp.Run(step, text(`tr[data-path="shop/orders"] td.error`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "panic: cannot handle SKU boom (at "; !strings.HasPrefix(lastError, want) {
		t.Errorf("got last error %q on the page; want it to start %q", lastError, want)
	}

	// One key per SKU published: ok, bad, boom.
	const keysCreated = `#keyed tr[data-name="skus"] td.created`
	if _, err := chromedp.Run(step, chromedp.Poll[bool](`document.querySelector('`+keysCreated+`')?.textContent === "3"`)); err != nil {
		t.Fatalf("waiting for the page to show the 3 keys created: %v", err)
	}

	png, err := chromedp.Run(step, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.ArtifactDir(), "page.png")
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)
	if *updateScreenshot {
		if err := os.WriteFile(filepath.Join("testdata", "page.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
