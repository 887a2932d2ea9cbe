/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run_mm: mapping changes raced against several running VCPUs: gpa_unmap
 * and gpa_map while four VCPUs run the probe guest, and the kick of VCPUs
 * whose guests never exit (long_mm_epoch.S) on host and gpa remaps.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "mm_probe.h"
#include "run_mm.h"
#include "vm.h"

/* -------------------------------------------------------------------------- */
/* A mapping change while several VCPUs run. */

#define REMAP_VCPUS	4
#define REMAP_ROUNDS	200
#define REMAP_VAL(r)	(0x10000u + (r))
#define REMAP_STALE	0xDEADDu	/* 20 bits: long_mm_probe_seq.S */

static atomic_uint remap_round;		/* gpa_unmap of this round returned */
static uint8_t *remap_pg[2];		/* the two backing pages */
static atomic_int remap_stop;

struct remap_vcpu {
	unsigned int cpu;
	unsigned long reports, mem_exits, nones;
	atomic_uint last;
	/* The last exits, for the message: reason, value, rounds. */
	struct {
		char what;
		uint32_t val;
		unsigned int seg_round, round;
	} hist[8];
	unsigned int nhist;
	char error[768];
};

static void remap_hist(struct remap_vcpu *rv, char what, uint32_t val,
		       unsigned int seg_round)
{
	unsigned int i = rv->nhist++ % 8;

	rv->hist[i].what = what;
	rv->hist[i].val = val;
	rv->hist[i].seg_round = seg_round;
	rv->hist[i].round = atomic_load(&remap_round);
}

/* The history, oldest first, appended to the error message. */
static void remap_hist_msg(struct remap_vcpu *rv)
{
	size_t len = strlen(rv->error);
	unsigned int k, n = rv->nhist < 8 ? rv->nhist : 8;

	len += snprintf(rv->error + len, sizeof(rv->error) - len,
			"; last exits (kind value segment-round round):");
	for (k = rv->nhist - n; k < rv->nhist && len < sizeof(rv->error);
	     k++) {
		unsigned int i = k % 8;

		len += snprintf(rv->error + len, sizeof(rv->error) - len,
				" %c %#x %u %u", rv->hist[i].what,
				rv->hist[i].val, rv->hist[i].seg_round,
				rv->hist[i].round);
	}
}


/* After a stale read: does it last? Three more runs, and the pages now. */
static void remap_after(struct remap_vcpu *rv)
{
	size_t len = strlen(rv->error);
	unsigned int k;

	for (k = 0; k < 3 && len < sizeof(rv->error); k++) {
		uint32_t val = 0;
		uint64_t reason;
		int err;

		do
			reason = probe_run(&vm, rv->cpu, &val, &err);
		while (!err && reason == NVMM_VCPU_EXIT_NONE);
		len += snprintf(rv->error + len, sizeof(rv->error) - len,
				"%s %s %#x", k ? "," : "; then",
				reason == NVMM_VCPU_EXIT_IO ? "R" :
				reason == NVMM_VCPU_EXIT_MEMORY ? "M" : "?",
				reason == NVMM_VCPU_EXIT_MEMORY ?
				(uint32_t)vm.vcpu[rv->cpu].exit->u.mem.gpa :
				val & 0xFFFFF);
	}
	if (len < sizeof(rv->error))
		snprintf(rv->error + len, sizeof(rv->error) - len,
			 "; pages now %#x %#x, round %u",
			 *(volatile uint32_t *)remap_pg[0],
			 *(volatile uint32_t *)remap_pg[1],
			 atomic_load(&remap_round));
}

