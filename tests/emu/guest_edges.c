/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest-visible edges where a backend used to part from the hardware, each
 * a guest-triggered INVALID exit (which aborts a VMM such as QEMU) or a
 * wrong value: the manuals' rules, checked on every lane.
 *   - the "IA-32e mode guest" entry control after the guest itself entered
 *     or left long mode, then a state set in the other mode;
 *   - the instruction pointer after an instruction the kernel skips, and
 *     the npc it hands to userland, wrapped at 16 or 32 bits;
 *   - an NMI injected at an exit inside an STI or MOV SS shadow;
 *   - a MOV to CR0 that turns on PAE paging with a reserved bit in a PDPTE.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "vm.h"

#define MIB		(1024 * 1024)

static struct vm vm;

static uint64_t get_rip(void)
{
	vm_get(&vm, 0, NVMM_X64_STATE_GPRS);
	return vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RIP];
}

/* Run to HLT; dump the VCPU and fail on anything else. */
static void run_to_hlt(const char *what)
{
	uint64_t reason = vm_run(&vm, 0);

	if (reason != NVMM_VCPU_EXIT_HALTED)
		nvmm_vcpu_dump(&vm.mach, &vm.vcpu[0]);
	ck_assert_msg(reason == NVMM_VCPU_EXIT_HALTED,
		      "%s: exit %#" PRIx64 " instead of HALTED (INVALID is "
		      "%#llx)", what, reason,
		      (unsigned long long)NVMM_VCPU_EXIT_INVALID);
}

static void expect_reports(const char *what, const uint32_t *expect,
			   unsigned int n)
{
	unsigned int i;

	ck_assert_msg(vm.nreports[0] == n, "%s: %u reports, expected %u", what,
		      vm.nreports[0], n);
	for (i = 0; i < n; i++)
		ck_assert_msg(vm.reports[0][i] == expect[i],
			      "%s: report %u is %#x, expected %#x", what, i,
			      vm.reports[0][i], expect[i]);
}

/* -------------------------------------------------------------------------- */
/* Long mode changed by the guest, then state set in the other mode. */

/* The real-mode program of compat_real: a marker, a far store, its value. */
static void run_real_after(const char *what)
{
	static const uint32_t expect[] = { 0xC0DE0016, 0x600DF00D };

	vm_load(&vm, "compat_real");
	vm_mode_real(&vm, 0, VM_CODE);
	vm.nreports[0] = 0;
	run_to_hlt(what);
	expect_reports(what, expect, 2);
}

START_TEST(guest_entered_long_mode_then_reset_to_real)
{
	static const uint32_t expect[] = { 0x16, 0x32, 0x64, 0x500, 0x12345678 };

	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "real_to_long");
	vm_mode_real(&vm, 0, VM_CODE);
	run_to_hlt("real to long");
	expect_reports("real to long", expect, 5);
	/* A reboot: the VMM resets the VCPU to real mode. */
	run_real_after("reset to real mode after the guest's long mode");
	/* And again, the other way round once more. */
	vm_load(&vm, "real_to_long");
	vm_mode_real(&vm, 0, VM_CODE);
	vm.nreports[0] = 0;
	run_to_hlt("real to long, second time");
	expect_reports("real to long, second time", expect, 5);
	vm_destroy(&vm);
}
END_TEST

START_TEST(guest_left_long_mode_then_long_mode_restored)
{
	static const uint32_t left[] = { 0x64, 0x32 };
	static const uint32_t back[] = { 0x64, 0x32 };
	struct nvmm_x64_state *st;

	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_leave");
	vm_mode_long(&vm, 0, VM_CODE);
	run_to_hlt("guest leaves long mode");
	expect_reports("guest leaves long mode", left, 2);
	st = vm_state(&vm, 0);
	vm_get(&vm, 0, NVMM_X64_STATE_MSRS);
	ck_assert_msg(!(st->msrs[NVMM_X64_MSR_EFER] & 0x400),
		      "EFER %#" PRIx64 " still has LMA after the guest left "
		      "long mode", st->msrs[NVMM_X64_MSR_EFER]);
	/* A snapshot restore: long mode again, from the VMM. */
	vm_mode_long(&vm, 0, VM_CODE);
	vm.nreports[0] = 0;
	run_to_hlt("long mode restored by the VMM");
	expect_reports("long mode restored by the VMM", back, 2);
	vm_destroy(&vm);
}
END_TEST

