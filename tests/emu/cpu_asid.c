/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run_cpu: ASIDs (VPIDs): more VCPUs than the CPU has, recycled on one
 * host CPU and then two, with gpa remaps between runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "emu_util.h"
#include "ksft.h"
#include "run_cpu.h"
#include "vm.h"

/* -------------------------------------------------------------------------- */
/* ASIDs: more VCPUs than the CPU has, one host CPU. */

#define ASID_VA		0x40000000ULL
#define ASID_PAGE_GPA	0x80000000ULL	/* + VCPU * PAGE */
#define ASID_PT		0x100000ULL	/* shared PD, then 4 pages a VCPU */
#define ASID_MAX_VCPUS	64
#define ASID_ROUNDS	24

struct amach {
	struct vm vm;
	unsigned int nvcpus;
	struct nvmm_vcpu extra[ASID_MAX_VCPUS];
	uint8_t *pages;		/* 2 backing pages a VCPU */
	unsigned int cur[ASID_MAX_VCPUS];	/* which of the 2 backs it */
	bool mapped[ASID_MAX_VCPUS];
};

static struct amach amachs[3];

static struct nvmm_vcpu *avcpu(struct amach *m, unsigned int i)
{
	return i == 0 ? &m->vm.vcpu[0] : &m->extra[i];
}

static uint8_t *aback(struct amach *m, unsigned int i, unsigned int which)
{
	return m->pages + (2 * i + which) * PAGE;
}

