package client_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/smile-sockets/smile/client"
	"github.com/smile-sockets/smile/server"
)

// The real smile-client greeting a smile server on a :0 listener: what it
// prints and its exit code.
func ExampleRun() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := server.New(server.Options{}, server.NewLogger(io.Discard, "text"))
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() {
		stop()
		if err := <-served; err != nil { // Serve drains and returns
			panic(err)
		}
		srv.Wait() // then the greetings and log lines in flight
	}()

	noEnv := func(string) (string, bool) { return "", false }
	code := client.Run(context.Background(), []string{ln.Addr().String()}, noEnv, os.Stdout, os.Stderr)
	fmt.Println("exit", code)
	// Output:
	// Smile from the server
	// exit 0
}
