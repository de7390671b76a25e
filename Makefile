# smile — build, test and run the greeting server and client.
#
# Every target echoes ">> what" so a CI log reads like a checklist.

SHELL      := bash
.SHELLFLAGS := -eu -o pipefail -c

GO         ?= go
GOARCH     ?= $(shell $(GO) env GOARCH)
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
PKG        := github.com/smile-sockets/smile
LDFLAGS    := -s -w -X $(PKG)/internal/version.Version=$(VERSION) -X $(PKG)/internal/version.Revision=$(REVISION)
BUILDFLAGS := -trimpath -buildvcs=false -ldflags '$(LDFLAGS)'
BIN        := bin
LINUX_BIN  := $(BIN)/linux-$(GOARCH)
TAG        ?= dev
# The images `make images` builds and `make up` uses.
SERVER_IMAGE ?= smile-server:$(TAG)
CLIENT_IMAGE ?= smile-client:$(TAG)
# The names the release workflow publishes (with :vX.Y.Z and :X.Y), which the
# Kubernetes manifests use; `make kind-images` builds this checkout under them.
REGISTRY   ?= ghcr.io/smile-sockets
PUBLISHED_SERVER_IMAGE := $(REGISTRY)/smile-server:latest
PUBLISHED_CLIENT_IMAGE := $(REGISTRY)/smile-client:latest
KIND_CLUSTER ?= smile
SOURCE     ?= https://github.com/smile-sockets/smile
# The compose CLI: the v2 plugin where it exists, else docker-compose v1.
COMPOSE    ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
PROJECT    ?= smile
# Containers are mostly waiting on the daemon: run more cases at once than cores.
INTEGRATION_FLAGS ?= -parallel 8
CLIENTS    := client-ipv4 client-hostname client-ipv6 client-each

.PHONY: all
all: build

.PHONY: build
build: ## static binaries for this host in bin/
	@echo ">> building bin/smile-server and bin/smile-client ($(VERSION))"
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -o $(BIN)/smile-server ./cmd/smile-server
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -o $(BIN)/smile-client ./cmd/smile-client

.PHONY: build-linux
build-linux: ## static linux binaries for the images in bin/linux-$(GOARCH)
	@echo ">> building linux/$(GOARCH) binaries in $(LINUX_BIN)"
	@mkdir -p $(LINUX_BIN)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build $(BUILDFLAGS) -o $(LINUX_BIN)/ ./cmd/smile-server ./cmd/smile-client

# The release's binaries: static, stamped, one per program and platform,
# with their SHA-256 checksums (the release workflow attaches them).
DIST       := dist
PLATFORMS  ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64 freebsd/amd64 freebsd/arm64

.PHONY: dist
dist: ## release binaries for $(PLATFORMS) and SHA256SUMS in dist/
	@echo ">> building release binaries in $(DIST)/ for $(PLATFORMS) ($(VERSION))"
	@rm -rf $(DIST) && mkdir -p $(DIST)
	@for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		for prog in smile-server smile-client; do \
			exe=; if [ $$os = windows ]; then exe=.exe; fi; \
			echo "CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build ... -o $(DIST)/$$prog-$$os-$$arch$$exe ./cmd/$$prog"; \
			CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build $(BUILDFLAGS) -o $(DIST)/$$prog-$$os-$$arch$$exe ./cmd/$$prog; \
		done; \
	done
	cd $(DIST) && sha256sum smile-* > SHA256SUMS && cat SHA256SUMS

# The test targets compile as the images' binaries are built (static,
# -trimpath), so each package `make test` compiles, per architecture, is
# compiled once: the unit tests' compile is what the integration suite's
# `make images` then only links, for amd64 and arm64 both. On an empty
# build cache that is about 150 CPU-seconds the suite no longer spends
# before its first container. The race detector needs cgo:
# `make unit UNIT_FLAGS=-race TEST_ENV=CGO_ENABLED=1`.
TEST_ENV   ?= CGO_ENABLED=0 GOFLAGS=-trimpath

.PHONY: unit
unit: ## unit tests on loopback
	@echo ">> running unit tests"
	$(TEST_ENV) $(GO) test -count=1 $(UNIT_FLAGS) $$($(GO) list ./... | grep -v /integration)

