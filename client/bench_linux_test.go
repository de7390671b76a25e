package client

// Benchmarks of the probe path against a minimal greeting server on
// 127.0.0.1 in the test process. Nothing leaves loopback.
//
//	go test -run '^$' -bench . -benchmem ./client

import (
	"context"
	"io"
	"net"
	"os"
	"strconv"
	"testing"

	"github.com/smile-sockets/smile/internal/smiletest/bench"
)

// greetingServer runs the smallest correct greeting server until the
// benchmark ends and returns its host and port.
func greetingServer(b *testing.B) (string, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = bench.ServeBaseline(ln, []byte(bench.Greeting))
	}()
	b.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	return host, port
}

// BenchmarkProbe is one probe: dial, read the greeting to EOF, close.
func BenchmarkProbe(b *testing.B) {
	host, port := greetingServer(b)
	cfg, err := ParseConfig([]string{"-expect", bench.Greeting, host, port}, noEnv)
	if err != nil {
		b.Fatal(err)
	}
	p := newProber(cfg, io.Discard)
	target := cfg.Target.String()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if r := p.probe(context.Background(), target, cfg.network(), buf); !r.ok() {
			b.Fatal(r.message())
		}
	}
}

// BenchmarkRunProbes is probe mode as the load generator runs it, 8 in
// flight, with and without -json; the output goes to a file so that its
// write(2) calls are counted.
func BenchmarkRunProbes(b *testing.B) {
	for _, json := range []bool{false, true} {
		b.Run("json="+strconv.FormatBool(json), func(b *testing.B) {
			host, port := greetingServer(b)
			args := []string{"-count", strconv.Itoa(b.N), "-concurrency", "8", "-expect", bench.Greeting, host, port}
			if json {
				args = append([]string{"-json"}, args...)
			}
			out, err := os.Create(b.TempDir() + "/out")
			if err != nil {
				b.Fatal(err)
			}
			defer out.Close()
			b.ReportAllocs()
			b.ResetTimer()
			if code := Run(context.Background(), args, noEnv, out, io.Discard); code != exitOK {
				b.Fatalf("exit %d", code)
			}
		})
	}
}

func noEnv(string) (string, bool) { return "", false }