/* -------------------------------------------------------------------------- */
/* The next instruction pointer wraps with the code size. */

/*
 * Code at two places: at, the instruction under test, and at linear base
 * (where IP 0 lands) "mov $marker, %eax; out %eax, $0xF0; hlt".
 */
static void put_code(uint64_t at, const uint8_t *insn, size_t n,
		     uint64_t base, bool code16, uint32_t marker)
{
	uint8_t tail[12];
	size_t k = 0;

	memcpy(vm.ram + at, insn, n);
	if (code16)
		tail[k++] = 0x66;
	tail[k++] = 0xB8;
	memcpy(&tail[k], &marker, 4);
	k += 4;
	if (code16)
		tail[k++] = 0x66;
	tail[k++] = 0xE7;
	tail[k++] = VM_PORT_REPORT;
	tail[k++] = 0xF4;
	memcpy(vm.ram + base, tail, k);
}

/*
 * The VCPU in 16-bit real mode (CS base 0x1000, IP 0xFFFE) or in 32-bit
 * protected mode (CS base 0x1002, EIP 0xFFFFFFFE): both fetch the
 * instruction at linear 0x10FFE or 0x1000, and IP 0 is at linear 0x1000
 * or 0x1002.
 */
struct wrap_mode {
	const char *name;
	bool code16;
	uint64_t cs_base, ip, insn_at, zero_at, end_ip;
};

static const struct wrap_mode wrap_modes[] = {
	{ "16-bit", true, 0x1000, 0xFFFE, 0x10FFE, 0x1000, 10 },
	{ "32-bit", false, 0x1002, 0xFFFFFFFE, 0x1000, 0x1002, 8 },
};

static void wrap_setup(const struct wrap_mode *m, uint64_t ip)
{
	struct nvmm_x64_state *st = vm_state(&vm, 0);

	vm.nreports[0] = 0;
	if (m->code16)
		vm_mode_real(&vm, 0, ip);
	else
		vm_mode_prot32(&vm, 0, ip);
	st->segs[NVMM_X64_SEG_CS].base = m->cs_base;
	if (m->code16)
		st->segs[NVMM_X64_SEG_CS].selector = m->cs_base >> 4;
	st->gprs[NVMM_X64_GPR_RCX] = 0x4B564DFF;	/* an MSR nobody has */
	vm_set(&vm, 0, NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS);
}

static void npc_wraps_after_skipped_instruction(const struct wrap_mode *m)
{
	static const uint8_t cpuid[] = { 0x0F, 0xA2 };
	char what[64];

	vm_create(&vm, 1 * MIB);
	/* CPUID, done and skipped by the kernel. */
	snprintf(what, sizeof(what), "%s CPUID at IP %#" PRIx64, m->name,
		 m->ip);
	put_code(m->insn_at, cpuid, sizeof(cpuid), m->zero_at, m->code16,
		 0xC0DE0001);
	wrap_setup(m, m->ip);
	run_to_hlt(what);
	{
		const uint32_t expect[] = { 0xC0DE0001 };

		expect_reports(what, expect, 1);
	}
	ck_assert_msg(get_rip() == m->end_ip, "%s: RIP %#" PRIx64 " after "
		      "HLT, expected %#" PRIx64, what, get_rip(), m->end_ip);

	/* HLT as the last byte: the kernel skips it to IP 0. */
	snprintf(what, sizeof(what), "%s HLT at IP %#" PRIx64, m->name,
		 m->ip + 1);
	vm.ram[m->insn_at + 1] = 0xF4;
	wrap_setup(m, m->ip + 1);
	ck_assert_uint_eq(vm_run(&vm, 0), NVMM_VCPU_EXIT_HALTED);
	ck_assert_msg(get_rip() == 0, "%s: RIP %#" PRIx64 ", expected 0",
		      what, get_rip());
	vm_destroy(&vm);
}

START_TEST(npc_wraps_after_skipped_instruction_16)
{
	npc_wraps_after_skipped_instruction(&wrap_modes[0]);
}
END_TEST

START_TEST(npc_wraps_after_skipped_instruction_32)
{
	npc_wraps_after_skipped_instruction(&wrap_modes[1]);
}
END_TEST

