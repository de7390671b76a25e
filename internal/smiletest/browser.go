package smiletest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// chromiumNames are the headless browsers the page tests drive, as Debian
// (chromium) and other systems name them.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// RequireChromium returns the path of a Chromium on the host, skipping the
// test without one (failing it when CI is set: `.ci/run` installs Debian's
// chromium package). SMILE_CHROMIUM names another binary.
func RequireChromium(t *testing.T) string {
	t.Helper()
	names := chromiumNames
	if env := os.Getenv("SMILE_CHROMIUM"); env != "" {
		names = []string{env}
	}
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no headless browser: none of %v is on PATH (apt-get install chromium)", names)
	}
	t.Skipf("no headless browser: none of %v is on PATH (apt-get install chromium; set CI=1 to make this a failure)", names)
	return ""
}

// NewBrowser starts a headless Chromium with its own profile in a temporary
// directory, width × height, and returns a tab of it; the browser is
// stopped at the end of the test. It runs on the host: it reaches what the
// test serves on loopback.
func NewBrowser(t *testing.T, path string, width, height int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		// No proxy from the environment: the page is on loopback.
		chromedp.Flag("no-proxy-server", true),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox; the page it
		// loads is the test's own.
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser's processes to end
	})
	// The first action starts the browser, which lives as long as the
	// context that action ran with: so the bound on starting it (a loaded
	// host may take a while) cancels the tab only if it runs out.
	timer := time.AfterFunc(time.Minute, cancel)
	err := chromedp.Do(ctx, chromedp.Navigate("about:blank"))
	require.True(t, timer.Stop(), "starting %s took longer than a minute", path)
	require.NoError(t, err, "starting %s", path)
	return ctx
}

// SaveScreenshot writes png to bin/NAME in the repository, and, for one
// the documentation shows, to docs/NAME too when SMILE_UPDATE_DOCS=1: the
// screenshots in docs/ are the ones a run of the test took.
func SaveScreenshot(t *testing.T, name string, docs bool, png []byte) {
	t.Helper()
	root, err := ModuleRoot()
	require.NoError(t, err)
	dirs := []string{filepath.Join(root, "bin")}
	if docs && os.Getenv("SMILE_UPDATE_DOCS") == "1" {
		dirs = append(dirs, filepath.Join(root, "docs"))
	}
	for _, dir := range dirs {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, png, 0o644))
		abs, _ := filepath.Abs(path)
		t.Logf("screenshot: %s (%d bytes)", abs, len(png))
	}
}
