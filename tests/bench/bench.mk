# SPDX-License-Identifier: BSD-2-Clause
# vmbench: nvmm against KVM in one emulated-host boot (tests/bench/README.md).
# Included by the top-level Makefile.
#
#   build/tests/bench/vmbench   the benchmark program (packed into the
#                               emulated host as /nvmm/tests/bench/vmbench)
#   build/tests/bench/bootmark  time from a VMM's start to a line of its
#                               guest (tests/bench/run-boot)
#   make bench                  vmbench, then Linux's boot on nvmm-run
#                               against QEMU microvm + KVM, on the svm lane
#                               (tests/bench/run-bench, run-boot)

VMBENCH_SRCS := tests/bench/vmbench.c tests/bench/vmbench_nvmm.c \
	tests/bench/vmbench_kvm.c tests/bench/vmbench_guest.S \
	tools/common/x64_flat.c
VMBENCH_HDRS := tests/bench/vmbench.h tests/bench/vmbench_defs.h \
	tools/common/x64_flat.h

$(B)/tests/bench/vmbench: $(VMBENCH_SRCS) $(VMBENCH_HDRS) $(LIB_HDRS) \
		$(B)/lib/$(LIB_SONAME).0
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -Itests/bench -Itools/common -o $@ $(VMBENCH_SRCS) \
		-L$(B)/lib -Wl,-rpath,'$$ORIGIN/../../lib' -lvmm

$(B)/tests/bench/bootmark: tests/bench/bootmark.c
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $<

tests: $(B)/tests/bench/vmbench $(B)/tests/bench/bootmark

bench: $(B)/emu/nvmm.ko lib tools $(B)/tests/bench/vmbench \
		$(B)/tests/bench/bootmark
	tools/qemu-nvmm/build
	st=0; tests/bench/run-bench svm || st=$$?; \
	tests/bench/run-boot svm || st=$$?; exit $$st

.PHONY: bench