static void io_ignore(struct nvmm_io *io)
{
	(void)io;
}

static void npc_to_userland_wraps(const struct wrap_mode *m)
{
	struct nvmm_assist_callbacks cbs = { .io = io_ignore, .mem = NULL };
	static const uint8_t out[] = { 0xE6, VM_PORT_CHAR };	/* out %al */
	static const uint8_t rdmsr[] = { 0x0F, 0x32 };
	const struct nvmm_vcpu_exit *exit;
	uint64_t reason;

	vm_create(&vm, 1 * MIB);
	exit = vm.vcpu[0].exit;
	ck_assert_int_eq(nvmm_vcpu_configure(&vm.mach, &vm.vcpu[0],
					     NVMM_VCPU_CONF_CALLBACKS, &cbs), 0);

	put_code(m->insn_at, out, sizeof(out), m->zero_at, m->code16,
		 0xC0DE0002);
	wrap_setup(m, m->ip);
	reason = vm_run_once(&vm, 0);
	ck_assert_uint_eq(reason, NVMM_VCPU_EXIT_IO);
	ck_assert_msg(exit->u.io.npc == 0, "%s OUT at %#" PRIx64 ": io.npc "
		      "%#" PRIx64 ", expected 0", m->name, m->ip,
		      exit->u.io.npc);
	/* libvmm's I/O assist moves RIP to it. */
	ck_assert_int_eq(nvmm_assist_io(&vm.mach, &vm.vcpu[0]), 0);
	ck_assert_uint_eq(get_rip(), 0);
	run_to_hlt("after the I/O assist");

	put_code(m->insn_at, rdmsr, sizeof(rdmsr), m->zero_at, m->code16,
		 0xC0DE0003);
	wrap_setup(m, m->ip);
	reason = vm_run_once(&vm, 0);
	ck_assert_uint_eq(reason, NVMM_VCPU_EXIT_RDMSR);
	ck_assert_msg(exit->u.rdmsr.npc == 0, "%s RDMSR at %#" PRIx64 ": "
		      "rdmsr.npc %#" PRIx64 ", expected 0", m->name, m->ip,
		      exit->u.rdmsr.npc);
	vm_destroy(&vm);
}

START_TEST(npc_to_userland_wraps_16)
{
	npc_to_userland_wraps(&wrap_modes[0]);
}
END_TEST

START_TEST(npc_to_userland_wraps_32)
{
	npc_to_userland_wraps(&wrap_modes[1]);
}
END_TEST

/* -------------------------------------------------------------------------- */
/* An NMI injected inside an interrupt shadow. */

/*
 * One run of long_nmi_shadow. Returns false, and the test goes on, only
 * where the emulated host drops interrupt shadows on VM entry
 * (emu_lane_drops_shadow()) and the run that reached a shadowed OUT entered
 * the guest more than once (an exit in the kernel, a host interrupt, came
 * in between). A shadow missing after a single entry fails the test.
 */
static bool nmi_shadow_once(void)
{
	/* The NMI comes before the report after the shadowed OUT. */
	static const uint32_t expect[] = {
		0xA1, 0xE02, 0xA2, 0xB1, 0xE02, 0xB2,
	};
	const struct nvmm_vcpu_exit *exit;
	struct nvmm_x64_state *st;
	uint64_t reason, rax;
	long entries;

	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_nmi_shadow");
	vm_mode_long(&vm, 0, VM_CODE);
	exit = vm.vcpu[0].exit;
	st = vm_state(&vm, 0);
	for (;;) {
		entries = emu_stat("entries");
		reason = vm_run_once(&vm, 0);
		entries = emu_stat("entries") - entries;
		/* After the handler's IRET: another NMI could go in now. */
		if (reason == NVMM_VCPU_EXIT_NMI_READY)
			continue;
		if (reason != NVMM_VCPU_EXIT_IO)
			break;
		ck_assert_uint_eq(exit->u.io.port, VM_PORT_REPORT);
		ck_assert_uint_lt(vm.nreports[0], VM_MAX_REPORTS);
		rax = st->gprs[NVMM_X64_GPR_RAX];
		vm.reports[0][vm.nreports[0]++] = (uint32_t)rax;
		vm_skip(&vm, 0, exit->u.io.npc);
		if (rax != 0xA1 && rax != 0xB1)
			continue;
		if (!exit->exitstate.int_shadow) {
			ck_assert_msg(entries > 1 && emu_lane_drops_shadow(),
				      "the OUT of %#" PRIx64 " exited outside "
				      "its shadow (%ld VM entries in that run)",
				      rax, entries);
			vm_destroy(&vm);
			return false;
		}
		vm.vcpu[0].event->type = NVMM_VCPU_EVENT_INTR;
		vm.vcpu[0].event->vector = 2;
		ck_assert_int_eq(nvmm_vcpu_inject(&vm.mach, &vm.vcpu[0]), 0);
	}
	if (reason != NVMM_VCPU_EXIT_HALTED)
		nvmm_vcpu_dump(&vm.mach, &vm.vcpu[0]);
	ck_assert_msg(reason == NVMM_VCPU_EXIT_HALTED, "exit %#" PRIx64
		      " instead of HALTED after %u reports", reason,
		      vm.nreports[0]);
	expect_reports("NMI in STI and MOV SS shadows", expect, 6);
	vm_destroy(&vm);
	return true;
}

