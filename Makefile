# SPDX-License-Identifier: BSD-2-Clause
#
# nvmm for Linux: top-level build.
#
#   make            kernel module, libvmm, tools and tests
#   make deps       install the Debian packages the project needs (if missing)
#   make check      every test: host unit tests and the emulated-host lanes
#   make demo       a guest on our hypervisor, in an emulated host if needed
#   make install    headers, libraries, pkg-config file and tools (PREFIX)
#
# KDIR is the kernel build tree nvmm.ko is built against (default: the
# running kernel's when it exists, else the Debian kernel the emulated hosts
# boot). EMU_KVER is that Debian kernel; build/emu/nvmm.ko is built for it.

SHELL := /bin/bash
CC ?= gcc
B := build

EMU_KVER ?= $(shell ls /boot/vmlinuz-*-amd64 2>/dev/null | \
		sed 's|^/boot/vmlinuz-||' | sort -V | tail -n 1)
EMU_KDIR ?= /lib/modules/$(EMU_KVER)/build
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
KDIR ?= $(if $(wildcard $(RUNNING_KDIR)/Makefile),$(RUNNING_KDIR),$(EMU_KDIR))

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCDIR ?= $(PREFIX)/include

USER_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
	-Wshadow -Wstrict-prototypes -Wmissing-prototypes -Iinclude $(CFLAGS)
LIB_CFLAGS := $(USER_CFLAGS) -fPIC -fvisibility=hidden
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

# ---------------------------------------------------------------------------
# libvmm