# The unit tests of the programs as linux/arm64, run under qemu-user through
# binfmt_misc (.ci/qemu-arm64 sets that up, as root); the programs the tests
# build and run are arm64 too (internal/smiletest builds for the test
# binary's own architecture). Only the packages whose code meets the
# kernel's structures (socket options, control messages, the error queue)
# run: they take as long as the native ones (70 to 100 s on a 2-core amd64
# host, mostly the server's own waits).
ARM64_PKGS := ./client ./server ./dgram

.PHONY: unit-arm64
unit-arm64: ## unit tests of client and server as linux/arm64 under qemu (needs .ci/qemu-arm64)
	@echo ">> running unit tests of $(ARM64_PKGS) as linux/arm64 under emulation"
	@[ "$$($(GO) env GOHOSTARCH)" = arm64 ] || grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null || \
		{ echo "linux/arm64 binaries do not run here: run .ci/qemu-arm64 as root"; exit 1; }
	$(TEST_ENV) GOOS=linux GOARCH=arm64 $(GO) test -count=1 -timeout 10m $(ARM64_PKGS)

# Every program and package outside integration/ (containers, Linux only)
# for each system and architecture the release ships: built, tests
# compiled, vetted. Linux-only packages and files say so with build tags.
# A package of tests only (cmd/) is vetted, not built: go build refuses a
# package with no non-test Go files.
CROSS_PLATFORMS ?= $(PLATFORMS)

.PHONY: cross
cross: ## build and vet for every GOOS/GOARCH of PLATFORMS
	@for p in $(CROSS_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		echo ">> building and vetting for $$os/$$arch"; \
		pkgs=$$(GOOS=$$os GOARCH=$$arch $(GO) list ./... | grep -v /integration); \
		built=$$(GOOS=$$os GOARCH=$$arch $(GO) list -f '{{if .GoFiles}}{{.ImportPath}}{{end}}' $$pkgs); \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build $$built; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) vet $$pkgs; \
	done

# The suite runs under gotestsum (pinned in tools/go.mod), which reads
# go test -json: a line per test, each failure's output in full and again
# at the end, and, should the test binary die (a panic, a signal), every
# test that was still running named with what it had logged. The JSON
# stays in $(INTEGRATION_JSON) for a closer look.
#
# Every image, container and network of a run carries its ID
# (SMILE_IT_RUN). A binary that dies runs no cleanup, so whatever the run
# left behind is removed after it. Containers or networks left by a run that
# passed fail it (a test did not clean up), but for a network that Docker
# 20.10 refuses to remove with no container on it (moby/moby#43286), which
# the tests log as the daemon's. Its images are only removed here, since
# TestMain's own removal can time out on a busy daemon.
INTEGRATION_JSON ?= $(BIN)/integration.json
SWEEP_LABELS = label=smile.integration.run=$$run label=com.docker.compose.project=smile-it-$$run