START_TEST(nmi_injected_in_shadow_delivered)
{
	unsigned int i;

	for (i = 0; i < 20; i++) {
		if (nmi_shadow_once())
			return;
		printf("# the emulated host dropped a shadow (run %u)\n", i + 1);
	}
	ck_abort_msg("the emulated host dropped a shadow in 20 runs of 20");
}
END_TEST

/* -------------------------------------------------------------------------- */
/* PAE paging on with a reserved PDPTE bit: #GP, as the CPU raises it. */

#define PDPT		0x23000ULL
#define PD		0x24000ULL

START_TEST(pae_pdpte_reserved_bit_gp)
{
	static const uint32_t good[] = { 0x32, 0x33 };
	static const uint32_t gp[] = { 0x32, 0xE13, 0 };
	uint64_t *pdpt, *pd;
	bool vmx = strcmp(emu_lane(), "vmx") == 0;

	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "pae_pdpte");
	pdpt = (uint64_t *)(vm.ram + PDPT);
	pd = (uint64_t *)(vm.ram + PD);
	pd[0] = 0x83;				/* 0-2 MiB: P, RW, PS */

	/* The control: valid PDPTEs, paging comes on. */
	pdpt[0] = PD | 1;
	vm_mode_prot32(&vm, 0, VM_CODE);
	run_to_hlt("valid PDPTEs");
	expect_reports("valid PDPTEs", good, 2);

	/* PDPTE 1 present with bit 1 (reserved in a PDPTE) set. */
	pdpt[1] = PD | 3;
	vm_mode_prot32(&vm, 0, VM_CODE);
	vm.nreports[0] = 0;
	run_to_hlt("reserved bit in PDPTE 1");
	if (vmx) {
		expect_reports("reserved bit in PDPTE 1 (VMX: SDM 4.4.1)", gp,
			       3);
	} else if (vm.nreports[0] == 2) {
		/*
		 * With nested paging an AMD CPU does not load the PDPTEs at
		 * the MOV (APM 15.25.10): PDPTE 1 is never used here.
		 */
		expect_reports("reserved bit in PDPTE 1 (SVM)", good, 2);
	} else {
		expect_reports("reserved bit in PDPTE 1 (SVM)", gp, 3);
	}
	vm_destroy(&vm);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(guest_entered_long_mode_then_reset_to_real),
		KSFT_TEST(guest_left_long_mode_then_long_mode_restored),
		KSFT_TEST(npc_wraps_after_skipped_instruction_16),
		KSFT_TEST(npc_wraps_after_skipped_instruction_32),
		KSFT_TEST(npc_to_userland_wraps_16),
		KSFT_TEST(npc_to_userland_wraps_32),
		KSFT_TEST(nmi_injected_in_shadow_delivered),
		KSFT_TEST(pae_pdpte_reserved_bit_gp),
	};

	if (access("/dev/nvmm", F_OK) != 0) {
		printf("TAP version 13\n1..0 # SKIP /dev/nvmm is absent\n");
		return KSFT_SKIP;
	}
	return ksft_run("guest_edges", tests,
			sizeof(tests) / sizeof(tests[0]), 120);
}