LIB_SONAME := libvmm.so.1
LIB_SRCS := $(wildcard libvmm/*.c)
LIB_OBJS := $(patsubst libvmm/%.c,$(B)/libvmm/%.o,$(LIB_SRCS))
LIB_HDRS := $(wildcard include/*.h include/nvmm/*.h libvmm/*.h)

$(B)/libvmm/%.o: libvmm/%.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -c -o $@ $<

$(B)/lib/$(LIB_SONAME).0: $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,$(LIB_SONAME) -Wl,--no-undefined \
		-o $@ $^ -lpthread
	ln -sf $(LIB_SONAME).0 $(B)/lib/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(B)/lib/libvmm.so
	ln -sf libvmm.so $(B)/lib/libnvmm.so

$(B)/lib/libvmm.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^
	ln -sf libvmm.a $(B)/lib/libnvmm.a

lib: $(B)/lib/$(LIB_SONAME).0 $(B)/lib/libvmm.a

# ---------------------------------------------------------------------------
# nvmm.ko: for KDIR in kmod/, and for the emulated hosts' kernel in build/emu/

KMOD_SRCS := $(wildcard kmod/*.c kmod/*.h kmod/*.S kmod/Kbuild kmod/x86/*.[chS]) \
	$(wildcard include/nvmm/*.h)

kmod/nvmm.ko: $(KMOD_SRCS)
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod modules

# When both are the same kernel, one build serves both (a second kbuild in
# kmod/ at the same time, as make -j would start, would race with it).
ifeq ($(realpath $(KDIR)),$(realpath $(EMU_KDIR)))
$(B)/emu/nvmm.ko: kmod/nvmm.ko
	@mkdir -p $(@D)
	cp $< $@
else
$(B)/emu/nvmm.ko: $(KMOD_SRCS)
	@test -n "$(EMU_KVER)" || { echo "no /boot/vmlinuz-*-amd64: run 'make deps'"; exit 1; }
	@mkdir -p $(B)/emu/kmod/x86
	for f in kmod/*.c kmod/*.h kmod/Kbuild; do \
		ln -sf ../../../$$f $(B)/emu/kmod/; done
	for f in kmod/x86/*.[chS]; do \
		ln -sf ../../../../$$f $(B)/emu/kmod/x86/; done
	ln -sfn ../../include $(B)/emu/include
	$(MAKE) -C $(EMU_KDIR) M=$(CURDIR)/$(B)/emu/kmod modules
	cp $(B)/emu/kmod/nvmm.ko $@
endif

kmod: kmod/nvmm.ko $(B)/emu/nvmm.ko

# Style gates for the kernel code: make kmod-lint
kmod-lint:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod W=1 C=2 modules
	@# checkpatch takes asm goto's labels (%l[fault]) for a '%' operator:
	@# that one false positive is left out.
	@if [ -n "$(CHECKPATCH)" ]; then \
		out=$$(perl $(CHECKPATCH) --no-tree --strict --terse -f \
			$(filter-out kmod/nvmm.mod.c,$(wildcard kmod/*.[ch])) \
			kmod/x86/*.[chS] | grep -v 'lines checked$$' | \
			grep -v "spaces preferred around that '%' (ctx:WxV)"); \
		[ -z "$$out" ] || { echo "$$out"; exit 1; }; \
		echo "checkpatch --strict: clean"; \
	else echo "checkpatch: not run (CHECKPATCH=path/to/checkpatch.pl;" \
		"Debian ships it in linux-source-6.1)"; fi

# ---------------------------------------------------------------------------
# tools, tests

include tools/tools.mk
include tests/tests.mk
include tests/bench/bench.mk

all: kmod lib tools tests

# ---------------------------------------------------------------------------
# Debian packages

DEB_PKGS := build-essential pkg-config check libelf-dev zlib1g-dev \
	linux-image-amd64 linux-headers-amd64 qemu-system-x86 \
	bochs bochsbios vgabios bochs-term busybox-static cpio \
	isolinux syslinux-common genisoimage xz-utils zstd kmod \
	clang llvm libclang-rt-14-dev libcapstone-dev valgrind sparse \
	acpica-tools \
	$(QEMU_DEB_PKGS)

# What tools/qemu-nvmm/build needs (its --print-deps says the same).
QEMU_DEB_PKGS := dpkg-dev patch python3 ninja-build meson libglib2.0-dev \
	libpixman-1-dev libpcre2-dev libfdt-dev seabios qemu-system-data

deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q \
			--no-install-recommends $$missing; \
	fi
	@tools/qemu-nvmm/build --deps

# QEMU 7.2 (Debian 12's source package) with its nvmm accelerator, built
# against libvmm: build/qemu/qemu-system-x86_64, firmware in build/qemu/firmware.
qemu: deps
	tools/qemu-nvmm/build

# The depth of make: 'deps' must finish before EMU_KVER is computed.
check: deps
	$(MAKE) all
	tests/run-checks

demo: deps
	$(MAKE) all
	tools/demo

# Long fuzz runs in the emulated hosts: make fuzz [FUZZ_LANES="svm vmx"]
# [FUZZ_STATES=N FUZZ_CODE=N FUZZ_RACES=N FUZZ_SEED=S FUZZ_DURATION=SECONDS]
# (tests/fuzz/run-emu-fuzz).
fuzz: deps
	$(MAKE) all
	tests/fuzz/run-emu-fuzz $(FUZZ_LANES)

# ---------------------------------------------------------------------------
# install

install: lib
	install -d $(DESTDIR)$(INCDIR)/nvmm $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 include/nvmm.h $(DESTDIR)$(INCDIR)/
	install -m 644 include/nvmm/*.h $(DESTDIR)$(INCDIR)/nvmm/
	install -m 755 $(B)/lib/$(LIB_SONAME).0 $(DESTDIR)$(LIBDIR)/
	ln -sf $(LIB_SONAME).0 $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libvmm.so
	ln -sf libvmm.so $(DESTDIR)$(LIBDIR)/libnvmm.so
	install -m 644 $(B)/lib/libvmm.a $(DESTDIR)$(LIBDIR)/
	ln -sf libvmm.a $(DESTDIR)$(LIBDIR)/libnvmm.a
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|' \
		libvmm/nvmm.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/nvmm.pc
	cp $(DESTDIR)$(LIBDIR)/pkgconfig/nvmm.pc \
		$(DESTDIR)$(LIBDIR)/pkgconfig/libvmm.pc

clean:
	rm -rf $(B)
	-$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean

.PHONY: all lib kmod kmod-lint tools tests deps check demo fuzz install clean qemu
.DEFAULT_GOAL := all