.PHONY: integration
integration: clean-integration ## containers: addressing and restart matrices, lifecycle, compose, from-source builds (needs Docker)
	@echo ">> running integration tests (go test -json kept in $(INTEGRATION_JSON))"
	@mkdir -p $(dir $(INTEGRATION_JSON))
	@run=$${SMILE_IT_RUN:-$$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')}; status=0; \
	echo "SMILE_IT_RUN=$$run $(TEST_ENV) $(GO) tool -modfile=tools/go.mod gotestsum --format testname --jsonfile $(INTEGRATION_JSON) -- -count=1 -timeout 15m $(INTEGRATION_FLAGS) ./integration/..."; \
	SMILE_IT_RUN=$$run TESTCONTAINERS_RYUK_DISABLED=$${TESTCONTAINERS_RYUK_DISABLED:-true} $(TEST_ENV) \
		$(GO) tool -modfile=tools/go.mod gotestsum --format testname --jsonfile $(INTEGRATION_JSON) -- \
		-count=1 -timeout 15m $(INTEGRATION_FLAGS) ./integration/... || status=$$?; \
	if docker info >/dev/null 2>&1; then \
		left=$$(for f in $(SWEEP_LABELS); do docker ps -aq --filter "$$f"; done | sort -u); \
		nets=$$(for f in $(SWEEP_LABELS); do docker network ls -q --filter "$$f"; done | sort -u); \
		imgs=$$(docker image ls -q --filter "reference=smile-*:it-$$run" | sort -u); \
		if [ -n "$$left$$nets$$imgs" ]; then \
			echo ">> run $$run left behind containers [$$(echo $$left)], networks [$$(echo $$nets)], images [$$(echo $$imgs)]: removing them"; \
			if [ -n "$$left" ]; then docker rm -f $$left >/dev/null || true; fi; \
			removed=; for n in $$nets; do \
				if docker network rm $$n >/dev/null 2>&1; then removed=$$n; \
				else echo ">> network $$n stays: the daemon counts an endpoint on it with no container left (moby/moby#43286); a daemon restart clears it"; fi; \
			done; \
			if [ -n "$$imgs" ]; then docker image rm -f $$imgs >/dev/null || true; fi; \
			if [ -n "$$left$$removed" ] && [ $$status = 0 ]; then status=1; fi; \
		fi; \
	fi; \
	exit $$status

.PHONY: clean-integration
clean-integration: ## remove containers, networks and images that killed integration runs left behind
	@echo ">> removing what killed integration runs left behind (label smile.integration.pid of a process that is gone)"
	integration/leftovers.sh dead

# Each fuzz target with its package; `make fuzz` runs them one at a time for
# FUZZTIME each. Their seed corpora run in every `make unit`.
FUZZTIME   ?= 30s
FUZZ_TARGETS := FuzzParsePort:./internal/netaddr FuzzParseListen:./internal/netaddr \
	FuzzParseTarget:./internal/netaddr FuzzParse:./internal/envflag FuzzSanitize:./internal/dnsname

.PHONY: fuzz
fuzz: ## every fuzz target for FUZZTIME (default 30s) each; a crasher lands in testdata/fuzz
	@for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; pkg=$${t#*:}; \
		echo ">> fuzzing $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

# The bench draws its comparison (conn/s and p99 per row, the C loop as
# reference) from the run it reports into BENCH_SVG; docs/performance.md
# shows the committed one. BENCH_SVG= draws nothing. ROWS runs only
# some groups of rows (smilebench -only): tcp, matrix, udp, meshscale,
# loss; a run of some rows draws nothing.
BENCH_SVG  ?= docs/bench.svg
ROWS       ?=

.PHONY: bench
bench: build ## loopback load: smile-server and smile-client against minimal ones (TCP and datagrams), interleaved rounds, then one mesh node probing 1,000 peers and the client's loss against loss set (root) (about 4 min); ROWS=udp,loss runs some rows; draws $(BENCH_SVG)
	@echo ">> benchmarking bin/smile-server and bin/smile-client on loopback ($(BENCH_FLAGS)$(if $(ROWS), rows $(ROWS))), drawing $(BENCH_SVG)"
	$(GO) run ./internal/smiletest/bench/cmd/smilebench -bin $(BIN) $(if $(BENCH_SVG),-svg $(BENCH_SVG)) $(if $(ROWS),-only $(ROWS)) $(BENCH_FLAGS)

# The mesh at scale (docs/mesh.md): N real nodes, each on a loopback
# address of its own, in a network namespace of their own with conntrack
# off there; needs root (ip netns, nft) and, for the page, chromium.
N          ?= 200
MESH_SCALE_FLAGS ?=

.PHONY: mesh-scale
mesh-scale: build ## N mesh nodes in a namespace of their own (root): per-node CPU and RSS, matrix size and time, page draw time
	@echo ">> running $(N) mesh nodes in a network namespace of their own ($(MESH_SCALE_FLAGS))"
	$(GO) build -o $(BIN)/meshscale ./internal/smiletest/bench/cmd/meshscale
	$(BIN)/meshscale -n $(N) -server $(BIN)/smile-server $(MESH_SCALE_FLAGS)

# The mesh's alert rules (docs/mesh.md#alerts): checked, and fired by
# their promtool tests on series captured from a real fault. promtool is
# Debian's prometheus package (.ci/run installs it); nothing here starts
# a Prometheus.
.PHONY: rules
rules: ## check deploy/prometheus/smile-rules.yml and run its promtool tests (needs promtool)
	@echo ">> checking the alert rules and running their promtool tests (deploy/prometheus)"
	@command -v promtool >/dev/null || { echo "promtool not found: apt-get install prometheus, then systemctl disable --now prometheus"; exit 1; }
	cd deploy/prometheus && promtool check rules smile-rules.yml && promtool test rules smile-rules.test.yml

.PHONY: test
test: rules unit unit-arm64 integration ## every test (the arm64 run needs .ci/qemu-arm64, which .ci/run calls)
	@echo ">> all tests passed"

.PHONY: fmt
fmt:
	@echo ">> formatting code"
	gofmt -w $$(git ls-files '*.go')

.PHONY: lint
lint:
	@echo ">> checking gofmt"
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@echo ">> vetting code"
	$(GO) vet ./...
	@echo ">> checking GitHub workflows with actionlint"
	$(GO) tool -modfile=tools/go.mod actionlint
	@$(MAKE) --no-print-directory cross

.PHONY: tidy
tidy: ## fail if `go mod tidy` would change go.mod or go.sum of any module here
	@echo ">> checking that go mod tidy changes nothing"
	$(GO) mod tidy -diff
	cd tools && $(GO) mod tidy -diff
	cd tools/golangci && $(GO) mod tidy -diff

.PHONY: golangci
golangci: ## golangci-lint, pinned in tools/golangci/go.mod (its first build takes about 3 minutes)
	@echo ">> running golangci-lint"
	$(GO) tool -modfile=tools/golangci/go.mod golangci-lint run ./...

.PHONY: clean
clean:
	@echo ">> removing build output"
	rm -rf $(BIN) $(DIST)

.PHONY: published-names
published-names: ## the published images the Kubernetes manifests use, as server=REF and client=REF lines
	@echo "server=$(PUBLISHED_SERVER_IMAGE)"
	@echo "client=$(PUBLISHED_CLIENT_IMAGE)"

.PHONY: kind-images
kind-images: ## this checkout's images under the published names, for kind (nothing pulled)
	@$(MAKE) --no-print-directory images SERVER_IMAGE=$(PUBLISHED_SERVER_IMAGE) CLIENT_IMAGE=$(PUBLISHED_CLIENT_IMAGE)

.PHONY: kind-load
kind-load: ## load the images of `make kind-images` into every node of kind cluster $(KIND_CLUSTER)
	@echo ">> loading $(PUBLISHED_SERVER_IMAGE) and $(PUBLISHED_CLIENT_IMAGE) into kind cluster $(KIND_CLUSTER)"
	kind load docker-image --name $(KIND_CLUSTER) $(PUBLISHED_SERVER_IMAGE) $(PUBLISHED_CLIENT_IMAGE)

.PHONY: images
images: build-linux ## $(SERVER_IMAGE) and $(CLIENT_IMAGE) (linux/$(GOARCH)) from the binaries in bin/, offline
	@echo ">> building images $(SERVER_IMAGE) and $(CLIENT_IMAGE) (linux/$(GOARCH)) from Dockerfile.prebuilt"
	@# No attestations: kind and `docker save` need a plain image (see kind.yml);
	@# the release workflow is where provenance and SBOM are attached.
	@for target in server client; do \
		case $$target in server) ref=$(SERVER_IMAGE);; client) ref=$(CLIENT_IMAGE);; esac; \
		out=$$(BUILDX_NO_DEFAULT_ATTESTATIONS=1 docker build -f Dockerfile.prebuilt \
			--platform linux/$(GOARCH) --target $$target \
			--build-arg VERSION=$(VERSION) \
			--build-arg REVISION=$(REVISION) \
			--build-arg SOURCE=$(SOURCE) \
			$(foreach l,$(IMAGE_LABELS),--label $(l)) \
			-t $$ref $(LINUX_BIN) 2>&1) || { echo "$$out"; exit 1; }; \
	done
	@echo ">> checking the binaries inside the images are linux/$(GOARCH) (a label alone proves nothing)"
	GOOS= GOARCH= $(GO) run ./internal/smiletest/imagearch/cmd/imagearch -arch $(GOARCH) $(SERVER_IMAGE) $(CLIENT_IMAGE)
	@echo ">> image sizes"
	@docker image inspect --format '{{index .RepoTags 0}}	{{.Size}} bytes' $(SERVER_IMAGE) $(CLIENT_IMAGE)