static void amach_create(struct amach *m, unsigned int nvcpus)
{
	struct nvmm_x64_state tmpl;
	uint64_t *pd0, *pml4, *pdpt, *pd, *pt, base;
	unsigned int i, j;

	ck_assert_uint_le(nvcpus, ASID_MAX_VCPUS);
	m->nvcpus = nvcpus;
	vm_create(&m->vm, 2 * MIB);
	vm_load(&m->vm, "long_asid");
	vm_mode_long(&m->vm, 0, VM_CODE);
	vm_get(&m->vm, 0, NVMM_X64_STATE_ALL);
	memcpy(&tmpl, vm_state(&m->vm, 0), sizeof(tmpl));

	/* 0-1 GiB identity; ASID_VA -> the VCPU's own page. */
	pd0 = (uint64_t *)(m->vm.ram + ASID_PT);
	for (j = 0; j < 512; j++)
		pd0[j] = ((uint64_t)j << 21) | 0x87;
	m->pages = mmap(NULL, 2 * nvcpus * PAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(m->pages != MAP_FAILED);
	ck_assert_int_eq(nvmm_hva_map(&m->vm.mach, (uintptr_t)m->pages,
				      2 * nvcpus * PAGE), 0);
	for (i = 0; i < nvcpus; i++) {
		base = ASID_PT + PAGE + i * 4 * PAGE;
		pml4 = (uint64_t *)(m->vm.ram + base);
		pdpt = pml4 + 512;
		pd = pdpt + 512;
		pt = pd + 512;
		pml4[0] = (base + PAGE) | 0x7;
		pdpt[0] = ASID_PT | 0x7;
		pdpt[1] = (base + 2 * PAGE) | 0x7;
		pd[0] = (base + 3 * PAGE) | 0x7;
		pt[0] = (ASID_PAGE_GPA + i * PAGE) | 0x7;
		ck_assert_uint_lt(base + 4 * PAGE, 2 * MIB);

		ck_assert_int_eq(nvmm_gpa_map(&m->vm.mach,
					      (uintptr_t)aback(m, i, 0),
					      ASID_PAGE_GPA + i * PAGE, PAGE,
					      PROT_READ | PROT_WRITE), 0);
		m->cur[i] = 0;
		m->mapped[i] = true;
		if (i)
			ck_assert_msg(nvmm_vcpu_create(&m->vm.mach, i,
						       &m->extra[i]) == 0,
				      "vcpu_create %u: %s", i, strerror(errno));
		memcpy(avcpu(m, i)->state, &tmpl, sizeof(tmpl));
		avcpu(m, i)->state->crs[NVMM_X64_CR_CR3] = base;
		ck_assert_int_eq(nvmm_vcpu_setstate(&m->vm.mach, avcpu(m, i),
						    NVMM_X64_STATE_ALL), 0);
	}
}

static void amach_destroy(struct amach *m)
{
	vm_destroy(&m->vm);
	munmap(m->pages, 2 * m->nvcpus * PAGE);
}

static uint32_t atag(unsigned int mi, unsigned int i, unsigned int round,
		     unsigned int kind)
{
	return (kind << 28) | (mi << 24) | (i << 16) | round;
}

/* Run VCPU i of machine mi once, through its two reports and HLT. */
static void asid_run(unsigned int mi, unsigned int i, unsigned int round)
{
	struct amach *m = &amachs[mi];
	struct nvmm_vcpu *v = avcpu(m, i);
	const struct nvmm_vcpu_exit *exit = v->exit;
	struct nvmm_x64_state *st = v->state;
	volatile uint32_t *page = (uint32_t *)aback(m, i, m->cur[i]);
	uint32_t expect = atag(mi, i, round, 1), w = atag(mi, i, round, 2);
	uint32_t rep[2];
	unsigned int n = 0;

	*page = expect;
	ck_assert_int_eq(nvmm_vcpu_getstate(&m->vm.mach, v,
					    NVMM_X64_STATE_GPRS), 0);
	st->gprs[NVMM_X64_GPR_RIP] = VM_CODE;
	st->gprs[NVMM_X64_GPR_RBX] = w;
	ck_assert_int_eq(nvmm_vcpu_setstate(&m->vm.mach, v,
					    NVMM_X64_STATE_GPRS), 0);
	for (;;) {
		ck_assert_msg(nvmm_vcpu_run(&m->vm.mach, v) == 0, "run: %s",
			      strerror(errno));
		if (exit->reason == NVMM_VCPU_EXIT_NONE)
			continue;
		if (exit->reason == NVMM_VCPU_EXIT_HALTED)
			break;
		ck_assert_msg(exit->reason == NVMM_VCPU_EXIT_IO, "machine %u "
			      "VCPU %u round %u: exit %#" PRIx64, mi, i, round,
			      exit->reason);
		ck_assert_uint_lt(n, 2);
		nvmm_vcpu_getstate(&m->vm.mach, v, NVMM_X64_STATE_GPRS);
		rep[n++] = (uint32_t)st->gprs[NVMM_X64_GPR_RAX];
		st->gprs[NVMM_X64_GPR_RIP] = exit->u.io.npc;
		nvmm_vcpu_setstate(&m->vm.mach, v, NVMM_X64_STATE_GPRS);
	}
	ck_assert_uint_eq(n, 2);
	ck_assert_msg(rep[0] == expect, "machine %u VCPU %u round %u read "
		      "%#x, not its page's %#x%s", mi, i, round, rep[0], expect,
		      ((rep[0] >> 16) & 0xFFF) != ((mi << 8) | i) ?
		      ": another VCPU's translation" : "");
	ck_assert_msg(rep[1] == w, "machine %u VCPU %u round %u read back "
		      "%#x, wrote %#x", mi, i, round, rep[1], w);
	ck_assert_msg(*page == w, "machine %u VCPU %u round %u: its page "
		      "holds %#x, not the %#x it wrote", mi, i, round, *page,
		      w);
}

START_TEST(asid_recycling)
{
	static const unsigned int counts[3] = { 40, 12, 8 };
	uint32_t svm[4];
	cpu_set_t allowed;
	int cpus[2] = { -1, -1 }, c;
	unsigned int mi, i, round, ncpus = 0;
	struct emu_stats before, after;

	emu_stats(&before);
	host_cpuid(0x8000000A, 0, svm);
	ck_assert_int_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	for (c = 0; c < CPU_SETSIZE && ncpus < 2; c++)
		if (CPU_ISSET(c, &allowed))
			cpus[ncpus++] = c;
	ksft_print("%u ASIDs; %u + %u + %u VCPUs on CPU %d%s", svm[1],
		   counts[0], counts[1], counts[2], cpus[0],
		   ncpus > 1 ? ", then also moving" : "");
	emu_pin_to(cpus[0]);
	for (mi = 0; mi < 3; mi++)
		amach_create(&amachs[mi], counts[mi]);

	for (round = 0; round < ASID_ROUNDS; round++) {
		/* Half-way, VCPUs move between two CPUs too. */
		if (ncpus > 1 && round >= ASID_ROUNDS / 2)
			emu_pin_to(cpus[round % 2]);
		/* Every 4th round: some pages move to their other backing. */
		if (round % 4 == 3) {
			for (mi = 0; mi < 3; mi++) {
				struct amach *m = &amachs[mi];

				for (i = round % 5; i < m->nvcpus; i += 5) {
					uintptr_t old = (uintptr_t)aback(m, i,
								m->cur[i]);

					ck_assert_int_eq(nvmm_gpa_unmap(
						&m->vm.mach, old,
						ASID_PAGE_GPA + i * PAGE,
						PAGE), 0);
					*(volatile uint32_t *)old = 0xDEAD0000;
					m->cur[i] ^= 1;
					ck_assert_int_eq(nvmm_gpa_map(
						&m->vm.mach,
						(uintptr_t)aback(m, i,
								 m->cur[i]),
						ASID_PAGE_GPA + i * PAGE, PAGE,
						PROT_READ | PROT_WRITE), 0);
				}
			}
		}
		/* Round 10: unmapped between runs: the next run must fault. */
		if (round == 10) {
			for (mi = 0; mi < 3; mi++) {
				struct amach *m = &amachs[mi];

				for (i = 1; i < m->nvcpus; i += 3) {
					struct nvmm_vcpu *v = avcpu(m, i);
					uint64_t gpa = ASID_PAGE_GPA + i * PAGE;

					ck_assert_int_eq(nvmm_gpa_unmap(
						&m->vm.mach,
						(uintptr_t)aback(m, i,
								 m->cur[i]),
						gpa, PAGE), 0);
					ck_assert_int_eq(nvmm_vcpu_getstate(
						&m->vm.mach, v,
						NVMM_X64_STATE_GPRS), 0);
					v->state->gprs[NVMM_X64_GPR_RIP] =
						VM_CODE;
					nvmm_vcpu_setstate(&m->vm.mach, v,
						NVMM_X64_STATE_GPRS);
					do
						ck_assert_int_eq(nvmm_vcpu_run(
							&m->vm.mach, v), 0);
					while (v->exit->reason ==
					       NVMM_VCPU_EXIT_NONE);
					ck_assert_msg(v->exit->reason ==
						NVMM_VCPU_EXIT_MEMORY,
						"machine %u VCPU %u: exit %#"
						PRIx64 " after gpa_unmap, not "
						"MEMORY: the old translation "
						"was used", mi, i,
						v->exit->reason);
					ck_assert_uint_eq(v->exit->u.mem.gpa,
							  gpa);
					ck_assert_int_eq(nvmm_gpa_map(
						&m->vm.mach,
						(uintptr_t)aback(m, i,
								 m->cur[i]),
						gpa, PAGE,
						PROT_READ | PROT_WRITE), 0);
				}
			}
		}
		for (i = 0; i < counts[0]; i++)
			for (mi = 0; mi < 3; mi++)
				if (i < amachs[mi].nvcpus)
					asid_run(mi, i, round);
	}
	for (mi = 0; mi < 3; mi++)
		amach_destroy(&amachs[mi]);
	emu_stats(&after);
	ck_assert_int_eq(after.machines, before.machines);
	ck_assert_int_eq(after.vcpus, before.vcpus);
	ck_assert_int_eq(after.pages, before.pages);
	ck_assert_int_eq(after.guest_pages, before.guest_pages);
}
END_TEST
KSFT_EXPORT(asid_recycling)
