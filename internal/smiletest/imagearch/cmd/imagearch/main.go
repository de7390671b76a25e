// Command imagearch fails unless every image given is labelled linux/ARCH
// and its entrypoint binary really is built for ARCH: `make images` runs it
// on what it built, so a wrong TARGETARCH can't ship an image whose label
// and binary disagree.
//
//	go run ./internal/smiletest/imagearch/cmd/imagearch -arch arm64 smile-server:dev smile-client:dev
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/smile-sockets/smile/internal/smiletest/imagearch"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("imagearch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	arch := fs.String("arch", "", "the GOARCH every image must be built for (amd64, arm64, …)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *arch == "" || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "imagearch: usage: imagearch -arch GOARCH IMAGE...")
		return 2
	}
	code := 0
	for _, image := range fs.Args() {
		if err := imagearch.Check(ctx, image, *arch); err != nil {
			fmt.Fprintf(stderr, "imagearch: %v\n", err)
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: linux/%s binary in a linux/%s image\n", image, *arch, *arch)
	}
	return code
}