static void *remap_vcpu_thread(void *arg)
{
	struct remap_vcpu *rv = arg;
	unsigned int seg_round = atomic_load(&remap_round);
	unsigned int seq, prev_seq = 0;

	while (!atomic_load(&remap_stop)) {
		uint32_t val = 0;
		uint64_t reason;
		int err;

		reason = probe_run(&vm, rv->cpu, &val, &err);
		if (err) {
			snprintf(rv->error, sizeof(rv->error),
				 "vcpu_run: %s", strerror(err));
			break;
		}
		if (reason == NVMM_VCPU_EXIT_NONE) {
			rv->nones++;
			remap_hist(rv, 'N', 0, seg_round);
			continue;
		}
		if (reason == NVMM_VCPU_EXIT_MEMORY) {
			uint64_t gpa = vm.vcpu[rv->cpu].exit->u.mem.gpa;

			remap_hist(rv, 'M', (uint32_t)gpa, seg_round);
			if ((gpa & ~(PAGE - 1)) != REMAP_GPA) {
				snprintf(rv->error, sizeof(rv->error),
					 "MEMORY exit at %#" PRIx64, gpa);
				break;
			}
			/* The page is between unmap and map: try again. */
			rv->mem_exits++;
			continue;
		}
		if (reason != NVMM_VCPU_EXIT_IO) {
			snprintf(rv->error, sizeof(rv->error),
				 "exit %#" PRIx64, reason);
			break;
		}
		rv->reports++;
		seq = val >> 20;
		val &= 0xFFFFF;
		remap_hist(rv, 'R', val, seg_round);
		if (rv->reports > 1 && seq != ((prev_seq + 1) & 0xFFF)) {
			snprintf(rv->error, sizeof(rv->error),
				 "VCPU %u: report of guest iteration %u after "
				 "iteration %u: %s", rv->cpu, seq, prev_seq,
				 seq == prev_seq ? "the OUT ran twice (RIP not "
				 "advanced)" : "reports lost");
			remap_hist_msg(rv);
			break;
		}
		prev_seq = seq;
		if (val == REMAP_STALE || val < REMAP_VAL(seg_round) ||
		    val > REMAP_VAL(atomic_load(&remap_round))) {
			snprintf(rv->error, sizeof(rv->error),
				 "VCPU %u read %#x after gpa_unmap of round "
				 "%u had returned (expected >= %#x)%s",
				 rv->cpu, val, seg_round,
				 REMAP_VAL(seg_round),
				 val == REMAP_STALE ||
				 val < REMAP_VAL(seg_round) ?
				 ": stale translation" : "");
			remap_hist_msg(rv);
			remap_after(rv);
			break;
		}
		atomic_store(&rv->last, val);
		seg_round = atomic_load(&remap_round);
	}
	return NULL;
}

