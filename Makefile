# kasuhara: see README.md. `make run` serves on the embedded default lexicon;
# `make test` runs every check CI runs.

GO                       ?= go
GRPC_ADDR                ?= 127.0.0.1:50051
HTTP_ADDR                ?= 127.0.0.1:9090
ADMIN_ADDR               ?= 127.0.0.1:50052
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GHZ_VERSION                := v0.121.0
DEV_CORPUS               ?= ../shared/eval/dev.jsonl
DEV2_CORPUS              ?= ../shared/eval/dev2.jsonl
BENIGN_CORPUS            ?= ../shared/eval/benign/asdc-vanilla.jsonl
PUBLIC_CORPUS            ?= ../shared/eval/public/rtplx-ja-a.jsonl
BIN                      := $(CURDIR)/bin
FUZZTIME                 ?= 50000x

.PHONY: run build test vet fmt-check lint-lexicon proto proto-check eval fuzz bench clean

run:
	$(GO) run ./cmd/kasuhara serve --grpc-addr $(GRPC_ADDR) --http-addr $(HTTP_ADDR) --admin-addr "$(ADMIN_ADDR)"

build:
	$(GO) build -o $(BIN)/kasuhara ./cmd/kasuhara

test: fmt-check vet lint-lexicon
	$(GO) test -race -count=1 ./...

# Lints the embedded default lexicon: every entry's examples, shadowed and
# unmatchable phrases, with file and line.
lint-lexicon:
	$(GO) run ./cmd/kasuhara lexicon lint

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Regenerates the checked-in Go code from proto/. Needs Debian's
# protobuf-compiler (apt-get install protobuf-compiler); the Go plugins are
# installed into ./bin at pinned versions.
proto:
	@command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler"; exit 1; }
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	PATH=$(BIN):$$PATH protoc -I proto \
		--go_out=proto --go_opt=paths=source_relative \
		--go-grpc_out=proto --go-grpc_opt=paths=source_relative \
		proto/kasuhara/v1/kasuhara.proto

# Fails when the checked-in generated code differs from what `make proto` writes.
proto-check: proto
	git diff --exit-code -- proto/

# Scores the dev corpus and the probe set through the real binary and fails
# under the quality bar (macro-F1, harassment recall, routine labelled
# harassment).
PROBES  := classifier/testdata/probes.jsonl
PROBES2 := classifier/testdata/probes2.jsonl
PROBES3 := classifier/testdata/probes3.jsonl
PROBES4 := classifier/testdata/probes4.jsonl
PROBES5 := classifier/testdata/probes5.jsonl
# probes6 was written apart from the lexicon (polite harassment and casual
# routine in equal measure); part 2 of the matcher was measured on it
# first, then tuned on its phenomena.
PROBES6 := classifier/testdata/probes6.jsonl
# probes7 and probes8 (240 each: harassment, escalation and routine in
# equal measure, half polite, half casual) were written apart from the
# lexicon and measured first (macro-F1 0.707 and 0.699); the frames of
# the polite forms were then tuned on probes7, their breadth on probes8.
# A ninth set, never tuned on, is kept outside the repository.
PROBES7 := classifier/testdata/probes7.jsonl
PROBES8 := classifier/testdata/probes8.jsonl
# score classifies corpus $(1) into $(BIN)/$(2).pred and fails it under
# macro-F1 $(3) or harassment recall $(4), or past $(5) of its routine
# messages labelled harassment.
score = $(BIN)/kasuhara classify < $(1) > $(BIN)/$(2).pred && \
	python3 ../shared/eval/score.py $(1) $(BIN)/$(2).pred --min-macro-f1 $(3) --min-harass-recall $(4) --max-false-harass $(5)

