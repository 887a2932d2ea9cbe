# SPDX-License-Identifier: BSD-2-Clause
# Tools: included by the top-level Makefile.

TOOL_LDFLAGS := -L$(B)/lib -Wl,-rpath,'$$ORIGIN/../lib'

$(B)/bin/nvmmctl: tools/nvmmctl/nvmmctl.c $(LIB_HDRS) $(B)/lib/$(LIB_SONAME).0
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $< $(TOOL_LDFLAGS) -lvmm

tools: $(B)/bin/nvmmctl

include tools/nvmm-run/nvmm-run.mk
include tools/demo-guest/demo.mk
