# server - build, test and benchmark. GNU make.
SHELL     = /bin/bash
CC       ?= cc
CFLAGS   ?= -O2 -g
CPPFLAGS  = -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 -D_GNU_SOURCE -Ihttp -Ihandlers -MMD -MP
WARN      = -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wimplicit-fallthrough -Wvla -Wundef -Wformat=2
ASAN      = -O1 -g -Werror -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer
TSAN      = -O1 -g -Werror -fsanitize=thread -fno-omit-frame-pointer

SRC   = $(wildcard http/*.c handlers/*.c)
TESTS = $(patsubst tests/%.c,%,$(wildcard tests/test_*.c))

all: server

.SECONDEXPANSION:
# A test that #includes parse.c shadows parse.o in the archive; the linker never pulls it.
build/%/libsrv.a: $(SRC:%.c=build/$$*/%.o)
	$(AR) rcs $@ $^

build/rel/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<
build/asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(ASAN) -c -o $@ $<
build/tsan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(TSAN) -c -o $@ $<

server: build/rel/server.o build/rel/libsrv.a
	$(CC) $(CFLAGS) -o $@ $^ -pthread

build/asan/server: build/asan/server.o build/asan/libsrv.a
	$(CC) $(ASAN) -o $@ $^ -pthread
build/tsan/server: build/tsan/server.o build/tsan/libsrv.a
	$(CC) $(TSAN) -o $@ $^ -pthread

build/asan/test_%: tests/test_%.c build/asan/libsrv.a
	$(CC) $(CPPFLAGS) $(WARN) $(ASAN) -o $@ $< build/asan/libsrv.a -lcmocka -pthread

SANENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
         UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Unit tests, then the end-to-end suites against the sanitized server.
test: unit e2e

unit: $(TESTS:%=build/asan/%)
	@for t in $^; do echo "== $$t"; $(SANENV) ./$$t || exit 1; done

e2e: server build/asan/server
	@for t in tests/e2e*.sh; do echo "== $$t"; $(SANENV) SERVER=build/asan/server bash $$t || exit 1; done

tsan: build/tsan/server
	@for t in tests/e2e*.sh; do echo "== $$t (tsan)"; \
	    TSAN_OPTIONS=halt_on_error=1 SERVER=build/tsan/server bash $$t || exit 1; done

# libFuzzer targets (clang): each runs FUZZ_SECONDS on a copy of its seed corpus.
FUZZ_SECONDS ?= 60
FUZZERS = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

# Comparison tracing took 70% of this target's time (perf), and a compressor
# has no magic values for it to find: 7 times the runs without it.
build/fuzz/fuzz_deflate: FUZZFLAGS += -fno-sanitize-coverage=trace-cmp

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c
	@mkdir -p $(@D)
	clang $(CPPFLAGS) $(WARN) -Werror $(FUZZFLAGS) -o $@ $<

fuzz: $(FUZZERS:%=fuzz-%)

# One goal per fuzzer, so that make -j2 fuzz runs two side by side; each
# prints its summary when it ends, and a crash fails the goal.
fuzz-%: build/fuzz/fuzz_%
	@mkdir -p build/fuzz/corpus-$*; cp -r tests/fuzz/corpus/$*/. build/fuzz/corpus-$*/
	@./$< -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/crash-$*- build/fuzz/corpus-$* >build/fuzz/$*.log 2>&1; \
	    status=$$?; echo "== fuzz_$* for $(FUZZ_SECONDS) s"; \
	    grep -E "^(stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)|Assertion" build/fuzz/$*.log; \
	    exit $$status

bench: server
	bash bench/run.sh

# Installs the binary, the man page and the default site (PREFIX, DESTDIR).
PREFIX ?= /usr/local
BINDIR  = $(DESTDIR)$(PREFIX)/bin
MANDIR  = $(DESTDIR)$(PREFIX)/share/man/man1
SITEDIR = $(DESTDIR)$(PREFIX)/share/server/public

install: server
	install -d $(BINDIR) $(MANDIR) $(SITEDIR)
	install -m 755 server $(BINDIR)/server
	install -m 644 doc/server.1 $(MANDIR)/server.1
	cp -R public/. $(SITEDIR)/
	chmod -R u=rwX,go=rX $(SITEDIR)

uninstall:
	rm -f $(BINDIR)/server $(MANDIR)/server.1
	rm -rf $(SITEDIR)
	-rmdir $(DESTDIR)$(PREFIX)/share/server 2>/dev/null

format:
	clang-format -i server.c http/*.[ch] handlers/*.[ch] tests/*.c tests/fuzz/*.c
format-check:
	clang-format --dry-run --Werror server.c http/*.[ch] handlers/*.[ch] tests/*.c tests/fuzz/*.c

clean:
	rm -rf build server

.PHONY: all test unit e2e tsan fuzz bench install uninstall format format-check clean
.SECONDARY:
-include $(shell find build -name '*.d' 2>/dev/null)
