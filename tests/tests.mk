# SPDX-License-Identifier: BSD-2-Clause
# Tests: included by the top-level Makefile.
#   build/tests/unit/*   host-only unit tests (no module needed)
#   build/tests/emu/*    run inside an emulated host by tests/run-checks

TEST_CFLAGS := $(USER_CFLAGS) $(CHECK_CFLAGS) -Itests/lib -Itools/common
TEST_LDFLAGS := -L$(B)/lib -Wl,-rpath,'$$ORIGIN/../../lib'
TEST_LIBS := $(CHECK_LIBS)

$(B)/tests/lib/%.o: tests/lib/%.c tests/lib/ksft.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -c -o $@ $<

KSFT_OBJ := $(B)/tests/lib/ksft.o

# Host-only unit tests: libvmm's objects with the device layer mocked.
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,\
	$(wildcard tests/unit/test_*.c))
LIB_OBJS_NODEV := $(filter-out $(B)/libvmm/device.o,$(LIB_OBJS))
MOCK_OBJ := $(B)/tests/unit/mock_device.o

$(MOCK_OBJ): tests/unit/mock_device.c tests/unit/mock_device.h $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -c -o $@ $<

$(B)/tests/unit/%: tests/unit/%.c $(KSFT_OBJ) $(MOCK_OBJ) $(LIB_OBJS_NODEV) \
		$(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(KSFT_OBJ) $(MOCK_OBJ) \
		$(LIB_OBJS_NODEV) $(TEST_LIBS) -lpthread

# nvmm-run's devices and boot tables: pure functions of their buffers,
# each test built with its one source file.
NR_UNITS := bzimage mptable lapic ioapic acpi virtio_mmio rtc pit
$(NR_UNITS:%=$(B)/tests/unit/test_%): $(B)/tests/unit/test_%: \
		tests/unit/test_%.c tools/nvmm-run/%.c tools/nvmm-run/%.h \
		tools/nvmm-run/bytes.h \
		$(KSFT_OBJ)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< tools/nvmm-run/$*.c $(KSFT_OBJ) \
		$(TEST_LIBS)

# Guest programs: flat binaries loaded at guest-physical 0x1000.
GUEST_SRCS := $(wildcard tests/guests/*.S)
GUESTS := $(patsubst tests/guests/%.S,$(B)/tests/guests/%.bin,$(GUEST_SRCS))

$(B)/tests/guests/%.bin: tests/guests/%.S tests/guests/guest.h \
		tests/guests/assist.h
	@mkdir -p $(@D)
	$(CC) -c -nostdlib -Itests/guests -o $(B)/tests/guests/$*.o $<
	ld -m elf_x86_64 -Ttext=0x1000 -e 0x1000 --oformat binary \
		-o $@ $(B)/tests/guests/$*.o

# Emulated-host tests.
EMU_UTIL_OBJ := $(B)/tests/emu/emu_util.o

$(B)/tests/emu/emu_util.o: tests/emu/emu_util.c tests/emu/emu_util.h $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -c -o $@ $<

$(B)/tests/emu/vm.o: tests/emu/vm.c tests/emu/vm.h tools/common/x64_flat.h \
		$(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -c -o $@ $<

# The flat VCPU states, as nvmm-run and vmbench set them up.
$(B)/tests/emu/x64_flat.o: tools/common/x64_flat.c tools/common/x64_flat.h \
		$(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -c -o $@ $<

EMU_OBJS := $(KSFT_OBJ) $(EMU_UTIL_OBJ) $(B)/tests/emu/vm.o \
	$(B)/tests/emu/x64_flat.o

# The suites on the ksft harness, one rule: a suite is its main file (the
# table of its tests) and the sources EMU_SRCS_<suite> lists, which a line
# of its own makes prerequisites, with the suite's headers. run_cpu binds
# at load time: no lazy-binding trampoline (XSAVEC/XRSTOR in ld.so) runs
# after a test that may leave the FPU in a bad state.
EMU_SUITES := foundation run run_mm run_cpu run_assist compat compat_mem \
	guest_edges mm_bounds
EMU_SRCS_run_mm := $(addprefix tests/emu/,mm_probe.c mm_host_changes.c \
	mm_protect.c mm_swap.c mm_large.c mm_race.c mm_pinning.c)
EMU_SRCS_run_cpu := $(addprefix tests/emu/,cpu_modes.c cpu_events.c \
	cpu_fpu.c cpu_asid.c cpu_tsc.c cpu_cpuid.c)
EMU_LDFLAGS_run_cpu := -Wl,-z,now
$(B)/tests/emu/run_mm: $(EMU_SRCS_run_mm) tests/emu/run_mm.h \
	tests/emu/mm_probe.h
$(B)/tests/emu/run_cpu: $(EMU_SRCS_run_cpu) tests/emu/run_cpu.h
$(B)/tests/emu/run_assist: tests/guests/assist.h

$(EMU_SUITES:%=$(B)/tests/emu/%): $(B)/tests/emu/%: tests/emu/%.c \
		tests/lib/ksft.h $(EMU_OBJS) $(B)/lib/$(LIB_SONAME).0
	$(CC) $(TEST_CFLAGS) -o $@ $(filter %.c,$^) $(EMU_OBJS) \
		$(TEST_LDFLAGS) $(EMU_LDFLAGS_$*) -lvmm $(TEST_LIBS) -lpthread

FUZZ_VM_SRCS := $(addprefix tests/emu/,fuzz_vm.c fuzz_guest.c fuzz_states.c \
	fuzz_code.c fuzz_races.c)
$(B)/tests/emu/fuzz_vm: $(FUZZ_VM_SRCS) tests/emu/fuzz_vm.h \
		$(B)/lib/$(LIB_SONAME).0
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $(FUZZ_VM_SRCS) $(TEST_LDFLAGS) -lvmm \
		-lpthread

$(B)/tests/emu/nvmm-hold: tests/emu/nvmm_hold.c $(B)/lib/$(LIB_SONAME).0
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $< $(TEST_LDFLAGS) -lvmm

$(B)/tests/emu/kvm-hold: tests/emu/kvm_hold.c
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $<

$(B)/tests/emu/insmod-once: tests/emu/insmod_once.c
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $<

# Kernel modules the tests load (not part of nvmm), built for the emulated
# hosts' kernel outside build/tests (which is copied to the emulated host
# whole) and copied there.
TEST_KMOD_SRCS := $(wildcard tests/kmod/*.c) tests/kmod/Kbuild

$(B)/tests/emu/nmi_probe.ko: $(TEST_KMOD_SRCS)
	@test -n "$(EMU_KVER)" || { echo "no /boot/vmlinuz-*-amd64: run 'make deps'"; exit 1; }
	@mkdir -p $(B)/emu/testkmod $(@D)
	for f in $(TEST_KMOD_SRCS); do ln -sf ../../../$$f $(B)/emu/testkmod/; done
	$(MAKE) -C $(EMU_KDIR) M=$(CURDIR)/$(B)/emu/testkmod modules
	cp $(B)/emu/testkmod/nmi_probe.ko $@

# nvmm-run's error paths: a PVH guest that does one wrong thing, and a
# preloaded wrapper of nvmm_vcpu_run that gives the CPU a state it refuses.
$(B)/tests/emu/pvh_fault.elf: tests/emu/pvh_fault.S tests/emu/pvh_fault.ld
	@mkdir -p $(@D)
	$(CC) -c -o $(B)/tests/emu/pvh_fault.o tests/emu/pvh_fault.S
	ld -m elf_x86_64 -static -nostdlib --build-id=none \
		-z max-page-size=4096 -z noexecstack -T tests/emu/pvh_fault.ld \
		-o $@ $(B)/tests/emu/pvh_fault.o

$(B)/tests/emu/invalid_state.so: tests/emu/invalid_state.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -fPIC -shared -o $@ $< -ldl

EMU_SCRIPTS := run-suite run-smp2 module.sh refuse.sh linux_boot.sh \
	linux_guest.sh run_errors.sh
$(B)/tests/emu/%.sh: tests/emu/%.sh
	@mkdir -p $(@D)
	cp $< $@
$(B)/tests/emu/run-suite $(B)/tests/emu/run-smp2: $(B)/tests/emu/%: tests/emu/%
	@mkdir -p $(@D)
	cp $< $@

EMU_TESTS := $(B)/tests/emu/foundation $(B)/tests/emu/run \
	$(B)/tests/emu/run_mm $(B)/tests/emu/run_cpu $(B)/tests/emu/run_assist \
	$(B)/tests/emu/compat $(B)/tests/emu/compat_mem \
	$(B)/tests/emu/guest_edges $(B)/tests/emu/mm_bounds \
	$(B)/tests/emu/fuzz_vm \
	$(B)/tests/emu/nvmm-hold $(B)/tests/emu/insmod-once \
	$(B)/tests/emu/kvm-hold $(B)/tests/emu/nmi_probe.ko $(GUESTS) \
	$(B)/tests/emu/pvh_fault.elf $(B)/tests/emu/invalid_state.so \
	$(addprefix $(B)/tests/emu/,$(EMU_SCRIPTS))

tests: $(UNIT_TESTS) $(EMU_TESTS)

# The assists' tests (decoder, emulator, page walker, fuzzing).
-include tests/assist.mk
