# Images for smile-server and smile-client, built from source with only
# Docker on the machine:
#
#   docker build -t smile-server .                    # the server (the last stage)
#   docker build -t smile-client --target client .
#   docker compose up                                 # both, and the demo
#
# The Go builder stage is the official image at the Go version of go.mod (a
# test keeps the two equal); GO_IMAGE selects another one, e.g. a mirror:
#   docker build --build-arg GO_IMAGE=mirror.example/golang:1.26.8 .
# Where no registry is reachable, `make images` builds the same two images
# from binaries the Makefile cross-compiled first (Dockerfile.prebuilt).
#
# The builder runs on the build machine's platform and cross-compiles for
# the target (no emulation for multi-platform builds). BuildKit sets
# BUILDPLATFORM and TARGETARCH; the classic builder sets neither, so the
# builder falls back to the daemon's own platform ("linux" = linux/<host
# arch>) and Go to its native architecture.

ARG GO_VERSION=1.26.8
ARG GO_IMAGE=golang:${GO_VERSION}
# The identity the binaries and the OCI labels carry: `make`/CI pass
# `git describe` and the commit; left as they are, the binaries fall back to
# the module's build info (internal/version).
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/smile-sockets/smile

FROM --platform=${BUILDPLATFORM:-linux} ${GO_IMAGE} AS build
ARG TARGETOS
ARG TARGETARCH
# Module download settings of the build machine, e.g. a private proxy; unset
# by default (the official image's defaults apply).
ARG GOPROXY
ARG GOSUMDB
ARG GONOSUMDB
ARG GOPRIVATE
ARG GOINSECURE
ARG GOFLAGS
ARG VERSION
ARG REVISION
WORKDIR /src
# Only the sources of the two programs are sent (.dockerignore), and only the
# modules they import are downloaded: no test dependency is fetched.
COPY . .
RUN CGO_ENABLED=0 GOOS="${TARGETOS:-linux}" GOARCH="${TARGETARCH}" \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/smile-sockets/smile/internal/version.Version=${VERSION} -X github.com/smile-sockets/smile/internal/version.Revision=${REVISION}" \
      -o /out/ ./cmd/smile-server ./cmd/smile-client

FROM scratch AS client
ARG VERSION
ARG REVISION
ARG SOURCE
LABEL org.opencontainers.image.title="smile-client" \
      org.opencontainers.image.description="Berkeley-sockets greeting client: connects, prints the greeting" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /out/smile-client /smile-client
# Numeric, so that runAsNonRoot-style checks can verify it without /etc/passwd.
USER 65532:65532
ENTRYPOINT ["/smile-client"]

# The server comes last: `docker build .` with no --target builds it.
FROM scratch AS server
ARG VERSION
ARG REVISION
ARG SOURCE
LABEL org.opencontainers.image.title="smile-server" \
      org.opencontainers.image.description="Berkeley-sockets greeting server: accepts TCP, writes the greeting, closes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /out/smile-server /smile-server
USER 65532:65532
EXPOSE 7890
# There is no shell in a scratch image: the server checks itself, reading the
# listeners of PID 1, so `-listen`, `-v6only` and localhost servers all work.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/smile-server", "-healthcheck"]
ENTRYPOINT ["/smile-server"]