eval: build
	$(call score,$(DEV_CORPUS),dev,0.92,0.95,0.01)
	# dev2 was written apart from the lexicon: its harassment is mostly
	# casual, its escalation mostly polite.
	$(call score,$(DEV2_CORPUS),dev2,0.92,0.95,0.01)
	# Real toxic and non-toxic text written by others (RTP-LX, translated):
	# the breadth of the vocabulary, whoever it is aimed at.
	$(BIN)/kasuhara classify < $(PUBLIC_CORPUS) > $(BIN)/public.pred
	python3 load/toxic_gate.py $(PUBLIC_CORPUS) $(BIN)/public.pred --min-recall 0.60 --min-precision 0.90
	# Real benign text: every harassment and nearly every escalate is a
	# false alarm; each is printed by id with what fired.
	$(BIN)/kasuhara classify < $(BENIGN_CORPUS) > $(BIN)/benign.pred
	python3 load/benign_gate.py $(BENIGN_CORPUS) $(BIN)/benign.pred --max-harassment 4 --max-escalate 40
	$(call score,$(PROBES),probes,0.90,0.90,0.01)
	$(call score,$(PROBES2),probes2,0.88,0.90,0.01)
	$(call score,$(PROBES3),probes3,0.88,0.85,0.01)
	$(call score,$(PROBES4),probes4,0.85,0.90,0.01)
	$(call score,$(PROBES5),probes5,0.85,0.85,0.01)
	$(call score,$(PROBES6),probes6,0.90,0.85,0.01)
	$(call score,$(PROBES7),probes7,0.95,0.95,0.01)
	$(call score,$(PROBES8),probes8,0.80,0.72,0.02)
# Informational: which entries and phrases of the default lexicon never
# fire, or fire on one message, over the dev corpora and the probe sets.
# Every finding goes to $(BIN)/coverage.txt; the summary line is printed.
# Findings never fail it; a lint problem or a bad corpus line does.
DEV2_CORPUS ?= ../shared/eval/dev2.jsonl
.PHONY: coverage
coverage: build
	$(BIN)/kasuhara lexicon lint --coverage $(DEV_CORPUS) $(DEV2_CORPUS) \
		$(PROBES) $(PROBES2) $(PROBES3) $(PROBES4) $(PROBES5) $(PROBES6) $(PROBES7) $(PROBES8) > $(BIN)/coverage.txt
	@tail -n 1 $(BIN)/coverage.txt
	@echo "findings: $(BIN)/coverage.txt"

# Runs each fuzz target for FUZZTIME (go test allows one target per run): a
# count of executions, since a duration can fail a clean run with "context
# deadline exceeded" in Go 1.26 (golang/go#75804).
fuzz:
	$(GO) test ./classifier -run '^$$' -fuzz '^FuzzClassify$$' -fuzztime $(FUZZTIME)
	$(GO) test ./lexicon -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME)
	$(GO) test ./mailfilter -run '^$$' -fuzz '^FuzzApply$$' -fuzztime $(FUZZTIME)

# The milter behind a real Postfix on loopback, mail sent with swaks. Needs
# root and Debian's postfix and swaks (apt-get install postfix swaks); the
# test starts and stops a throwaway Postfix instance of its own.
.PHONY: e2e-mail
e2e-mail:
	KASUHARA_POSTFIX_E2E=1 $(GO) test -count=1 -v -run '^TestPostfixMilter$$' ./mailfilter/e2e/

# gRPC load: ghz (pinned, installed into ./bin) against `kasuhara serve` on
# loopback, Classify then ClassifyBatch with the dev corpus texts round-robin
# at concurrency 50, then Classify beside 130 idle streams; prints calls/s,
# p50/p99, errors and the server's resident memory; then health and /metrics
# latency under 500 concurrent 7.5 KB calls (load/overload.sh); then kasuhara's unary
# calls/s against a floor server's, each pinned to a core (load/ratio.sh). Knobs: LOAD_REQUESTS, LOAD_BATCH_CALLS, LOAD_BATCH_SIZE,
# LOAD_CONCURRENCY, LOAD_DURATION (see load/load.sh).
.PHONY: load ghz
load: build ghz
	$(GO) build -o $(BIN)/idlestreams ./load/idlestreams
	$(GO) build -o $(BIN)/floor ./load/floor
	$(GO) build -o $(BIN)/probe ./load/probe
	KASUHARA=$(BIN)/kasuhara GHZ=$(BIN)/ghz IDLESTREAMS=$(BIN)/idlestreams FLOOR=$(BIN)/floor PROBE=$(BIN)/probe \
		DEV_CORPUS=$(DEV_CORPUS) OUT=$(BIN)/load ./load/load.sh

ghz:
	GOBIN=$(BIN) $(GO) install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)

# Benchmarks of the classifier, pathological inputs included.
bench:
	$(GO) test ./classifier -run '^$$' -bench . -benchmem

clean:
	rm -rf $(BIN)