START_TEST(gpa_remap_under_running_vcpus)
{
	struct remap_vcpu rv[REMAP_VCPUS];
	pthread_t t[REMAP_VCPUS];
	struct emu_stats before;
	unsigned int cpu, r, seed = seed_from_time();
	uint8_t *pg[2];
	uint64_t deadline, pfn[2][REMAP_ROUNDS + 1];
	unsigned long reports = 0, mem_exits = 0, nones = 0;

	emu_stats(&before);
	ksft_print("seed %u", seed);
	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_mm_probe_seq");
	pg[0] = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(pg[0] != MAP_FAILED);
	pg[1] = pg[0] + PAGE;
	remap_pg[0] = pg[0];
	remap_pg[1] = pg[1];
	ck_assert_int_eq(nvmm_hva_map(&vm.mach, (uintptr_t)pg[0], 2 * PAGE),
			 0);
	*(volatile uint32_t *)pg[0] = REMAP_VAL(0);
	*(volatile uint32_t *)pg[1] = REMAP_STALE;
	ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)pg[0], REMAP_GPA,
				      PAGE, PROT_READ | PROT_WRITE), 0);
	atomic_store(&remap_round, 0);
	atomic_store(&remap_stop, 0);
	for (cpu = 0; cpu < REMAP_VCPUS; cpu++) {
		if (cpu)
			vm_add_vcpu(&vm, cpu);
		probe_setup(&vm, cpu, REMAP_GPA);
		memset(&rv[cpu], 0, sizeof(rv[cpu]));
		rv[cpu].cpu = cpu;
	}
	for (cpu = 0; cpu < REMAP_VCPUS; cpu++)
		ck_assert_int_eq(pthread_create(&t[cpu], NULL,
						remap_vcpu_thread, &rv[cpu]),
				 0);

	for (r = 1; r <= REMAP_ROUNDS; r++) {
		uint8_t *old = pg[(r - 1) % 2], *new = pg[r % 2];

		usleep(rand_r(&seed) % 2000);
		ck_assert_int_eq(nvmm_gpa_unmap(&vm.mach, (uintptr_t)old,
						REMAP_GPA, PAGE), 0);
		atomic_store(&remap_round, r);
		*(volatile uint32_t *)old = REMAP_STALE;
		*(volatile uint32_t *)new = REMAP_VAL(r);
		if (r % 8 == 0)
			usleep(1000);	/* a window of MEMORY exits */
		ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)new,
					      REMAP_GPA, PAGE,
					      PROT_READ | PROT_WRITE), 0);
		pfn[0][r] = host_pfn(pg[0]);
		pfn[1][r] = host_pfn(pg[1]);
		if (r % 50 == 0)
			ksft_print("round %u", r);
	}
	/* The host pages never moved (else the notifier had work too). */
	for (r = 2; r <= REMAP_ROUNDS; r++)
		if (pfn[0][r] != pfn[0][r - 1] || pfn[1][r] != pfn[1][r - 1])
			ksft_print("round %u: the host pages moved: %#" PRIx64
				   " %#" PRIx64 " -> %#" PRIx64 " %#" PRIx64, r,
				   pfn[0][r - 1], pfn[1][r - 1], pfn[0][r],
				   pfn[1][r]);
	/* Every VCPU comes to the last page. */
	deadline = now_us() + 20 * 1000000;
	for (cpu = 0; cpu < REMAP_VCPUS; cpu++) {
		while (atomic_load(&rv[cpu].last) != REMAP_VAL(REMAP_ROUNDS) &&
		       rv[cpu].error[0] == '\0' && now_us() < deadline)
			usleep(1000);
	}
	atomic_store(&remap_stop, 1);
	for (cpu = 0; cpu < REMAP_VCPUS; cpu++)
		pthread_join(t[cpu], NULL);
	for (cpu = 0; cpu < REMAP_VCPUS; cpu++) {
		ck_assert_msg(rv[cpu].error[0] == '\0', "VCPU %u: %s", cpu,
			      rv[cpu].error);
		ck_assert_msg(atomic_load(&rv[cpu].last) ==
			      REMAP_VAL(REMAP_ROUNDS), "VCPU %u ended on %#x, "
			      "not the last page's %#x", cpu,
			      atomic_load(&rv[cpu].last),
			      REMAP_VAL(REMAP_ROUNDS));
		reports += rv[cpu].reports;
		mem_exits += rv[cpu].mem_exits;
		nones += rv[cpu].nones;
	}
	ksft_print("%u rounds, %lu reports, %lu MEMORY exits, %lu returns "
		   "without exit", REMAP_ROUNDS, reports, mem_exits, nones);
	ck_assert_uint_gt(reports, REMAP_ROUNDS);
	vm_destroy(&vm);
	munmap(pg[0], 2 * PAGE);
	assert_no_leak(&before);
}
END_TEST
KSFT_EXPORT(gpa_remap_under_running_vcpus)

/* -------------------------------------------------------------------------- */
/*
 * Running VCPUs are kicked: guests that do not exit (long_mm_epoch.S) read
 * an epoch word, then the probe, and log each change. The host bumps the
 * epoch once a mapping change has returned; a logged pair (epoch e, value
 * v) must show the page of round e or later. Without the kick, a VCPU in
 * guest mode keeps its TLB entries until something else makes it exit.
 *
 * The emulated hosts hide a missing kick: QEMU (thread=single) runs one
 * CPU at a time and flushes its TLB at every VMRUN and #VMEXIT, and the
 * VCPU's CPU always has a host interrupt pending when it runs again; Bochs
 * has one CPU. A kernel without the remote flush passed these tests there.
 * On hardware they check the kick itself.
 */

#define KICK_VCPUS	4
#define KICK_ROUNDS	60
#define KICK_RAM	(2 * MIB)
#define KICK_EPOCH	(DATA_BASE + 0x100)
#define KICK_STOP	(DATA_BASE + 0x200)
#define KICK_COUNT(c)	(DATA_BASE + 0x300 + 4 * (c))
#define KICK_RING(c)	(0x100000ULL + (c) * 0x40000ULL)
#define KICK_ENTRIES	(0x40000 / 8)
#define KICK_VAL(r)	(0x30000u + (r))
#define KICK_STALE	0xDEADBEEFu

struct kick_vcpu {
	unsigned int cpu;
	unsigned long mem_exits;
	uint64_t reason;
	char error[160];
};

