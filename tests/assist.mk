# SPDX-License-Identifier: BSD-2-Clause
# The assists' tests: decoder, emulator, page walker, differential tests,
# sanitizer builds, the fuzzer and the benchmark. Included by tests/tests.mk.
#
#   build/tests/unit/test_<name>         host unit tests (gcc)
#   build/tests/unit/test_<name>_asan    the same with ASan+UBSan
#   build/tests/unit/test_fuzz_assist    libFuzzer run, NVMM_FUZZ_SECONDS
#   build/bench/assist_bench             instructions per assist call

ASSIST_HARNESS := tests/unit/assist_harness.h
ASSIST_TESTS := test_assist_mem test_assist_io test_mmu test_emul_native \
	test_decode test_decode_capstone
ASSIST_SRCS := $(wildcard libvmm/x86_*.c libvmm/assist_*.c)

$(addprefix $(B)/tests/unit/,$(filter-out test_decode_capstone,\
	$(ASSIST_TESTS))): $(ASSIST_HARNESS)

# The differential test against Capstone links libcapstone.
CAPSTONE_CFLAGS := $(shell pkg-config --cflags capstone 2>/dev/null)
CAPSTONE_LIBS := $(shell pkg-config --libs capstone 2>/dev/null || echo -lcapstone)

$(B)/tests/unit/test_decode_capstone: tests/unit/test_decode_capstone.c \
		$(KSFT_OBJ) $(MOCK_OBJ) $(LIB_OBJS_NODEV) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(CAPSTONE_CFLAGS) -o $@ $< $(KSFT_OBJ) \
		$(MOCK_OBJ) $(LIB_OBJS_NODEV) $(CAPSTONE_LIBS) $(TEST_LIBS) \
		-lpthread

# ---------------------------------------------------------------------------
# ASan + UBSan: libvmm, the mock device and ksft rebuilt in build/asan/.

SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
ASAN_DIR := $(B)/asan
ASAN_LIB_OBJS := $(patsubst $(B)/libvmm/%.o,$(ASAN_DIR)/libvmm/%.o,\
	$(LIB_OBJS_NODEV))
ASAN_TEST_OBJS := $(ASAN_DIR)/ksft.o $(ASAN_DIR)/mock_device.o

$(ASAN_DIR)/libvmm/%.o: libvmm/%.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(ASAN_DIR)/ksft.o: tests/lib/ksft.c tests/lib/ksft.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(ASAN_DIR)/mock_device.o: tests/unit/mock_device.c tests/unit/mock_device.h \
		$(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

ASAN_TESTS := $(patsubst %,$(B)/tests/unit/%_asan,$(ASSIST_TESTS))

$(B)/tests/unit/%_asan: tests/unit/%.c $(ASAN_TEST_OBJS) $(ASAN_LIB_OBJS) \
		$(LIB_HDRS) $(ASSIST_HARNESS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(CAPSTONE_CFLAGS) $(SAN_FLAGS) -o $@ $< \
		$(ASAN_TEST_OBJS) $(ASAN_LIB_OBJS) \
		$(if $(findstring capstone,$*),$(CAPSTONE_LIBS)) \
		$(TEST_LIBS) -lpthread

# ---------------------------------------------------------------------------
# The fuzzer (clang, libFuzzer) and its TAP runner.

FUZZ_CC ?= clang
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -Iinclude \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -Wall -Wextra -Werror
FUZZ_SRCS := tests/fuzz/fuzz_assist.c tests/unit/mock_device.c \
	$(filter-out libvmm/device.c,$(LIB_SRCS))

$(B)/fuzz/fuzz_assist: $(FUZZ_SRCS) $(LIB_HDRS) tests/unit/mock_device.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_SRCS) -lpthread

$(B)/tests/unit/test_fuzz_assist: tests/fuzz/run-fuzz.sh $(B)/fuzz/fuzz_assist
	@mkdir -p $(@D)
	cp $< $@
	chmod +x $@

# ---------------------------------------------------------------------------
# The benchmark (run under callgrind: see libvmm/ASSISTS.md).

$(B)/bench/assist_bench: tests/bench/assist_bench.c $(MOCK_OBJ) \
		$(LIB_OBJS_NODEV) $(LIB_HDRS) $(ASSIST_HARNESS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -Itests/unit -o $@ $< $(MOCK_OBJ) \
		$(LIB_OBJS_NODEV) -lpthread

bench-assist: $(B)/bench/assist_bench
	valgrind --tool=callgrind --callgrind-out-file=$(B)/bench/callgrind.out \
		--toggle-collect='bench_*' $(B)/bench/assist_bench
	$(B)/bench/assist_bench

# nvmm-run's APIC timer round trip (arm, fire, EOI) on a mock VCPU, with
# nvmm-run's own interrupt code: instructions per call under callgrind.
TIMER_BENCH_SRCS := tests/bench/timer_bench.c tools/nvmm-run/intr.c \
	tools/nvmm-run/lapic.c tools/nvmm-run/ioapic.c

$(B)/bench/timer_bench: $(TIMER_BENCH_SRCS) $(MOCK_OBJ) $(LIB_OBJS_NODEV) \
		$(LIB_HDRS) tools/nvmm-run/nvmm-run.h tools/nvmm-run/lapic.h \
		tools/nvmm-run/ioapic.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -Itests/unit -Itools/nvmm-run -o $@ \
		$(TIMER_BENCH_SRCS) $(MOCK_OBJ) $(LIB_OBJS_NODEV) -lpthread

bench-timer: $(B)/bench/timer_bench
	valgrind --tool=callgrind \
		--callgrind-out-file=$(B)/bench/callgrind-timer.out \
		--toggle-collect='bench_*' $(B)/bench/timer_bench
	callgrind_annotate --inclusive=yes $(B)/bench/callgrind-timer.out | \
		awk '/:bench_(arm|fire|eoi) \[/ { n = $$1; gsub(",", "", n); \
			f = $$3; sub(/.*:/, "", f); \
			printf "%-10s %6.0f instructions per call\n", f, n / 1000 }'

tests: $(ASAN_TESTS) $(B)/tests/unit/test_fuzz_assist $(B)/bench/assist_bench \
	$(B)/bench/timer_bench

.PHONY: bench-assist bench-timer
