# Meridian: build, test and lint. Every target works on a fresh clone of a
# machine with Go, npm and apt reachable; tools the targets need are
# installed under .tools/ by the targets themselves.

GO          ?= go
BIN         := bin
TOOLS       := $(CURDIR)/.tools
STATICCHECK := $(TOOLS)/bin/staticcheck
AZURITE     := $(TOOLS)/node_modules/.bin/azurite-blob
AZURITE_VERSION     := 3.35.0
STATICCHECK_VERSION := v0.8.2
# Test timeout for the whole suite; CI must finish well within its budget.
TEST_TIMEOUT ?= 30m

export MERIDIAN_AZURITE := $(AZURITE)

.PHONY: all build test test-short lint fmt tools clean demo bench

all: build

build:
	$(GO) build -o $(BIN)/meridian ./cmd/meridian

## test: install the services tests need (Azurite), then run every test.
## With MERIDIAN_REQUIRE_SERVICES=1 (as in CI) a missing service fails the
## tests instead of skipping them.
test: tools
	$(GO) vet ./...
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

## test-short: the fast unit tests only.
test-short:
	$(GO) test -short ./...

lint: $(STATICCHECK)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

tools: $(AZURITE)

$(AZURITE):
	@mkdir -p $(TOOLS)
	cd $(TOOLS) && npm install --no-audit --no-fund --silent azurite@$(AZURITE_VERSION)

$(STATICCHECK):
	GOBIN=$(TOOLS)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## demo: build, then generate the retail sample, serve it, refresh it and
## query it; the server keeps running until Ctrl-C. DEMO_ARGS passes options
## (--rows N, --listen ADDR, --data-dir DIR).
demo: build
	$(BIN)/meridian demo $(DEMO_ARGS)

## bench: Meridian against DuckDB and against the memory-bandwidth limit,
## at scale factor BENCH_SF (10: ten million sales rows); writes
## docs/benchmarks.md and docs/benchmarks.json. The harness is its own
## module (bench/go.mod) so that DuckDB's cgo build stays out of the
## server. BENCH_ARGS passes options (cd bench && go run . -h lists them).
BENCH_SF   ?= 10
BENCH_ARGS ?=
bench: build
	cd bench && $(GO) run . --sf $(BENCH_SF) --out ../docs --meridian ../$(BIN)/meridian $(BENCH_ARGS)

clean:
	rm -rf $(BIN)
