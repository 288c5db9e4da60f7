# classcast — the two commands a new user needs are `make run` and `make test`.
# Every target installs what it needs first, and only what is missing.

SHELL := /bin/bash
GO ?= go
BIN := bin/classcast
LOAD := bin/classcast-load
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.6.1
PLAYER_SRC := $(shell find player/src player/*.html player/vite.config.ts player/tsconfig*.json -type f 2>/dev/null)

.PHONY: all deps build run test test-go test-player bench lint clean

all: build

## deps: apt packages, npm packages and Go modules (idempotent)
deps: .deps/apt player/node_modules/.installed .deps/gomod .deps/bin/versitygw

.deps/apt: scripts/deps.sh
	@mkdir -p .deps
	./scripts/deps.sh
	@touch $@

player/node_modules/.installed: player/package.json player/package-lock.json
	cd player && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.deps/gomod: go.mod go.sum
	@mkdir -p .deps
	$(GO) mod download
	@touch $@

# versitygw is the real S3-compatible server the storage tests start (internal/storage/s3test).
VERSITYGW_VERSION := v1.8.0
.deps/bin/versitygw:
	@mkdir -p .deps/bin
	GOBIN=$(CURDIR)/.deps/bin $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

player/dist/index.html: player/node_modules/.installed $(PLAYER_SRC)
	cd player && npm run build

## build: the player (Vite) and the binaries, with the player embedded
build: deps player/dist/index.html
	$(GO) build -o $(BIN) ./cmd/classcast
	$(GO) build -o $(LOAD) ./cmd/classcast-load

## run: build and start the all-in-one server with a demo classroom stream
run: build
	./$(BIN) serve --demo.enabled

## test: every test, with real components (ffmpeg, GStreamer, Chromium)
test: build lint test-player test-go

# Unit tests, then the built pages in headless Chromium against stubbed API answers
# (the VOD and library pages; the live page is covered by the end-to-end tests).
test-player: player/dist/index.html
	cd player && npm test --silent
	cd player && SMOKE_ONLY=vod npm run --silent smoke

# The end-to-end tests measure latency and time to first frame as a viewer sees them,
# so they run alone, after the package tests, not beside CPU-heavy transcoding tests.
test-go: player/dist/index.html
	$(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v /internal/teste2e)
	TEST_CLASSCAST_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m ./internal/teste2e

## bench: measure and write BENCHMARKS.md
bench: build
	$(GO) run ./scripts/bench

lint: deps player/dist/index.html
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf bin .deps player/dist
