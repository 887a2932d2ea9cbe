# SPDX-License-Identifier: BSD-2-Clause
# nvmm-run: the small VMM (libvmm, libelf). Included by tools/tools.mk.

NVMM_RUN_SRCS := $(wildcard tools/nvmm-run/*.c) tools/common/x64_flat.c
NVMM_RUN_LIBELF_CFLAGS := $(shell pkg-config --cflags libelf 2>/dev/null)
NVMM_RUN_LIBELF_LIBS := $(shell pkg-config --libs libelf 2>/dev/null || echo -lelf)

$(B)/bin/nvmm-run: $(NVMM_RUN_SRCS) tools/nvmm-run/nvmm-run.h \
		tools/nvmm-run/bzimage.h tools/nvmm-run/mptable.h \
		tools/nvmm-run/lapic.h tools/nvmm-run/ioapic.h \
		tools/nvmm-run/acpi.h tools/nvmm-run/bytes.h \
		tools/nvmm-run/virtio_mmio.h tools/nvmm-run/rtc.h \
		tools/nvmm-run/pit.h tools/common/x64_flat.h $(LIB_HDRS) \
		$(B)/lib/$(LIB_SONAME).0
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -Itools/common $(NVMM_RUN_LIBELF_CFLAGS) -o $@ $(NVMM_RUN_SRCS) \
		$(TOOL_LDFLAGS) -lvmm $(NVMM_RUN_LIBELF_LIBS) -lpthread

tools: $(B)/bin/nvmm-run
