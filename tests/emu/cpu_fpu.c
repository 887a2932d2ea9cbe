/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run_cpu: the guest's FPU: XCR0 (XSETBV) and AVX state across exits, and
 * its SSE registers across nested page faults that sleep.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "run_cpu.h"
#include "vm.h"

/* The next exit must be a report: its value; RIP moves past the OUT. */
static uint32_t next_report(struct vm *v, unsigned int cpu)
{
	const struct nvmm_vcpu_exit *exit = v->vcpu[cpu].exit;
	uint64_t reason = next_exit(v, cpu);
	uint32_t val;

	ck_assert_msg(reason == NVMM_VCPU_EXIT_IO, "exit %#" PRIx64
		      " instead of a report", reason);
	ck_assert_uint_eq(exit->u.io.port, VM_PORT_REPORT);
	ck_assert(!exit->u.io.in);
	vm_get(v, cpu, NVMM_X64_STATE_GPRS);
	val = (uint32_t)vm_state(v, cpu)->gprs[NVMM_X64_GPR_RAX];
	vm_skip(v, cpu, exit->u.io.npc);
	return val;
}

/* -------------------------------------------------------------------------- */
/* XCR0 and AVX. */

#define XF_X87		0x1ULL
#define XF_SSE		0x2ULL
#define XF_AVX		0x4ULL

/* The host thread's own AVX work between two runs of the guest. */
static void host_clobber_ymm(void)
{
	static uint8_t junk[32] __attribute__((aligned(32)));

	memset(junk, 0x5A, sizeof(junk));
	__asm__ volatile("vmovdqu (%0), %%ymm0\n\tvmovdqu (%0), %%ymm1\n\t"
		     "vmovdqu (%0), %%ymm2\n\tvmovdqu (%0), %%ymm3\n\t"
		     "vmovdqu (%0), %%ymm4\n\tvmovdqu (%0), %%ymm5\n\t"
		     "vmovdqu (%0), %%ymm6\n\tvmovdqu (%0), %%ymm7\n\t"
		     "vmovdqu (%0), %%ymm8\n\tvmovdqu (%0), %%ymm9\n\t"
		     "vmovdqu (%0), %%ymm10\n\tvmovdqu (%0), %%ymm11\n\t"
		     "vmovdqu (%0), %%ymm12\n\tvmovdqu (%0), %%ymm13\n\t"
		     "vmovdqu (%0), %%ymm14\n\tvmovdqu (%0), %%ymm15\n\t"
		     : : "r"(junk)
		     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
		       "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
		       "xmm13", "xmm14", "xmm15", "memory");
}

