# Gatehouse: the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build wasm run test test-unit test-fuzz test-security test-fault test-e2e test-e2e-plain fuzz tools bench bench-scale vet clean

build: ## build the gateway, the connector, the demo app and the demo launcher into bin/
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/gatehouse ./cmd/gatehouse-connector ./examples/demoapp ./examples/demo

WASM_EXAMPLES := securityheaders pathfilter linktranslate
wasm: ## build the example WASM filters into bin/wasm/ with the standard Go toolchain, and print their sha256
	@mkdir -p $(BIN)/wasm
	@for f in $(WASM_EXAMPLES); do \
		GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $(BIN)/wasm/$$f.wasm ./examples/wasm/$$f || exit 1; done
	@cd $(BIN)/wasm && sha256sum *.wasm

run: build ## start the demo on loopback: an OpenID provider (sign in as alice/password), gateway, demo app and an enrolled connector
	$(BIN)/demo --bin $(BIN)

test: vet test-unit test-fuzz test-security test-e2e test-e2e-plain ## every test

FUZZTIME ?= 60s
test-fuzz: ## every fuzz target for 5s each (their checked-in inputs also run in test-unit, as plain tests)
	GO=$(GO) ./scripts/fuzz.sh 5s

fuzz: ## every fuzz target for FUZZTIME (default 60s) each, one after the other; a failing input lands in testdata/fuzz/
	GO=$(GO) ./scripts/fuzz.sh $(FUZZTIME)

# Nested modules, each with its own go.mod: the SDK plug-in authors import, and examples built as an author would.
MODULES := sdk examples/custom-sso examples/custom-signon third_party/yamux
# Upstream yamux tests that fail on a loaded 2-core machine with or without Gatehouse's patches
# (10 and 250 ms deadlines, 16 GiB moved; third_party/yamux/PATCHES.md): test-unit leaves them out.
YAMUX_TIMING_TESTS := TestSendData_VeryLarge|TestSendData_Large|TestManyStreams|TestManyStreams_PingPong|TestHalfCloseSessionShutdown|TestBacklogExceeded_Accept|TestLargeWindow
vet: ## go vet, and go.mod/go.sum as `go mod tidy` leaves them, in the main module and each nested one
	$(GO) mod tidy -diff
	$(GO) vet ./...
	@for m in $(MODULES); do echo "vet: $$m"; (cd $$m && $(GO) mod tidy -diff && $(GO) vet ./...) || exit 1; done
	cd sdk && GOOS=wasip1 GOARCH=wasm $(GO) vet ./wasm/...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./examples/wasm/securityheaders ./examples/wasm/pathfilter ./examples/wasm/linktranslate

test-unit: tools ## unit and package tests (the nested modules' too), with the race detector; every runner prints its skips, and with CI=true a skip fails the run; (plugins/kcd runs against the real Kerberos lab)
	GO=$(GO) ./scripts/gotest.sh -race -count=1 $$($(GO) list ./... | grep -v /e2e)
	@for m in $(MODULES); do GO=$(GO) ./scripts/gotest.sh -C $$m -race -count=1 $$(test $$m = third_party/yamux && echo -skip '^($(YAMUX_TIMING_TESTS))$$') ./... || exit 1; done
	GO=$(GO) ./scripts/gotest.sh -count=1 ./internal/fastpath/rawsock # the race detector turns raw socket calls off: test them without it too

test-security: build tools ## the hostile suite: attacks on the real binaries, printed as a table (case, expected, observed)
	GO=$(GO) ./scripts/gotest.sh -count=1 -timeout 15m -run '^TestHostile' ./e2e/

test-fault: build tools ## the fault suite: kill or stop one component at a time under load; prints a table of failed requests, recovery time and losses
	cd e2e && $(GO) test -count=1 -timeout 10m -run '^TestFault$$'

test-e2e: build tools ## end-to-end tests over real TLS on loopback, with real processes (the hostile suite runs in test-security)
	GO=$(GO) ./scripts/gotest.sh -count=1 -timeout 20m -skip '^TestHostile' ./e2e/...

test-e2e-plain: build tools ## the whole e2e suite, hostile suite included, again with every fast path off (GATEHOUSE_FAST_PATHS=off: plain net/http, http.Transport, ReverseProxy)
	GATEHOUSE_FAST_PATHS=off GO=$(GO) ./scripts/gotest.sh -count=1 -timeout 30m ./e2e/...

tools: ## test tools: Pebble (ACME server) into .tools/bin; Debian packages: the Kerberos lab (MIT KDC + LDAP, Apache + mod_auth_gssapi), Apache auth_basic/mod_auth_form, PostgreSQL (the postgres store's lab), HAProxy (the load balancer of the cluster e2e test), wabt (wat2wasm), Chromium + certutil, SimpleSAMLphp, Prometheus + promtool, nginx (make bench's reference path), OpenSSH (sshd + ssh, the TCP-app test), xrdp + FreeRDP + Xvfb + xwd (the RDP test), systemd-analyze (checks deploy/systemd offline); oidc-provider (npm) into .tools/
	GO=$(GO) ./scripts/install-pebble.sh
	./scripts/kcdlab.sh install
	./scripts/basicauth-lab.sh install
	./scripts/pglab.sh install
	./scripts/haproxylab.sh install
	./scripts/install-wabt.sh
	./scripts/install-ssh.sh
	./scripts/install-rdp.sh
	./scripts/install-oidc-provider.sh
	./scripts/install-chromium.sh
	./scripts/install-simplesamlphp.sh
	./scripts/install-prometheus.sh
	./scripts/install-nginx.sh
	./scripts/install-systemd-tools.sh

bench: build ## a minimal backend direct vs through nginx-TLS vs through Gatehouse (nginx installed if missing), an RSS scenario, then metrics+access logs on vs off (set BENCH_OUT=file.json for JSON)
	./bench/run.sh

bench-scale: build ## scale: 1,000 simulated connectors x 2 sessions on one gateway (RSS, CPU, config push), 10k-app reload (~1.5 min)
	./bench/run.sh --scale

clean:
	rm -rf $(BIN) .run
