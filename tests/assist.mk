# SPDX-License-Identifier: BSD-2-Clause
# The assists' tests: decoder, emulator, page walker, differential tests,
# sanitizer builds and the fuzzer. Included by tests/tests.mk.

ASSIST_HARNESS := tests/unit/assist_harness.h
$(filter $(B)/tests/unit/test_assist_% $(B)/tests/unit/test_mmu \
	$(B)/tests/unit/test_emul_native,$(UNIT_TESTS)): $(ASSIST_HARNESS)
