package client

import (
	"context"
	"fmt"
	"io"

	"github.com/smile-sockets/smile/internal/cli"
)

// Exit codes, as the README's exit-code table promises.
const (
	exitOK      = cli.ExitOK
	exitFailure = cli.ExitFailure
	exitUsage   = cli.ExitUsage
)

// Run is the whole smile-client program: it parses args and the SMILE_*
// variables that env looks up, probes and prints, and returns the exit
// code. cmd/smile-client is Run with the process's own arguments,
// environment, output and signals, so tests and other programs get exactly
// the real program.
func Run(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int {
	cfg, err := ParseConfig(args, env)
	if code, done := cli.Prelude("smile-client", err, err == nil && cfg.Version, usage, stdout, stderr); done {
		return code
	}
	var rep *junitReport
	if cfg.JUnit != "" {
		if rep, err = openJUnit(cfg.JUnit, junitSuiteName(cfg), cfg.Target.String()); err != nil {
			fmt.Fprintf(stderr, "smile-client: %v\n", err)
			return exitUsage
		}
	}
	p := newProber(cfg, stderr)
	var code int
	switch {
	case cfg.UDP && !cfg.Each:
		code = runUDP(ctx, p, cfg, rep, stdout, stderr)
	case cfg.Each:
		code = runEach(ctx, p, cfg, rep, stdout, stderr)
	case cfg.Count == 1 && cfg.Concurrency == 1 && !cfg.JSON:
		code = runOnce(ctx, p, cfg, rep, stdout, stderr)
	default:
		code = runProbes(ctx, p, cfg, rep, stdout, stderr)
	}
	if rep != nil {
		if err := rep.write(); err != nil {
			fmt.Fprintf(stderr, "smile-client: %v\n", err)
			return exitFailure
		}
	}
	return code
}

// runOnce is the tutorial's client: one connection, the greeting printed
// line by line.
func runOnce(ctx context.Context, p *prober, cfg *Config, rep *junitReport, stdout, stderr io.Writer) int {
	res := p.probe(ctx, cfg.Target.String(), cfg.network(), nil)
	rep.add(&res)
	if !res.ok() {
		fmt.Fprintf(stderr, "smile-client: %s\n", res.message())
		return exitFailure
	}
	data := res.data
	if isTerminal(stdout) {
		data = escapeControls(data)
	}
	printLines(stdout, data)
	return exitOK
}

// printLines writes what the server sent with every line ending in "\n",
// as the tutorial's client printed it.
func printLines(w io.Writer, data []byte) {
	if len(data) == 0 {
		return
	}
	if data[len(data)-1] == '\n' {
		_, _ = w.Write(data)
		return
	}
	out := make([]byte, 0, len(data)+1)
	out = append(out, data...)
	_, _ = w.Write(append(out, '\n'))
}