static void *kick_vcpu_thread(void *arg)
{
	struct kick_vcpu *kv = arg;
	uint32_t val;
	int err;

	for (;;) {
		uint64_t reason = probe_run(&vm, kv->cpu, &val, &err);

		if (err) {
			snprintf(kv->error, sizeof(kv->error), "vcpu_run: %s",
				 strerror(err));
			return NULL;
		}
		if (reason == NVMM_VCPU_EXIT_NONE || reason == NVMM_VCPU_EXIT_IO)
			continue;
		if (reason == NVMM_VCPU_EXIT_MEMORY &&
		    (vm.vcpu[kv->cpu].exit->u.mem.gpa & ~(PAGE - 1)) ==
		    REMAP_GPA) {
			kv->mem_exits++;	/* between unmap and map */
			continue;
		}
		kv->reason = reason;
		if (reason != NVMM_VCPU_EXIT_HALTED)
			snprintf(kv->error, sizeof(kv->error), "exit %#" PRIx64,
				 reason);
		return NULL;
	}
}

static void kick_test(bool gpa_flavor)
{
	struct kick_vcpu kv[KICK_VCPUS];
	pthread_t t[KICK_VCPUS];
	struct emu_stats before;
	volatile uint32_t *epoch;
	unsigned int cpu, r, seed = seed_from_time();
	unsigned long entries = 0, mem_exits = 0, after_change = 0;
	uint8_t *pg = NULL, *probe;
	int fds[KICK_ROUNDS + 1];
	uint64_t probe_gpa = gpa_flavor ? REMAP_GPA : PROBE_GPA;

	if (emu_lane_bochs_svm())
		ksft_skip("Bochs never interrupts a guest that loops without "
			  "exits: the main thread would not run again");
	emu_stats(&before);
	ksft_print("seed %u", seed);
	vm_create(&vm, KICK_RAM);
	vm_load(&vm, "long_mm_epoch");
	epoch = (volatile uint32_t *)(vm.ram + KICK_EPOCH);
	*epoch = 0;
	*(volatile uint32_t *)(vm.ram + KICK_STOP) = 0;
	if (gpa_flavor) {
		pg = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ck_assert(pg != MAP_FAILED);
		ck_assert_int_eq(nvmm_hva_map(&vm.mach, (uintptr_t)pg,
					      2 * PAGE), 0);
		*(volatile uint32_t *)pg = KICK_VAL(0);
		ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)pg,
					      REMAP_GPA, PAGE,
					      PROT_READ | PROT_WRITE), 0);
	} else {
		*(volatile uint32_t *)(vm.ram + PROBE_GPA) = KICK_VAL(0);
	}
	probe = vm.ram + PROBE_GPA;
	for (cpu = 0; cpu < KICK_VCPUS; cpu++) {
		struct nvmm_x64_state *st;

		if (cpu)
			vm_add_vcpu(&vm, cpu);
		vm_mode_long(&vm, cpu, VM_CODE);
		st = vm_state(&vm, cpu);
		st->gprs[NVMM_X64_GPR_RBX] = probe_gpa;
		st->gprs[NVMM_X64_GPR_R12] = KICK_EPOCH;
		st->gprs[NVMM_X64_GPR_R14] = KICK_STOP;
		st->gprs[NVMM_X64_GPR_R15] = KICK_COUNT(cpu);
		st->gprs[NVMM_X64_GPR_RDI] = KICK_RING(cpu);
		st->gprs[NVMM_X64_GPR_R13] = KICK_ENTRIES;
		st->gprs[NVMM_X64_GPR_RFLAGS] = emu_spin_rflags();
		vm_set(&vm, cpu, NVMM_X64_STATE_GPRS);
		memset(&kv[cpu], 0, sizeof(kv[cpu]));
		kv[cpu].cpu = cpu;
	}
	for (cpu = 0; cpu < KICK_VCPUS; cpu++)
		ck_assert_int_eq(pthread_create(&t[cpu], NULL,
						kick_vcpu_thread, &kv[cpu]), 0);

	for (r = 1; r <= KICK_ROUNDS; r++) {
		uint32_t val = KICK_VAL(r), stale = KICK_STALE;

		usleep(1000 + rand_r(&seed) % 4000);
		if (gpa_flavor) {
			uint8_t *old = pg + ((r - 1) % 2) * PAGE;
			uint8_t *new = pg + (r % 2) * PAGE;

			ck_assert_int_eq(nvmm_gpa_unmap(&vm.mach,
							(uintptr_t)old,
							REMAP_GPA, PAGE), 0);
			*(volatile uint32_t *)old = KICK_STALE;
			*(volatile uint32_t *)new = val;
			ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)new,
						      REMAP_GPA, PAGE,
						      PROT_READ | PROT_WRITE),
					 0);
		} else {
			void *p;

			fds[r] = memfd_create("nvmm-kick", MFD_CLOEXEC);
			ck_assert_int_ge(fds[r], 0);
			ck_assert_int_eq(ftruncate(fds[r], PAGE), 0);
			ck_assert_int_eq(pwrite(fds[r], &val, 4, 0), 4);
			p = mmap(probe, PAGE, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED, fds[r], 0);
			ck_assert(p == probe);
			/* The page replaced lives on in its file: mark it. */
			if (r > 1)
				ck_assert_int_eq(pwrite(fds[r - 1], &stale, 4,
							0), 4);
		}
		*epoch = r;	/* the change has returned */
		if (r % 20 == 0)
			ksft_print("round %u", r);
	}
	/* Each VCPU logs the last epoch before it is told to stop. */
	for (cpu = 0; cpu < KICK_VCPUS; cpu++) {
		uint64_t deadline = now_us() + 20 * 1000000;
		const volatile uint32_t *ring = (const volatile uint32_t *)
			(vm.ram + KICK_RING(cpu));
		volatile uint32_t *count = (volatile uint32_t *)
			(vm.ram + KICK_COUNT(cpu));

		while (now_us() < deadline && kv[cpu].error[0] == '\0' &&
		       (*count == 0 ||
			ring[2 * (*count - 1)] != KICK_ROUNDS ||
			ring[2 * *count - 1] != KICK_VAL(KICK_ROUNDS)))
			usleep(1000);
	}
	*(volatile uint32_t *)(vm.ram + KICK_STOP) = 1;
	for (cpu = 0; cpu < KICK_VCPUS; cpu++)
		pthread_join(t[cpu], NULL);

	for (cpu = 0; cpu < KICK_VCPUS; cpu++) {
		uint32_t n = *(volatile uint32_t *)(vm.ram + KICK_COUNT(cpu));
		const uint32_t *ring = (const uint32_t *)(vm.ram +
							  KICK_RING(cpu));
		unsigned int i;

		ck_assert_msg(kv[cpu].error[0] == '\0', "VCPU %u: %s", cpu,
			      kv[cpu].error);
		ck_assert_msg(n > 0 && n < KICK_ENTRIES, "VCPU %u logged %u "
			      "changes", cpu, n);
		for (i = 0; i < n; i++) {
			uint32_t e = ring[2 * i], v = ring[2 * i + 1];

			ck_assert_msg(v != KICK_STALE && v >= KICK_VAL(e) &&
				      v <= KICK_VAL(KICK_ROUNDS), "VCPU %u "
				      "read %#x with epoch %u: the change of "
				      "round %u had returned, its page holds "
				      "%#x%s", cpu, v, e, e, KICK_VAL(e),
				      v == KICK_STALE || v < KICK_VAL(e) ?
				      ": stale translation in a running VCPU"
				      : "");
			if (e > 0)
				after_change++;
		}
		ck_assert_msg(ring[2 * (n - 1)] == KICK_ROUNDS &&
			      ring[2 * n - 1] == KICK_VAL(KICK_ROUNDS),
			      "VCPU %u ended on epoch %u value %#x", cpu,
			      ring[2 * (n - 1)], ring[2 * n - 1]);
		entries += n;
		mem_exits += kv[cpu].mem_exits;
	}
	ksft_print("%u rounds, %lu logged changes (%lu after a change), "
		   "%lu MEMORY exits", KICK_ROUNDS, entries, after_change,
		   mem_exits);
	vm_destroy(&vm);
	if (gpa_flavor)
		munmap(pg, 2 * PAGE);
	else
		for (r = 1; r <= KICK_ROUNDS; r++)
			close(fds[r]);
	assert_no_leak(&before);
}

START_TEST(exitless_vcpus_host_remap)
{
	kick_test(false);
}
END_TEST
KSFT_EXPORT(exitless_vcpus_host_remap)

START_TEST(exitless_vcpus_gpa_remap)
{
	kick_test(true);
}
END_TEST
KSFT_EXPORT(exitless_vcpus_gpa_remap)