.PHONY: up
up: build images ## the compose demo with the images of `make images` (no registry needed); fails if any client failed
	@$(MAKE) --no-print-directory demo UP_FLAGS=--no-build

# demo runs docker-compose.yml as it is. UP_FLAGS=--build builds both images
# from source with the official Go image (CI's compose job: only Docker);
# `make up` passes --no-build, so the images are the ones it just built.
UP_FLAGS   ?=
.PHONY: demo
demo: ## the compose demo: up, every client's greeting, the server's log, a clean stop; fails if anything failed
	@echo ">> starting the compose demo: $(COMPOSE) -p $(PROJECT) up -d $(UP_FLAGS) (images :$(TAG))"
	@trap '$(MAKE) --no-print-directory down' EXIT; \
	export TAG=$(TAG); \
	$(COMPOSE) -p $(PROJECT) up -d $(UP_FLAGS); \
	echo ">> greetings"; \
	failed=0; \
	for svc in $(CLIENTS); do \
		id=$$($(COMPOSE) -p $(PROJECT) ps -a -q $$svc); \
		code=$$(docker wait $$id); \
		out=$$(docker logs $$id 2>&1); \
		if [ "$$(printf '%s\n' "$$out" | wc -l)" -gt 1 ]; then \
			printf '%-16s exit %s:\n' "$$svc" "$$code"; printf '%s\n' "$$out" | sed 's/^/    /'; \
		else \
			printf '%-16s exit %s: %s\n' "$$svc" "$$code" "$$out"; \
		fi; \
		if [ "$$code" != 0 ]; then failed=1; fi; \
	done; \
	echo ">> stopping the server (SIGTERM, as Ctrl-C does to an attached compose up)"; \
	server=$$($(COMPOSE) -p $(PROJECT) ps -a -q server); \
	$(COMPOSE) -p $(PROJECT) stop server >/dev/null 2>&1; \
	code=$$(docker inspect --format '{{.State.ExitCode}}' $$server); \
	echo ">> server log (exit $$code)"; \
	$(COMPOSE) -p $(PROJECT) logs --no-color server; \
	if [ "$$code" != 0 ]; then echo ">> the server did not stop cleanly"; failed=1; fi; \
	if [ $$failed != 0 ]; then echo ">> the demo failed"; exit 1; fi

