# SPDX-License-Identifier: BSD-2-Clause
# The demo guest: a freestanding 64-bit kernel for nvmm-run, linked at
# 1 MiB (demo.ld). Included by tools/tools.mk.

DEMO_GUEST_SRCS := $(wildcard tools/demo-guest/*.c tools/demo-guest/*.S)
DEMO_GUEST_OBJS := $(patsubst tools/demo-guest/%,$(B)/demo-guest/%.o,\
	$(DEMO_GUEST_SRCS))
DEMO_GUEST_CFLAGS := -std=c11 -O2 -g -ffreestanding -nostdlib -fno-pic \
	-fno-pie -mno-red-zone -mgeneral-regs-only -mcmodel=small \
	-fno-stack-protector -fno-asynchronous-unwind-tables \
	-fno-tree-loop-distribute-patterns -fcf-protection=none \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes

$(B)/demo-guest/%.o: tools/demo-guest/% tools/demo-guest/io.h
	@mkdir -p $(@D)
	$(CC) $(DEMO_GUEST_CFLAGS) -c -o $@ $<

$(B)/bin/demo-guest.elf: $(DEMO_GUEST_OBJS) tools/demo-guest/demo.ld
	@mkdir -p $(@D)
	ld -m elf_x86_64 -static -nostdlib --build-id=none \
		-z max-page-size=4096 -z noexecstack \
		-T tools/demo-guest/demo.ld -o $@ $(DEMO_GUEST_OBJS)

tools: $(B)/bin/demo-guest.elf
