//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/chromedp/chromedp"
)

// pageDraw is how long the page took to draw node 1's matrix, by its own
// clock and from navigation, and what it drew.
type pageDraw struct {
	drawMS        float64
	wall          time.Duration
	rows, columns int
}

// drawnJS reads the mark the page sets once it has drawn a matrix
// (mesh/page.html): its own draw time and what it drew; null before.
const drawnJS = `window.smileDrawn ? {ms: window.smileDrawn.ms, rows: window.smileDrawn.rows, columns: window.smileDrawn.columns} : null`

type drawnMark struct {
	MS      float64 `json:"ms"`
	Rows    int     `json:"rows"`
	Columns int     `json:"columns"`
}

// drawPage loads url in a headless Chromium that runs in this namespace.
func drawPage(ctx context.Context, path, url string) (pageDraw, error) {
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		return pageDraw{}, errors.New("no headless browser on PATH (apt-get install chromium)")
	}
	dir, err := os.MkdirTemp("", "meshscale-chromium-")
	if err != nil {
		return pageDraw{}, err
	}
	defer os.RemoveAll(dir)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.UserDataDir(dir), chromedp.WindowSize(1600, 1000),
		chromedp.Flag("no-proxy-server", true), chromedp.NoSandbox)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancelT := context.WithTimeout(bctx, 30*time.Second)
	defer cancelT()
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		return pageDraw{}, fmt.Errorf("starting %s: %w", path, err)
	}
	start := time.Now()
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		return pageDraw{}, fmt.Errorf("loading %s: %w", url, err)
	}
	for {
		mark, err := chromedp.Run(bctx, chromedp.Evaluate[*drawnMark](drawnJS))
		if err != nil {
			return pageDraw{}, fmt.Errorf("reading the page's draw mark: %w", err)
		}
		if mark != nil {
			return pageDraw{drawMS: mark.MS, wall: time.Since(start), rows: mark.Rows, columns: mark.Columns}, nil
		}
		select {
		case <-bctx.Done():
			return pageDraw{}, fmt.Errorf("the page set no window.smileDrawn within 30 s: %w", bctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
