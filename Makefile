# cmr's front door. Two commands matter:
#   make run    install what is missing, build, load the demo world, serve
#   make check  install what is missing, build, run every test suite
# Everything else here is what those two are made of.

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
REL_BUILD  ?= build-release
CMR        := $(BUILD)/src/cmr
PYTEST     := /usr/bin/python3 -m pytest
# The black-box suites (api, api-pg, api-asan, tsan) run on API_WORKERS
# pytest-xdist workers at once (Debian's python3-pytest-xdist): most of a
# test's time is spent waiting (on a server to start and stop, a window
# to pass, a retry), so they overlap even on two cores. Each worker has
# its own temporary folders, servers on ports of their own, and on
# PostgreSQL a cluster of its own (tests/api/conftest.py). API_WORKERS=0
# runs a suite in one process.
API_WORKERS ?= 2
API_PYTEST := $(PYTEST) -q -n $(API_WORKERS)
FUZZ_SECONDS ?= 60

.PHONY: all setup build run check unit asan fuzz-corpus api api-pg api-asan tsan browser bench fuzz clean format format-check

all: build

setup:
	@bash scripts/setup

# Every build here treats warnings as errors (meson.build leaves werror off
# for packagers). A build directory keeps the options it was set up with:
# `meson configure DIR -Dwerror=true`, or remove it, to change an old one.
$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized --werror

build: setup $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Starts cmr on the embedded default store (./var/cmr.db) with the demo
# world, open registration and envelope trust (demo only).
run: build
	@$(CMR) init
	@mkdir -p var/maildir
	@$(CMR) demo --if-empty --maildir-root var/maildir
	@echo
	@echo "cmr is starting. Open http://127.0.0.1:8025/ in a browser and log in as"
	@echo "ana (demo-password-ana) or ben (demo-password-ben)."
	@echo "The API is on the same address (try: curl http://127.0.0.1:8025/healthz),"
	@echo "LMTP on 127.0.0.1:2424, the Postfix policy service on 127.0.0.1:10040,"
	@echo "and the Maildir export under var/maildir. Stop it with Ctrl-C."
	@exec $(CMR) serve --open-registration --trust-envelope --maildir-root var/maildir

check: build
	$(MAKE) --no-print-directory format-check unit browser asan api api-pg api-asan tsan

unit:
	meson test -C $(BUILD) --print-errorlogs --num-processes 2

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debug --werror \
	  -Db_sanitize=address,undefined \
	  -Db_lundef=false -Dc_args=-fno-sanitize-recover=all

asan: setup $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 2

api: build
	CMR_BIN=$(abspath $(CMR)) $(API_PYTEST) tests/api

# The black-box suite again on PostgreSQL: each worker starts a cluster of
# its own (scripts/pg-cluster) in a temporary folder, a database per test.
api-pg: build
	CMR_TEST_STORE=postgresql CMR_BIN=$(abspath $(CMR)) $(API_PYTEST) tests/api

# The black-box suite again against the ASan+UBSan server: any report
# makes the server exit non-zero, which the suite's fixtures fail on.
api-asan: asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 \
	  CMR_BIN=$(abspath $(ASAN_BUILD)/src/cmr) $(API_PYTEST) tests/api

# The server built with ThreadSanitizer, for the black-box suite only: the
# unit tests are left out (Criterion forks a process per test, and they are
# single-threaded but for the store's writer, which the suite drives too).
$(TSAN_BUILD)/build.ninja:
	meson setup $(TSAN_BUILD) --buildtype=debugoptimized --werror \
	  -Db_sanitize=thread -Dtests=false

# The black-box tests that drive the server's threads against one another
# (the writer, HTTP, LMTP and policy sessions, the scheduler, the delivery
# workers, the store's listener) against the ThreadSanitizer server: the
# whole suite runs plain, on PostgreSQL and under ASan, and make check
# stays under 30 minutes (TSAN_TESTS=tests/api runs it all). The first
# report stops the process with exit code 66, and the suite's fixtures
# fail the test on it (conftest.py also looks for a report in every cmr's
# stderr). tests/tsan.supp holds the false positives of uninstrumented
# libraries.
TSAN_TESTS ?= $(addprefix tests/api/,test_durability.py test_http_races.py \
  test_http_patch.py test_forward.py test_mta_fixtures.py \
  test_http_scheduler.py test_held.py test_delivery.py test_webhook.py \
  test_policy.py test_lmtp.py test_http_throttle.py test_http_limits.py \
  test_http_session.py test_serve.py test_replies.py test_unsubscribe.py)
tsan: setup $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD)
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$(abspath tests/tsan.supp)" \
	  CMR_BIN=$(abspath $(TSAN_BUILD)/src/cmr) $(API_PYTEST) $(TSAN_TESTS)

# The person's web app in Debian's Chromium, headless (tests/browser:
# Node's test runner, playwright-core, axe-core), against the plain
# server; screenshots at 390 and 1280 px go to tests/browser/shots/.
browser: build
	@bash scripts/setup-browser
	cd tests/browser && CMR_BIN=$(abspath $(CMR)) node --test --test-concurrency=1

$(REL_BUILD)/build.ninja:
	meson setup $(REL_BUILD) --buildtype=release --werror -Dtests=false

bench: setup $(REL_BUILD)/build.ninja
	ninja -C $(REL_BUILD)
	bench/gate $(REL_BUILD)/src/cmr
	bench/campaign $(REL_BUILD)/src/cmr
	bench/http $(REL_BUILD)/src/cmr
	bench/lmtp-vs-dovecot $(REL_BUILD)/src/cmr
	bench/policy-vs-postfwd $(REL_BUILD)/src/cmr
	bench/nodes $(REL_BUILD)/src/cmr

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) --werror -Dfuzzing_engine=libfuzzer \
	  -Dtests=false \
	  -Db_sanitize=address,undefined -Db_lundef=false

# Longer fuzz runs (not part of check): each driver for FUZZ_SECONDS.
fuzz: setup $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	for f in tz terms replyaddr jcs note mailmsg scrub authres policy lmtp; do \
	  mkdir -p $(FUZZ_BUILD)/corpus-$$f; \
	  $(FUZZ_BUILD)/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) \
	    $(FUZZ_BUILD)/corpus-$$f fuzz/corpus/$$f || exit 1; \
	done

format:
	clang-format -i $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'fuzz/*.[ch]')

# Fails when a C file differs from what .clang-format makes of it.
format-check:
	clang-format --dry-run -Werror $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'fuzz/*.[ch]')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(REL_BUILD)
