package server_test

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/smile-sockets/smile/server"
)

// A smile server on a listener of the caller's own, greeted once.
func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := server.New(server.Options{}, server.NewLogger(io.Discard, "text"))
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	greeting, err := io.ReadAll(conn)
	_ = conn.Close()
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", greeting)

	stop() // drain: serve what is queued, then return
	if err := <-served; err != nil {
		panic(err)
	}
	srv.Wait() // greetings in flight and their log lines
	// Output: Smile from the server
}

// ParseConfig is the real smile-server command line: flags, then SMILE_*
// variables for flags not given, then the tutorial's positional port.
func ExampleParseConfig() {
	env := map[string]string{"SMILE_MAX_CONNS": "64", "SMILE_V6ONLY": "true"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := server.ParseConfig([]string{"-max-conns", "8", "8000"}, lookup)
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Listen[0], cfg.MaxConns, cfg.V6Only)
	// Output: :8000 8 true
}