START_TEST(xsetbv_and_avx_state)
{
	struct nvmm_capability cap;
	struct nvmm_x64_state *st;
	uint32_t h1[4], hd2[4], r[25], s4[5], last;
	uint8_t *pattern, *out;
	unsigned int i, k, q = qemu_version(), mid_bad, bad_fpu;
	bool intercepted = !(q && q < 802);
	uint64_t mid_run_xcr0 = 1;
	uint32_t want;

	ck_assert_int_eq(nvmm_init(), 0);
	ck_assert_int_eq(nvmm_capability(&cap), 0);
	host_cpuid(1, 0, h1);
	ksft_print("xcr0_mask %#" PRIx64 ", CPUID.1:ECX %#x",
		   (uint64_t)cap.arch.xcr0_mask, h1[2]);
	if (!(cap.arch.xcr0_mask & XF_AVX))
		ksft_skip("the capability's xcr0_mask %#" PRIx64 " has no AVX",
			  (uint64_t)cap.arch.xcr0_mask);
	if (!(h1[2] & (1u << 28)) || !(h1[2] & (1u << 27)))
		ksft_skip("the CPU has no AVX or no OSXSAVE (ECX %#x)", h1[2]);
	host_cpuid(0xD, 2, hd2);
	if (!intercepted)
		ksft_print("QEMU %u.%u has no XSETBV intercept (QEMU 8.2 added "
			   "it): XCR0 is set with setstate, XSETBV is not "
			   "checked", q / 100, q % 100);

	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_xsave");
	vm_mode_long(&vm, 0, VM_CODE);
	st = vm_state(&vm, 0);
	st->gprs[NVMM_X64_GPR_R14] = intercepted;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
	pattern = vm.ram + DATA_BASE;
	out = vm.ram + DATA_BASE + 0x400;
	for (i = 0; i < 512; i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	memset(out, 0, 0x600);

	for (i = 0; i < 3; i++)
		r[i] = next_report(&vm, 0);
	for (i = 0; i < 32; i++)
		ck_assert_uint_eq(next_report(&vm, 0), 0xC0);
	for (i = 3; i < (intercepted ? 25u : 9u); i++)
		r[i] = next_report(&vm, 0);
	/* CPUID follows CR4.OSXSAVE. */
	ck_assert_msg(!(r[0] & (1u << 27)), "OSXSAVE in CPUID.1:ECX %#x with "
		      "CR4.OSXSAVE clear", r[0]);
	ck_assert(r[0] & (1u << 26));			/* XSAVE */
	ck_assert(r[0] & (1u << 28));			/* AVX */
	ck_assert_msg(r[1] == 0xE06, "XSETBV with CR4.OSXSAVE clear: %#x, "
		      "not #UD", r[1]);
	ck_assert(vm.ram[r[2]] == 0x0F && vm.ram[r[2] + 1] == 0x01 &&
		  vm.ram[r[2] + 2] == 0xD1);
	/* The XGETBVs right after MOV to CR4: checked at the end. */
	for (i = 0, mid_bad = 0; i < 32; i++) {
		uint64_t v = *(uint64_t *)(vm.ram + DATA_BASE + 0xC00 + 8 * i);

		if (v != 1) {
			mid_bad++;
			mid_run_xcr0 = v;
		}
	}
	ksft_print("XCR0 read right after MOV to CR4: %#" PRIx64 " %#" PRIx64
		   " %#" PRIx64 " .. (%u of 32 not the guest's)",
		   *(uint64_t *)(vm.ram + DATA_BASE + 0xC00),
		   *(uint64_t *)(vm.ram + DATA_BASE + 0xC08),
		   *(uint64_t *)(vm.ram + DATA_BASE + 0xC10), mid_bad);
	ck_assert_msg(r[3] & (1u << 27), "no OSXSAVE in CPUID.1:ECX %#x with "
		      "CR4.OSXSAVE set", r[3]);
	ck_assert_uint_eq(r[4], 1);			/* XCR0 at reset */
	/* Leaf 0xD: what XCR0 may hold, and sizes that go with XCR0. */
	ck_assert_uint_eq(r[5], (uint32_t)cap.arch.xcr0_mask);
	ck_assert_uint_eq(r[8], (uint32_t)(cap.arch.xcr0_mask >> 32));
	ck_assert_msg(r[6] == 576, "0xD.0 EBX %u with XCR0 = x87", r[6]);
	want = emu_xsave_size(cap.arch.xcr0_mask, false);
	ck_assert_msg(r[7] == want, "0xD.0 ECX %u, expected %u", r[7], want);
	if (intercepted) {
		static const char *const refused[] = {
			"AVX without SSE", "no x87", "PKRU", "bit 32",
			"ECX = 1",
		};

		/* Five refused values: #GP(0) each, at an XSETBV. */
		for (i = 0, k = 9; i < 5; i++, k += 3) {
			ck_assert_msg(r[k] == 0xE13, "XSETBV (%s): report "
				      "%#x, not #GP", refused[i], r[k]);
			ck_assert_msg(r[k + 1] >= VM_CODE &&
				      r[k + 1] < VM_CODE + 0x1000, "XSETBV "
				      "(%s): #GP at RIP %#x, error code %#x",
				      refused[i], r[k + 1], r[k + 2]);
			ck_assert(vm.ram[r[k + 1]] == 0x0F &&
				  vm.ram[r[k + 1] + 2] == 0xD1);
			ck_assert_uint_eq(r[k + 2], 0);
		}
		ck_assert_uint_eq(r[24], 1);		/* XCR0 unchanged */
	}
	ck_assert_uint_eq(next_report(&vm, 0), 0xB0);
	if (!intercepted) {
		vm_get(&vm, 0, NVMM_X64_STATE_CRS);
		st->crs[NVMM_X64_CR_XCR0] = 7;
		vm_set(&vm, 0, NVMM_X64_STATE_CRS);
	}
	for (i = 0; i < 4; i++)
		s4[i] = next_report(&vm, 0);
	ck_assert_msg(s4[0] == 7, "XGETBV: %#x after XCR0 = 7", s4[0]);
	want = emu_xsave_size(7, false);
	ck_assert_msg(s4[1] == want, "0xD.0 EBX %u with XCR0 = 7, expected %u",
		      s4[1], want);
	ck_assert_uint_eq(s4[2], hd2[0]);
	ck_assert_uint_eq(s4[3], hd2[1]);
	/* The guest's XCR0, as getstate sees it. */
	vm_get(&vm, 0, NVMM_X64_STATE_CRS);
	ck_assert_uint_eq(st->crs[NVMM_X64_CR_XCR0], 7);

	/* YMM0-15 loaded; three trips to userland, each stored after. The
	 * kernel must not have found the guest's FPU image bad. */
	bad_fpu = emu_kmsg_count("Bad FPU state");
	ck_assert_uint_eq(next_report(&vm, 0), 0xA1);
	ck_assert_uint_eq(next_report(&vm, 0), 0xA2);
	ck_assert_msg(emu_kmsg_count("Bad FPU state") == bad_fpu, "the kernel "
		      "logged 'Bad FPU state detected at "
		      "restore_fpregs_from_fpstate' (XRSTOR of the guest's FPU "
		      "image faulted in fpu_swap_kvm_fpstate) once the guest "
		      "had AVX state: the guest's registers were reset");
	host_clobber_ymm();
	usleep(20 * 1000);
	sched_yield();
	host_clobber_ymm();
	ck_assert_uint_eq(next_report(&vm, 0), 0xA3);
	/* An emulator's getstate/setstate of everything passes through. */
	vm_get(&vm, 0, NVMM_X64_STATE_ALL);
	for (i = 0; i < 16; i++)
		ck_assert_msg(memcmp(st->fpu.fx_xmm[i].xmm_bytes,
				     pattern + 32 * i, 16) == 0,
			      "getstate: XMM%u is not the guest's", i);
	vm_set(&vm, 0, NVMM_X64_STATE_ALL);
	ck_assert_uint_eq(next_report(&vm, 0), 0xA4);
	for (k = 0; k < 3; k++) {
		static const char *const after[] = {
			"an exit to userland", "an exit while the host used AVX",
			"getstate/setstate of all state",
		};

		out = vm.ram + DATA_BASE + 0x400 + 0x200 * k;
		for (i = 0; i < 16; i++) {
			ck_assert_msg(memcmp(out + 32 * i, pattern + 32 * i,
					     16) == 0, "after %s: XMM%u (low "
				      "half of YMM%u) lost: %02x%02x%02x%02x.. "
				      "instead of %02x%02x%02x%02x..", after[k],
				      i, i, out[32 * i], out[32 * i + 1],
				      out[32 * i + 2], out[32 * i + 3],
				      pattern[32 * i], pattern[32 * i + 1],
				      pattern[32 * i + 2], pattern[32 * i + 3]);
			ck_assert_msg(memcmp(out + 32 * i + 16,
					     pattern + 32 * i + 16, 16) == 0,
				      "after %s: the upper half of YMM%u is "
				      "lost (%02x%02x.. instead of %02x%02x..)",
				      after[k], i, out[32 * i + 16],
				      out[32 * i + 17], pattern[32 * i + 16],
				      pattern[32 * i + 17]);
		}
	}
	last = next_report(&vm, 0);
	ck_assert_msg(!(last & (1u << 27)), "OSXSAVE still in CPUID.1:ECX "
		      "%#x after CR4.OSXSAVE was cleared", last);
	ck_assert_uint_eq(next_exit(&vm, 0), NVMM_VCPU_EXIT_HALTED);
	vm_destroy(&vm);

	/*
	 * XGETBV right after the guest's own MOV to CR4 set OSXSAVE, with
	 * no exit in between: the guest's XCR0 (x87 only since RESET), not
	 * whatever XCR0 the host had loaded.
	 */
	ck_assert_msg(mid_bad == 0, "%u of 32 times, XGETBV right after the "
		      "guest set CR4.OSXSAVE returned %#" PRIx64 ", not the "
		      "guest's XCR0 1: the guest ran with the host's XCR0 (the "
		      "kernel loads the guest's XCR0 only if CR4.OSXSAVE was "
		      "set at VMRUN, and CR4 writes are not intercepted)",
		      mid_bad, mid_run_xcr0);
}
END_TEST
KSFT_EXPORT(xsetbv_and_avx_state)

/*
 * The guest's SSE registers across nested page faults the kernel resolves
 * while other threads of the process run: the fault may sleep (mmap_lock,
 * page allocation), the CPU runs someone else's FPU state meanwhile, and
 * the guest must find its own registers when it goes on.
 */
#define FT_RAM		(32 * MIB)
#define FT_TOUCH	0x800000ULL
#define FT_PAGES	2048

static atomic_int ft_stop;

/* voluntary_ctxt_switches of the calling thread. */
static long thread_ctxt_switches(void)
{
	char path[64], line[128];
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/thread-self/status");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &val) == 1)
			break;
	fclose(f);
	return val;
}

static void *ft_pressure(void *arg)
{
	static uint8_t junk[256] __attribute__((aligned(16)));
	unsigned long n = 0;

	(void)arg;
	memset(junk, 0xEE, sizeof(junk));
	while (!atomic_load(&ft_stop)) {
		void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		/* This thread's own XMM values, different from the guest's. */
		__asm__ volatile("movdqu (%0), %%xmm0\n\tmovdqu (%0), %%xmm1\n\t"
				 "movdqu (%0), %%xmm2\n\tmovdqu (%0), %%xmm3\n\t"
				 "movdqu (%0), %%xmm4\n\tmovdqu (%0), %%xmm5\n\t"
				 "movdqu (%0), %%xmm6\n\tmovdqu (%0), %%xmm7\n\t"
				 "movdqu (%0), %%xmm8\n\tmovdqu (%0), %%xmm9\n\t"
				 "movdqu (%0), %%xmm10\n\tmovdqu (%0), %%xmm11\n\t"
				 "movdqu (%0), %%xmm12\n\tmovdqu (%0), %%xmm13\n\t"
				 "movdqu (%0), %%xmm14\n\tmovdqu (%0), %%xmm15\n\t"
				 : : "r"(junk)
				 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
				   "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
				   "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
				   "xmm15", "memory");
		if (p != MAP_FAILED)
			munmap(p, PAGE);
		if (++n % 64 == 0)
			sched_yield();
	}
	return NULL;
}

START_TEST(fpu_state_across_sleeping_faults)
{
	pthread_t t[2];
	uint8_t *pattern, *out;
	unsigned int i, round, bad = 0;
	uint64_t reason;
	long csw0;

	vm_create(&vm, FT_RAM);
	ck_assert_int_eq(madvise(vm.ram, vm.ram_size, MADV_NOHUGEPAGE), 0);
	vm_load(&vm, "long_fpu_touch");
	pattern = vm.ram + DATA_BASE;
	out = vm.ram + DATA_BASE + 0x400;
	for (i = 0; i < 256; i++)
		pattern[i] = (uint8_t)(0x11 + i * 3);
	atomic_store(&ft_stop, 0);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, ft_pressure,
						NULL), 0);
	for (round = 0; round < 4 && !bad; round++) {
		memset(out, 0, 256);
		/* Fresh pages each round: the host gives back the last. */
		ck_assert_int_eq(madvise(vm.ram + FT_TOUCH, FT_PAGES * PAGE,
					 MADV_DONTNEED), 0);
		vm_mode_long(&vm, 0, VM_CODE);
		vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RDI] = FT_TOUCH;
		vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RCX] = FT_PAGES;
		vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
		vm.nreports[0] = 0;
		csw0 = thread_ctxt_switches();
		reason = vm_run(&vm, 0);
		ksft_print("round %u: %ld voluntary context switches of the "
			   "VCPU thread during the run", round,
			   thread_ctxt_switches() - csw0);
		ck_assert_msg(reason == NVMM_VCPU_EXIT_HALTED, "exit %#" PRIx64,
			      reason);
		ck_assert_uint_eq(vm.nreports[0], 1);
		ck_assert_uint_eq(vm.reports[0][0], 0xF5);
		for (i = 0; i < 16; i++)
			if (memcmp(out + 16 * i, pattern + 16 * i, 16) != 0)
				bad++;
	}
	atomic_store(&ft_stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 16 && bad; i++)
		if (memcmp(out + 16 * i, pattern + 16 * i, 16) != 0)
			ksft_print("XMM%u: %02x%02x%02x%02x.. instead of "
				   "%02x%02x%02x%02x..", i, out[16 * i],
				   out[16 * i + 1], out[16 * i + 2],
				   out[16 * i + 3], pattern[16 * i],
				   pattern[16 * i + 1], pattern[16 * i + 2],
				   pattern[16 * i + 3]);
	ck_assert_msg(bad == 0, "round %u: %u guest XMM registers changed "
		      "while the kernel resolved nested page faults (another "
		      "thread's values: 0xee..): the guest ran on with FPU "
		      "registers not its own", round, bad);
	vm_destroy(&vm);
}
END_TEST
KSFT_EXPORT(fpu_state_across_sleeping_faults)
