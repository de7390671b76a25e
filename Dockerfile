# Images for smile-server and smile-client: one Dockerfile, two targets.
#
# No registry is reachable where this project is built, so nothing is pulled:
# both images start FROM scratch and copy the static binaries that
# `make build-linux` wrote to bin/linux-$(GOARCH)/ first (the way Prometheus
# and GoReleaser build images). Build them with `make images`.
#
# TARGETARCH is set by BuildKit from --platform; the classic builder leaves it
# empty, so it has a default here and the Makefile passes it explicitly.

ARG TARGETARCH=amd64

# base holds what both images share: provenance labels and a numeric non-root
# user (numeric, so runAsNonRoot-style checks can verify it without /etc/passwd).
FROM scratch AS base
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/smile-sockets/smile
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
USER 65532:65532

FROM base AS server
ARG TARGETARCH
LABEL org.opencontainers.image.title="smile-server" \
      org.opencontainers.image.description="Berkeley-sockets greeting server: accepts TCP, writes the greeting, closes"
COPY bin/linux-${TARGETARCH}/smile-server /smile-server
EXPOSE 7890
# There is no shell in a scratch image: the server checks itself, reading the
# listeners of PID 1, so `-listen`, `-v6only` and localhost servers all work.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/smile-server", "-healthcheck"]
ENTRYPOINT ["/smile-server"]

FROM base AS client
ARG TARGETARCH
LABEL org.opencontainers.image.title="smile-client" \
      org.opencontainers.image.description="Berkeley-sockets greeting client: connects, prints the greeting"
COPY bin/linux-${TARGETARCH}/smile-client /smile-client
ENTRYPOINT ["/smile-client"]