# The mesh demo of docker-compose.yml (profile "mesh", docs/mesh.md): four
# nodes greeting each other, mesh-a's matrix page on 127.0.0.1:$(MESH_PORT).
# A project of its own on the same default subnets as the demo above: run
# one at a time, or set SMILE_NET4 and SMILE_NET6 for one of them.
MESH_PROJECT ?= smile-mesh
MESH_PORT    ?= 8080
MESH_NODES   := mesh-a mesh-b mesh-c mesh-d

.PHONY: mesh-up
mesh-up: build images ## the compose mesh demo with the images of `make images`: four nodes, the page on 127.0.0.1:$(MESH_PORT)
	@echo ">> starting the mesh demo: $(COMPOSE) -p $(MESH_PROJECT) up -d --no-build $(MESH_NODES) (images :$(TAG))"
	TAG=$(TAG) SMILE_MESH_PORT=$(MESH_PORT) $(COMPOSE) -p $(MESH_PROJECT) up -d --no-build $(MESH_NODES)
	@echo ">> the matrix page: http://127.0.0.1:$(MESH_PORT)/ (JSON: /matrix.json, metrics: /metrics); make mesh-down stops it"

.PHONY: mesh-down
mesh-down: ## tear the compose mesh demo down
	@echo ">> tearing down the mesh demo (project $(MESH_PROJECT))"
	TAG=$(TAG) $(COMPOSE) -p $(MESH_PROJECT) --profile mesh down --volumes --remove-orphans --timeout 5

.PHONY: down
down: ## tear the compose demo down
	@echo ">> tearing down the compose demo (project $(PROJECT))"
	TAG=$(TAG) $(COMPOSE) -p $(PROJECT) down --volumes --remove-orphans --timeout 5
