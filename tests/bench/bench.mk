# SPDX-License-Identifier: BSD-2-Clause
# vmbench: nvmm against KVM in one emulated-host boot (tests/bench/README.md).
# Included by the top-level Makefile.
#
#   build/tests/bench/vmbench   the benchmark program (packed into the
#                               emulated host as /nvmm/tests/bench/vmbench)
#   make bench                  run it on the svm lane (tests/bench/run-bench)

VMBENCH_SRCS := tests/bench/vmbench.c tests/bench/vmbench_nvmm.c \
	tests/bench/vmbench_kvm.c tests/bench/vmbench_guest.S
VMBENCH_HDRS := tests/bench/vmbench.h tests/bench/vmbench_defs.h

$(B)/tests/bench/vmbench: $(VMBENCH_SRCS) $(VMBENCH_HDRS) $(LIB_HDRS) \
		$(B)/lib/$(LIB_SONAME).0
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -Itests/bench -o $@ $(VMBENCH_SRCS) \
		-L$(B)/lib -Wl,-rpath,'$$ORIGIN/../../lib' -lvmm

tests: $(B)/tests/bench/vmbench

bench: $(B)/emu/nvmm.ko lib $(B)/tests/bench/vmbench
	tests/bench/run-bench svm

.PHONY: bench
