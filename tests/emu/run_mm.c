/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest memory and the host mm: what the kernel claims in kmod/nvmm_mmu.c.
 * Guest RAM is faulted in lazily, nothing is pinned, and MMU notifiers keep
 * the nested page table coherent with the owner's address space: munmap,
 * mmap(MAP_FIXED), mremap, madvise(MADV_DONTNEED), fork's copy-on-write and
 * gpa_unmap never leave a guest a stale host page, also while it runs.
 *
 * The races are built so that a stale translation is caught: the guest
 * reads a probe word and reports it in a loop; another thread changes the
 * mapping at a random time and says when the change has returned. For each
 * report the VCPU thread knows whether the change had returned before the
 * run in which the guest read the value started (the "segment" of runs
 * since the previous report): such a report must show the new state only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "vm.h"

#define KIB		((uint64_t)1024)
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define PAGE		((uint64_t)4096)
#define DATA_BASE	0x20000ULL	/* guests/guest.h */

/* The probe guest (guests/long_mm_probe.S): RBX = probe, R12 = command. */
#define PROBE_GPA	0x80000ULL
#define CMD_GPA		DATA_BASE
/* Outside the RAM of vm_create(): mapped by the tests on their own. */
#define REMAP_GPA	0x300000ULL

static struct vm vm;

static unsigned int seed_from_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned int)(ts.tv_nsec ^ ts.tv_sec ^ getpid());
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t host_pfn(const void *addr);

static void probe_setup(struct vm *v, unsigned int cpu, uint64_t probe_gpa)
{
	vm_mode_long(v, cpu, VM_CODE);
	vm_state(v, cpu)->gprs[NVMM_X64_GPR_RBX] = probe_gpa;
	vm_state(v, cpu)->gprs[NVMM_X64_GPR_R12] = CMD_GPA;
	vm_set(v, cpu, NVMM_X64_STATE_GPRS);
}

/*
 * Run once without failing the test from this thread: returns the exit
 * reason, or NVMM_VCPU_EXIT_INVALID with *err set if the run failed. A
 * report (OUT to the report port) is taken, RIP advanced, and the value
 * stored in *val; the reason is then NVMM_VCPU_EXIT_IO.
 */
static uint64_t probe_run(struct vm *v, unsigned int cpu, uint32_t *val,
			  int *err)
{
	struct nvmm_vcpu *vcpu = &v->vcpu[cpu];
	const struct nvmm_vcpu_exit *exit = vcpu->exit;
	struct nvmm_x64_state *st = vcpu->state;

	*err = 0;
	if (nvmm_vcpu_run(&v->mach, vcpu) != 0) {
		*err = errno;
		return NVMM_VCPU_EXIT_INVALID;
	}
	if (exit->reason == NVMM_VCPU_EXIT_IO && !exit->u.io.in &&
	    exit->u.io.port == VM_PORT_REPORT) {
		/* The exit provides GPRS: both calls stay in the comm page. */
		if (nvmm_vcpu_getstate(&v->mach, vcpu, NVMM_X64_STATE_GPRS)) {
			*err = errno;
			return NVMM_VCPU_EXIT_INVALID;
		}
		*val = (uint32_t)st->gprs[NVMM_X64_GPR_RAX];
		st->gprs[NVMM_X64_GPR_RIP] = exit->u.io.npc;
		nvmm_vcpu_setstate(&v->mach, vcpu, NVMM_X64_STATE_GPRS);
	}
	return exit->reason;
}

/* Run (in the test's thread) until n reports were taken; they go to out. */
static void probe_reports(struct vm *v, unsigned int cpu, uint32_t *out,
			  unsigned int n)
{
	unsigned int got = 0;
	uint64_t reason;
	uint32_t val;
	int err;

	while (got < n) {
		reason = probe_run(v, cpu, &val, &err);
		ck_assert_msg(err == 0, "vcpu_run: %s", strerror(err));
		if (reason == NVMM_VCPU_EXIT_NONE)
			continue;
		ck_assert_msg(reason == NVMM_VCPU_EXIT_IO,
			      "exit %#" PRIx64 " while waiting for reports",
			      reason);
		out[got++] = val;
	}
}

/* Run until HLT, the reports ignored (the command was given). */
static void probe_until_halt(struct vm *v, unsigned int cpu)
{
	uint64_t reason;
	uint32_t val;
	unsigned int n = 0;
	int err;

	for (;;) {
		reason = probe_run(v, cpu, &val, &err);
		ck_assert_msg(err == 0, "vcpu_run: %s", strerror(err));
		if (reason == NVMM_VCPU_EXIT_HALTED)
			return;
		ck_assert_msg(reason == NVMM_VCPU_EXIT_IO ||
			      reason == NVMM_VCPU_EXIT_NONE,
			      "exit %#" PRIx64 " while waiting for HLT", reason);
		ck_assert_msg(++n < 100000, "the guest does not see the command "
			      "word the host wrote (%#x at gpa %#llx) after "
			      "%u reports: stale translation?",
			      *(volatile uint32_t *)(v->ram + CMD_GPA), CMD_GPA,
			      n);
	}
}

static void assert_no_leak(const struct emu_stats *before)
{
	struct emu_stats after;

	emu_stats(&after);
	ck_assert_msg(after.machines == before->machines &&
		      after.vcpus == before->vcpus,
		      "machines %ld -> %ld, vcpus %ld -> %ld", before->machines,
		      after.machines, before->vcpus, after.vcpus);
	ck_assert_msg(after.pages == before->pages, "the module holds %ld "
		      "pages after the machine was destroyed, %ld before it "
		      "was created: %ld pages leaked", after.pages,
		      before->pages, after.pages - before->pages);
	ck_assert_msg(after.guest_pages == before->guest_pages,
		      "guest_pages %ld after destroy, %ld before",
		      after.guest_pages, before->guest_pages);
}

/* -------------------------------------------------------------------------- */
/* Changes of the host mapping while the guest runs. */

enum race_op {
	RACE_MUNMAP,		/* the backing page goes away */
	RACE_REPLACE,		/* mmap(MAP_FIXED) puts a new page there */
	RACE_MREMAP,		/* the backing page moves elsewhere */
	RACE_DONTNEED,		/* madvise(MADV_DONTNEED): a fresh zero page */
};

#define RACE_ROUNDS		25
#define RACE_GOOD_AFTER		20	/* new-state reports that end a round */
#define RACE_MAX_REPORTS	400000

struct race {
	enum race_op op;
	uint8_t *page;		/* host page backing PROBE_GPA */
	uint8_t *spare;		/* where RACE_MREMAP moves it */
	int memfd;		/* what RACE_REPLACE maps */
	unsigned int delay_us;
	atomic_uint reports;	/* of this round, for the mutator to wait on */
	atomic_int done;	/* the change has returned */
	int op_ret, op_errno;
	uint64_t op_us;		/* how long the change took */
};

static void *race_mutator(void *arg)
{
	struct race *r = arg;
	uint64_t t0, deadline = now_us() + 10 * 1000000;
	void *p;

	/* Let the guest establish its translation first. */
	while (atomic_load(&r->reports) < 3 && now_us() < deadline)
		usleep(50);
	usleep(r->delay_us);
	t0 = now_us();
	switch (r->op) {
	case RACE_MUNMAP:
		r->op_ret = munmap(r->page, PAGE);
		break;
	case RACE_REPLACE:
		p = mmap(r->page, PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, r->memfd, 0);
		r->op_ret = p == r->page ? 0 : -1;
		break;
	case RACE_MREMAP:
		p = mremap(r->page, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
			   r->spare);
		r->op_ret = p == r->spare ? 0 : -1;
		break;
	case RACE_DONTNEED:
		r->op_ret = madvise(r->page, PAGE, MADV_DONTNEED);
		break;
	}
	r->op_errno = errno;
	r->op_us = now_us() - t0;
	atomic_store(&r->done, 1);
	return NULL;
}

/* A fresh private page at the probe's place, holding val. */
static void race_restore(struct race *r, uint32_t val)
{
	void *p = mmap(r->page, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	ck_assert_msg(p == r->page, "mmap: %s", strerror(errno));
	*(volatile uint32_t *)r->page = val;
}

static void race_test(enum race_op op, const char *what)
{
	static const char *const names[] = {
		"munmap", "mmap(MAP_FIXED)", "mremap", "madvise(DONTNEED)",
	};
	struct emu_stats before;
	struct race r;
	unsigned int seed = seed_from_time(), round;
	unsigned long total_before = 0, total_after = 0, mem_exits = 0;
	unsigned long max_op_us = 0;
	uint32_t newval = 0;

	emu_stats(&before);
	memset(&r, 0, sizeof(r));
	r.op = op;
	r.memfd = -1;
	ksft_print("%s: seed %u", what, seed);

	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_mm_probe");
	probe_setup(&vm, 0, PROBE_GPA);
	r.page = vm.ram + PROBE_GPA;
	if (op == RACE_MREMAP) {
		r.spare = mmap(NULL, PAGE, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ck_assert(r.spare != MAP_FAILED);
	}
	if (op == RACE_REPLACE) {
		r.memfd = memfd_create("nvmm-probe", MFD_CLOEXEC);
		ck_assert_int_ge(r.memfd, 0);
		ck_assert_int_eq(ftruncate(r.memfd, PAGE), 0);
	}

	for (round = 0; round < RACE_ROUNDS; round++) {
		uint32_t oldval = 0x0D000000 | round << 8;
		unsigned long n_before = 0, n_after = 0, good_after = 0;
		bool ended = false, seg_done;
		pthread_t t;

		newval = op == RACE_REPLACE ? 0x0E000000 | round << 8 : 0;
		if (op == RACE_REPLACE)
			ck_assert_int_eq(pwrite(r.memfd, &newval, 4, 0), 4);
		/* The host changes the page: the guest sees that too. */
		*(volatile uint32_t *)r.page = oldval;
		atomic_store(&r.reports, 0);
		atomic_store(&r.done, 0);
		r.delay_us = rand_r(&seed) % 4000;
		ck_assert_int_eq(pthread_create(&t, NULL, race_mutator, &r), 0);

		seg_done = atomic_load(&r.done);
		while (!ended) {
			uint32_t val = 0;
			uint64_t reason;
			int err;

			reason = probe_run(&vm, 0, &val, &err);
			if (err) {
				pthread_join(t, NULL);
				ck_abort_msg("round %u: vcpu_run: %s", round,
					     strerror(err));
			}
			switch (reason) {
			case NVMM_VCPU_EXIT_NONE:
				/* The segment goes on: the read may be done. */
				continue;
			case NVMM_VCPU_EXIT_IO:
				break;
			case NVMM_VCPU_EXIT_MEMORY:
				pthread_join(t, NULL);
				if (op == RACE_REPLACE || op == RACE_DONTNEED)
					ck_abort_msg("round %u: MEMORY exit at "
						     "%#" PRIx64 " after %s: the "
						     "page is mapped", round,
						     vm.vcpu[0].exit->u.mem.gpa,
						     names[op]);
				ck_assert_msg(vm.vcpu[0].exit->u.mem.gpa ==
					      PROBE_GPA, "round %u: MEMORY exit "
					      "at %#" PRIx64, round,
					      vm.vcpu[0].exit->u.mem.gpa);
				ck_assert_int_eq(vm.vcpu[0].exit->u.mem.prot,
						 NVMM_PROT_READ);
				mem_exits++;
				ended = true;
				continue;
			default:
				pthread_join(t, NULL);
				ck_abort_msg("round %u: exit %#" PRIx64, round,
					     reason);
			}

			/* A report: what was read in this segment. */
			atomic_fetch_add(&r.reports, 1);
			if (!seg_done) {
				n_before++;
				if (val != oldval && val != newval) {
					pthread_join(t, NULL);
					ck_abort_msg("round %u: the guest read "
						     "%#x, neither the old "
						     "%#x nor the new %#x",
						     round, val, oldval,
						     newval);
				}
			} else {
				n_after++;
				if (op == RACE_MUNMAP || op == RACE_MREMAP) {
					pthread_join(t, NULL);
					ck_abort_msg("round %u: after %s "
						     "returned, the guest "
						     "still read %#x (old "
						     "%#x) from the page "
						     "instead of a MEMORY "
						     "exit: stale "
						     "translation", round,
						     names[op], val, oldval);
				}
				if (val != newval) {
					pthread_join(t, NULL);
					ck_abort_msg("round %u: after %s "
						     "returned, the guest "
						     "read %#x, not the new "
						     "%#x (old %#x)%s", round,
						     names[op], val, newval,
						     oldval, val == oldval ?
						     ": stale translation" :
						     "");
				}
				if (++good_after >= RACE_GOOD_AFTER)
					ended = true;
			}
			if (n_before + n_after > RACE_MAX_REPORTS) {
				pthread_join(t, NULL);
				ck_abort_msg("round %u: %lu reports and the "
					     "round does not end (done %d)",
					     round, n_before + n_after,
					     atomic_load(&r.done));
			}
			seg_done = atomic_load(&r.done);
		}
		pthread_join(t, NULL);
		ck_assert_msg(r.op_ret == 0, "round %u: %s: %s", round,
			      names[op], strerror(r.op_errno));
		if (r.op_us > max_op_us)
			max_op_us = r.op_us;
		total_before += n_before;
		total_after += n_after;

		if (op == RACE_MREMAP)
			/* The page moved with its contents. */
			ck_assert_uint_eq(*(volatile uint32_t *)r.spare,
					  oldval);
		if (op == RACE_REPLACE)
			ck_assert_uint_eq(*(volatile uint32_t *)r.page,
					  newval);
		if (op != RACE_DONTNEED)
			race_restore(&r, 0);
	}
	ksft_print("%s: %u rounds, reports %lu before / %lu after the "
		   "change, %lu MEMORY exits, slowest change %lu us", what,
		   RACE_ROUNDS, total_before, total_after, mem_exits,
		   max_op_us);
	if (op == RACE_MUNMAP || op == RACE_MREMAP)
		ck_assert_uint_eq(mem_exits, RACE_ROUNDS);

	/* The guest writes after the change are the host's to see. */
	if (op == RACE_DONTNEED) {
		uint32_t rep[3];

		*(volatile uint32_t *)(vm.ram + CMD_GPA) = 0x600DF00D;
		probe_until_halt(&vm, 0);
		ck_assert_uint_eq(*(volatile uint32_t *)r.page, 0x600DF00D);
		*(volatile uint32_t *)(vm.ram + CMD_GPA) = 0;
		*(volatile uint32_t *)r.page = 0x5EED0001;
		probe_reports(&vm, 0, rep, 3);
		ck_assert_uint_eq(rep[2], 0x5EED0001);
	}
	vm_destroy(&vm);
	if (r.spare)
		munmap(r.spare, PAGE);
	if (r.memfd >= 0)
		close(r.memfd);
	assert_no_leak(&before);
}

START_TEST(munmap_while_running)
{
	race_test(RACE_MUNMAP, "munmap");
}
END_TEST

START_TEST(map_fixed_replace_while_running)
{
	race_test(RACE_REPLACE, "mmap(MAP_FIXED)");
}
END_TEST

START_TEST(mremap_while_running)
{
	race_test(RACE_MREMAP, "mremap");
}
END_TEST

START_TEST(madv_dontneed_while_running)
{
	race_test(RACE_DONTNEED, "madvise(MADV_DONTNEED)");
}
END_TEST

/* -------------------------------------------------------------------------- */
/* fork(): the parent's guest and the child do not share written pages. */

static void child_check(int rfd, int wfd, const volatile uint32_t *word,
			uint32_t expect, uint32_t write_val)
{
	char c;
	uint32_t seen;
	int ok;

	if (read(rfd, &c, 1) != 1)
		_exit(3);
	seen = *word;
	ok = seen == expect;
	*(volatile uint32_t *)word = write_val;
	if (write(wfd, &seen, sizeof(seen)) != sizeof(seen))
		_exit(3);
	/* Wait for the parent's last word before leaving. */
	if (read(rfd, &c, 1) != 1)
		_exit(3);
	_exit(ok ? 0 : 1);
}

START_TEST(fork_cow)
{
	volatile uint32_t *probe, *cmd;
	struct emu_stats before;
	int p2c[2], c2p[2], pid;
	uint32_t rep[4], seen;
	char c = 'x';
	unsigned int i;

	emu_stats(&before);
	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_mm_probe");
	probe_setup(&vm, 0, PROBE_GPA);
	probe = (volatile uint32_t *)(vm.ram + PROBE_GPA);
	cmd = (volatile uint32_t *)(vm.ram + CMD_GPA);

	/* 1. The guest writes A: its translation is writable now. */
	*cmd = 0xAAAA0001;
	probe_until_halt(&vm, 0);
	ck_assert_uint_eq(*probe, 0xAAAA0001);
	*cmd = 0;

	/* 2. fork; the guest writes B; the child must still see A. */
	ck_assert_int_eq(pipe(p2c), 0);
	ck_assert_int_eq(pipe(c2p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		child_check(p2c[0], c2p[1], probe, 0xAAAA0001, 0xCCCC0003);
	*cmd = 0xBBBB0002;
	probe_until_halt(&vm, 0);
	*cmd = 0;
	ck_assert_uint_eq(*probe, 0xBBBB0002);
	ck_assert_int_eq(write(p2c[1], &c, 1), 1);
	ck_assert_int_eq(read(c2p[0], &seen, sizeof(seen)), sizeof(seen));
	ck_assert_msg(seen == 0xAAAA0001, "the child sees %#x, not A "
		      "(0xaaaa0001): the guest wrote into the page shared "
		      "with the child after fork", seen);
	/* The child wrote C into its copy: not the parent's guest's. */
	probe_reports(&vm, 0, rep, 2);
	for (i = 0; i < 2; i++)
		ck_assert_msg(rep[i] == 0xBBBB0002, "guest read %#x, not B",
			      rep[i]);
	ck_assert_int_eq(write(p2c[1], &c, 1), 1);
	ck_assert_int_eq(emu_wait(pid), 0);
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);

	/*
	 * 3. The guest holds a read-only translation of a page shared with a
	 * second child; the host parent writes E (copy-on-write on the host
	 * side): the guest must see E, the child still B.
	 */
	ck_assert_int_eq(pipe(p2c), 0);
	ck_assert_int_eq(pipe(c2p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		child_check(p2c[0], c2p[1], probe, 0xBBBB0002, 0xCCCC0004);
	probe_reports(&vm, 0, rep, 2);		/* reads B: shared, RO */
	ck_assert_uint_eq(rep[1], 0xBBBB0002);
	*probe = 0xEEEE0005;
	probe_reports(&vm, 0, rep, 4);
	for (i = 0; i < 4; i++)
		ck_assert_msg(rep[i] == 0xEEEE0005, "after the host wrote E "
			      "(0xeeee0005) following fork, the guest read "
			      "%#x: stale translation", rep[i]);
	ck_assert_int_eq(write(p2c[1], &c, 1), 1);
	ck_assert_int_eq(read(c2p[0], &seen, sizeof(seen)), sizeof(seen));
	ck_assert_msg(seen == 0xBBBB0002, "the second child sees %#x, not B",
		      seen);
	ck_assert_int_eq(write(p2c[1], &c, 1), 1);
	ck_assert_int_eq(emu_wait(pid), 0);
	/* The guest's write after all this lands in the parent's page. */
	*cmd = 0xFFFF0006;
	probe_until_halt(&vm, 0);
	ck_assert_uint_eq(*probe, 0xFFFF0006);
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);
	vm_destroy(&vm);
	assert_no_leak(&before);
}
END_TEST

/* -------------------------------------------------------------------------- */
/* Write protection, KSM and page migration. */

/* mprotect(PROT_READ): the guest's writable translation goes with it. */
START_TEST(mprotect_readonly)
{
	volatile uint32_t *probe, *cmd;
	struct emu_stats before;
	uint64_t reason;
	uint32_t val;
	int err;

	emu_stats(&before);
	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_mm_probe");
	probe_setup(&vm, 0, PROBE_GPA);
	probe = (volatile uint32_t *)(vm.ram + PROBE_GPA);
	cmd = (volatile uint32_t *)(vm.ram + CMD_GPA);
	*cmd = 0xAAAA0001;
	probe_until_halt(&vm, 0);
	ck_assert_uint_eq(*probe, 0xAAAA0001);

	ck_assert_int_eq(mprotect((void *)probe, PAGE, PROT_READ), 0);
	*cmd = 0xBBBB0002;
	do {
		reason = probe_run(&vm, 0, &val, &err);
		ck_assert_int_eq(err, 0);
	} while (reason == NVMM_VCPU_EXIT_NONE ||
		 (reason == NVMM_VCPU_EXIT_IO && val == 0xAAAA0001));
	ck_assert_msg(reason == NVMM_VCPU_EXIT_MEMORY, "exit %#" PRIx64 " (the "
		      "page now holds %#x): the guest wrote to a page the host "
		      "made read-only", reason, *probe);
	ck_assert_uint_eq(vm.vcpu[0].exit->u.mem.gpa, PROBE_GPA);
	ck_assert_int_eq(vm.vcpu[0].exit->u.mem.prot, NVMM_PROT_WRITE);
	ck_assert_uint_eq(*probe, 0xAAAA0001);
	/* Writable again: the same write goes through. */
	ck_assert_int_eq(mprotect((void *)probe, PAGE, PROT_READ | PROT_WRITE),
			 0);
	probe_until_halt(&vm, 0);
	ck_assert_uint_eq(*probe, 0xBBBB0002);
	vm_destroy(&vm);
	assert_no_leak(&before);
}
END_TEST

static long sys_read_long(const char *path)
{
	long val = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%ld", &val) != 1)
			val = -1;
		fclose(f);
	}
	return val;
}

static int sys_write(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(val, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		ret = -1;
	return ret;
}

/* The page frame behind a host address, from /proc/self/pagemap (root). */
static uint64_t host_pfn(const void *addr)
{
	uint64_t ent = 0;
	FILE *f = fopen("/proc/self/pagemap", "r");

	ck_assert(f != NULL);
	ck_assert_int_eq(fseeko(f, (off_t)((uintptr_t)addr / PAGE * 8),
				SEEK_SET), 0);
	ck_assert_int_eq(fread(&ent, 8, 1, f), 1);
	fclose(f);
	if (!(ent & (1ULL << 63)))
		return 0;
	return ent & ((1ULL << 55) - 1);
}

#define KSM	"/sys/kernel/mm/ksm/"

/*
 * KSM merges two identical guest pages into one write-protected page; a
 * guest write afterwards must copy, not write into the shared page.
 */
START_TEST(ksm_merge_then_guest_write)
{
	volatile uint32_t *p0, *p1;
	struct emu_stats before;
	uint8_t *pg;
	uint32_t rep[2];
	uint64_t deadline, pfn0, pfn1;
	long sharing = 0;
	char *cmdw;

	if (access(KSM "run", W_OK) != 0)
		ksft_skip("no KSM (" KSM "run)");
	emu_stats(&before);
	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_mm_probe");
	pg = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(pg != MAP_FAILED);
	memset(pg, 0x5A, 2 * PAGE);
	p0 = (volatile uint32_t *)pg;
	p1 = (volatile uint32_t *)(pg + PAGE);
	*p0 = *p1 = 0x600D600D;
	ck_assert_int_eq(nvmm_hva_map(&vm.mach, (uintptr_t)pg, 2 * PAGE), 0);
	ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)pg, REMAP_GPA,
				      2 * PAGE, PROT_READ | PROT_WRITE), 0);
	/* The guest maps page 0 writable: it writes it once. */
	probe_setup(&vm, 0, REMAP_GPA);
	cmdw = (char *)(vm.ram + CMD_GPA);
	*(volatile uint32_t *)cmdw = 0x600D600D;
	probe_until_halt(&vm, 0);
	*(volatile uint32_t *)cmdw = 0;
	probe_reports(&vm, 0, rep, 2);
	ck_assert_uint_eq(rep[1], 0x600D600D);

	ck_assert_int_eq(madvise(pg, 2 * PAGE, MADV_MERGEABLE), 0);
	sys_write(KSM "sleep_millisecs", "10");
	ck_assert_int_eq(sys_write(KSM "run", "1"), 0);
	deadline = now_us() + 20 * 1000000;
	do {
		usleep(20 * 1000);
		pfn0 = host_pfn(pg);
		pfn1 = host_pfn(pg + PAGE);
		sharing = sys_read_long(KSM "pages_sharing");
	} while (!(pfn0 && pfn0 == pfn1) && now_us() < deadline);
	ksft_print("KSM: pages_sharing %ld, pfns %#" PRIx64 " %#" PRIx64,
		   sharing, pfn0, pfn1);
	if (!(pfn0 && pfn0 == pfn1)) {
		sys_write(KSM "run", "2");
		ksft_skip("KSM did not merge the pages in 20 s");
	}

	/* The guest writes page 0: a copy for it; page 1 keeps its data. */
	*(volatile uint32_t *)cmdw = 0xB0B0B0B0;
	probe_until_halt(&vm, 0);
	*(volatile uint32_t *)cmdw = 0;
	ck_assert_msg(*p0 == 0xB0B0B0B0, "the host sees %#x in page 0 after "
		      "the guest wrote 0xb0b0b0b0: the guest wrote to a page "
		      "KSM had replaced", *p0);
	ck_assert_msg(*p1 == 0x600D600D, "page 1 holds %#x: the guest's write "
		      "went into the merged page", *p1);
	ck_assert(host_pfn(pg) != host_pfn(pg + PAGE));
	/* And the guest reads what the host has. */
	*p0 = 0x0C0C0C0C;
	probe_reports(&vm, 0, rep, 2);
	ck_assert_uint_eq(rep[1], 0x0C0C0C0C);
	sys_write(KSM "run", "2");		/* unmerge everything */
	vm_destroy(&vm);
	munmap(pg, 2 * PAGE);
	assert_no_leak(&before);
}
END_TEST

/*
 * Pages moved under the guest, as migration moves them: the contents go to
 * new frames and the old ones are freed (or retired). The guest must
 * follow, both ways. Two ways of moving them here:
 *   - MADV_COLLAPSE puts the 4 KiB pages of a 2 MiB range into a new huge
 *     page (a copy, as khugepaged makes);
 *   - MADV_SOFT_OFFLINE migrates each page to a new frame and retires the
 *     old one (the kernel's migrate_pages(), as NUMA balancing, compaction
 *     and memory offlining use; the emulated hosts have one NUMA node).
 */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif
#define COL_PAGES	200
#define COL_GPA		0x10000000ULL
#define COL_SIZE	(2 * MIB)
/* Soft-offlined frames are gone for good: a few are enough. */
#define OFFLINE_PAGES	16

/* Move npages pages at col to new frames; 0, or an errno to skip on. */
static int move_by_collapse(uint8_t *col, unsigned int npages)
{
	(void)npages;
	ck_assert_int_eq(madvise(col, COL_SIZE, MADV_HUGEPAGE), 0);
	return madvise(col, COL_SIZE, MADV_COLLAPSE) == 0 ? 0 : errno;
}

/*
 * A page still in a CPU's LRU batch cannot be isolated (EBUSY, seen on the
 * Bochs lanes now and then): mlock() drains every CPU's batch; try again.
 */
#define OFFLINE_TRIES	20

static int move_by_soft_offline(uint8_t *col, unsigned int npages)
{
	for (unsigned int i = 0; i < npages; i++) {
		int tries = 0;

		while (madvise(col + i * PAGE, PAGE, MADV_SOFT_OFFLINE) != 0) {
			if (errno != EBUSY || ++tries == OFFLINE_TRIES)
				return errno;
			ksft_print("page %u: EBUSY, again", i);
			ck_assert_int_eq(mlock(col + i * PAGE, PAGE), 0);
			ck_assert_int_eq(munlock(col + i * PAGE, PAGE), 0);
			usleep(10 * 1000);
		}
	}
	return 0;
}

static void pages_moved_under_guest(const char *how, unsigned int npages,
				    int (*move)(uint8_t *, unsigned int))
{
	struct emu_stats before;
	uint64_t pfn[COL_PAGES];
	uint32_t expect[2 * COL_PAGES];
	unsigned int i, moved = 0;
	uint8_t *raw, *col;
	int err;

	emu_stats(&before);
	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_touch");
	vm_mode_long(&vm, 0, VM_CODE);
	raw = mmap(NULL, 2 * COL_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(raw != MAP_FAILED);
	col = (uint8_t *)(((uintptr_t)raw + COL_SIZE - 1) & ~(COL_SIZE - 1));
	ck_assert_int_eq(madvise(col, COL_SIZE, MADV_NOHUGEPAGE), 0);
	ck_assert_int_eq(nvmm_hva_map(&vm.mach, (uintptr_t)col, COL_SIZE), 0);
	ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)col, COL_GPA,
				      COL_SIZE, PROT_READ | PROT_WRITE), 0);
	for (i = 0; i < npages; i++) {
		uint64_t *ent = (uint64_t *)(vm.ram + DATA_BASE + i * 16);

		ent[0] = COL_GPA + i * PAGE;
		ent[1] = 0xB0000000 | i;
		*(uint32_t *)(col + i * PAGE) = 0xA0000000 | i;
		expect[2 * i] = 0xA0000000 | i;
		expect[2 * i + 1] = 0xB0000000 | i;
	}
	*(uint64_t *)(vm.ram + DATA_BASE + npages * 16) = 0;
	vm_run_expect(&vm, 0, expect, 2 * npages);
	for (i = 0; i < npages; i++)
		pfn[i] = host_pfn(col + i * PAGE);

	/* The guest holds writable translations of all of them now. */
	err = move(col, npages);
	if (err != 0) {
		vm_destroy(&vm);
		munmap(raw, 2 * COL_SIZE);
		ksft_skip("%s: %s", how, strerror(err));
	}
	for (i = 0; i < npages; i++)
		moved += host_pfn(col + i * PAGE) != pfn[i];
	ksft_print("%s moved %u of %u guest pages", how, moved, npages);
	ck_assert_uint_eq(moved, npages);

	/* The host writes through the new frames; the guest reads them,
	 * and its writes are the host's to see. */
	for (i = 0; i < npages; i++) {
		uint64_t *ent = (uint64_t *)(vm.ram + DATA_BASE + i * 16);

		ck_assert_uint_eq(*(uint32_t *)(col + i * PAGE + 4),
				  0xB0000000 | i);
		ent[1] = 0xD0000000 | i;
		*(uint32_t *)(col + i * PAGE) = 0xC0000000 | i;
		expect[2 * i] = 0xC0000000 | i;
		expect[2 * i + 1] = 0xD0000000 | i;
	}
	vm.nreports[0] = 0;
	vm_get(&vm, 0, NVMM_X64_STATE_GPRS);
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RIP] = VM_CODE;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
	ck_assert_uint_eq(vm_run(&vm, 0), NVMM_VCPU_EXIT_HALTED);
	ck_assert_uint_eq(vm.nreports[0], 2 * npages);
	for (i = 0; i < npages; i++) {
		ck_assert_msg(vm.reports[0][2 * i] == expect[2 * i], "page %u: "
			      "the guest read %#x, the host wrote %#x after %s: "
			      "stale translation to the old page", i,
			      vm.reports[0][2 * i], expect[2 * i], how);
		ck_assert_msg(*(uint32_t *)(col + i * PAGE + 4) ==
			      expect[2 * i + 1], "page %u: the host sees %#x, "
			      "the guest wrote %#x", i,
			      *(uint32_t *)(col + i * PAGE + 4),
			      expect[2 * i + 1]);
	}
	vm_destroy(&vm);
	munmap(raw, 2 * COL_SIZE);
	assert_no_leak(&before);
}

START_TEST(thp_collapse_copies_pages)
{
	pages_moved_under_guest("MADV_COLLAPSE", COL_PAGES, move_by_collapse);
}
END_TEST

START_TEST(migration_moves_pages)
{
	pages_moved_under_guest("MADV_SOFT_OFFLINE", OFFLINE_PAGES,
				move_by_soft_offline);
}
END_TEST

/* -------------------------------------------------------------------------- */
/*
 * Swap-out under the guest. MADV_PAGEOUT writes anonymous pages to swap and
 * frees their frames; the notifier must take the guest's translations away
 * first, so that the guest faults the pages back in from swap instead of
 * using the freed frames. The emulated hosts have no swap: the test makes a
 * zram swap (tools/emuhost packs zram.ko unloaded) and removes it after.
 *
 * A guest (long_mm_sweep.S) sweeps a gpa-mapped region, reporting the
 * word the host wrote in each page and, in write sweeps, writing and
 * reading back a word of its own. Each round: the host checks what the
 * guest wrote before the last swap-out and writes new words (both swap the
 * pages in); a sweep; MADV_PAGEOUT with the VCPU stopped (the pages must
 * really be in swap: pagemap, VmSwap; nvmm's guest_pages must drop by at
 * least as many: the notifier zapped their translations); other memory
 * takes the freed frames, the host writes new words, a sweep must see
 * them; sweeps while another thread keeps pushing the pages out; a sweep
 * and a last MADV_PAGEOUT.
 */
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif
#define SWAP_GPA	REMAP_GPA
#define SWAP_ZRAM_ORDER	"/nvmm/kmods/zram-order"
#define SWAP_ZRAM_SIZE	"32M"
/* The host's words (k: first or second of a round) and the guest's. */
#define SWAP_HOST(r, k, i)	(0x50000000u | (r) << 16 | (k) << 12 | (i))
#define SWAP_GUEST(r, s)	(0x60000000u | (r) << 16 | (s) << 12)
/* What other memory puts in the frames the pages leave. */
#define SWAP_OTHER(j)		(0x7E000000u | (j))
#define PM_PRESENT	(1ULL << 63)
#define PM_SWAPPED	(1ULL << 62)
#define PM_PFN		((1ULL << 55) - 1)

/* A "Key: N kB" field of /proc/self/status, or -1. */
static long proc_status_kb(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long val = -1;
	FILE *f = fopen("/proc/self/status", "r");

	ck_assert(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, len) == 0 && line[len] == ':') {
			val = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	ck_assert_msg(val >= 0, "no %s in /proc/self/status", key);
	return val;
}

/* A counter of /proc/vmstat. */
static long vmstat_read(const char *key)
{
	char name[64];
	long val, ret = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	ck_assert(f != NULL);
	while (fscanf(f, "%63s %ld", name, &val) == 2)
		if (strcmp(name, key) == 0) {
			ret = val;
			break;
		}
	fclose(f);
	ck_assert_msg(ret >= 0, "no %s in /proc/vmstat", key);
	return ret;
}

struct swap_run {
	uint8_t *region;
	unsigned int pages;
	int pagemap;
	/* The thread pushing the pages out while the guest sweeps. */
	pthread_t thread;
	bool running;
	atomic_int stop;
	atomic_uint calls;
	atomic_ulong seen;	/* pages it found in swap after its calls */
	int err;
	unsigned int seed;
	/* Totals. */
	unsigned long sweeps, reports, sync_swapped, sync_pages;
	long vmswap_max;
};

/* Pages of the region present and in swap (pagemap); -1 on error. */
static int swap_scan(struct swap_run *sr, uint64_t *pfn, unsigned int *present,
		     unsigned int *swapped)
{
	uint64_t ent[256];
	size_t len = sr->pages * sizeof(ent[0]);
	unsigned int i;

	if (sr->pages > 256 ||
	    pread(sr->pagemap, ent, len, (off_t)((uintptr_t)sr->region /
						 PAGE * 8)) != (ssize_t)len)
		return -1;
	*present = *swapped = 0;
	for (i = 0; i < sr->pages; i++) {
		*present += !!(ent[i] & PM_PRESENT);
		*swapped += !!(ent[i] & PM_SWAPPED);
		if (pfn)
			pfn[i] = ent[i] & PM_PRESENT ? ent[i] & PM_PFN : 0;
	}
	return 0;
}

static void *swap_mutator(void *arg)
{
	struct swap_run *sr = arg;
	unsigned int present, swapped;

	while (!atomic_load(&sr->stop)) {
		if (madvise(sr->region, sr->pages * PAGE, MADV_PAGEOUT) != 0) {
			sr->err = errno;
			break;
		}
		if (swap_scan(sr, NULL, &present, &swapped) == 0)
			atomic_fetch_add(&sr->seen, swapped);
		atomic_fetch_add(&sr->calls, 1);
		usleep(rand_r(&sr->seed) % 500);
	}
	return NULL;
}

static void swap_mutator_stop(struct swap_run *sr)
{
	if (!sr->running)
		return;
	atomic_store(&sr->stop, 1);
	pthread_join(sr->thread, NULL);
	sr->running = false;
}

static void swap_mutator_start(struct swap_run *sr)
{
	unsigned int calls = atomic_load(&sr->calls);
	uint64_t deadline = now_us() + 20 * 1000000;

	atomic_store(&sr->stop, 0);
	ck_assert_int_eq(pthread_create(&sr->thread, NULL, swap_mutator, sr),
			 0);
	sr->running = true;
	/* The guest starts on pages already pushed out. */
	while (atomic_load(&sr->calls) == calls && sr->err == 0 &&
	       now_us() < deadline)
		usleep(100);
	ck_assert_msg(sr->err == 0, "MADV_PAGEOUT: %s", strerror(sr->err));
}

/* Fail the test, the mutator stopped first. */
static void swap_fail(struct swap_run *sr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void swap_fail(struct swap_run *sr, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	swap_mutator_stop(sr);
	ck_abort_msg("%s", msg);
}

/* What a wrong word read by the guest is, for the message. */
static const char *swap_why(uint32_t val, uint32_t expect)
{
	if ((val & 0xF0000FFF) == (expect & 0xF0000FFF))
		return ": an older word of this page, stale translation";
	if ((val & 0xF0000000) == 0x50000000 ||
	    (val & 0xF0000000) == 0x60000000)
		return ": another page's word, stale translation to a "
		       "reused frame";
	if ((val & 0xFF000000) == 0x7E000000)
		return ": other memory's word, stale translation to the "
		       "frame the page left for swap";
	if (val == 0)
		return ": zero, as in a freed frame: stale translation?";
	return "";
}

/*
 * One sweep: the guest reports, for every page, SWAP_HOST(round, k, i)
 * and, if gbase, gbase + i written and read back. Checked as they come:
 * the first wrong word ends the test before the guest goes on.
 */
static void swap_sweep(struct swap_run *sr, unsigned int round,
		       unsigned int k, uint32_t gbase, const char *when)
{
	unsigned int i = 0;
	bool readback = false;

	vm_get(&vm, 0, NVMM_X64_STATE_GPRS);
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_R8] = gbase;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
	for (;;) {
		uint32_t val = 0, expect;
		uint64_t reason;
		int err;

		reason = probe_run(&vm, 0, &val, &err);
		if (err)
			swap_fail(sr, "round %u, %s: vcpu_run: %s", round,
				  when, strerror(err));
		if (reason == NVMM_VCPU_EXIT_NONE)
			continue;
		if (reason == NVMM_VCPU_EXIT_HALTED)
			break;
		if (reason == NVMM_VCPU_EXIT_MEMORY)
			swap_fail(sr, "round %u, %s: MEMORY exit at gpa %#"
				  PRIx64 ": the page did not come back from "
				  "swap", round, when,
				  vm.vcpu[0].exit->u.mem.gpa);
		if (reason != NVMM_VCPU_EXIT_IO)
			swap_fail(sr, "round %u, %s: exit %#" PRIx64, round,
				  when, reason);
		if (i >= sr->pages)
			swap_fail(sr, "round %u, %s: a report after the last "
				  "page", round, when);
		sr->reports++;
		if (readback) {
			expect = gbase + i;
			if (val != expect)
				swap_fail(sr, "round %u, %s: page %u (gpa "
					  "%#llx): the guest wrote %#x and "
					  "read back %#x%s", round, when, i,
					  SWAP_GPA + i * PAGE, expect, val,
					  swap_why(val, expect));
			readback = false;
			i++;
			continue;
		}
		expect = SWAP_HOST(round, k, i);
		if (val != expect)
			swap_fail(sr, "round %u, %s: page %u (gpa %#llx): the "
				  "guest read %#x, the host wrote %#x%s", round,
				  when, i, SWAP_GPA + i * PAGE, val, expect,
				  swap_why(val, expect));
		if (gbase)
			readback = true;
		else
			i++;
	}
	if (i != sr->pages || readback)
		swap_fail(sr, "round %u, %s: HLT after %u of %u pages", round,
			  when, i, sr->pages);
	sr->sweeps++;
}

/*
 * The host's turn, the VCPU stopped, the pages in swap: the guest's last
 * words (glast + i, or 0 before it wrote any) must have come back; then
 * new words SWAP_HOST(round, 0, i). Even pages come in on the host's read,
 * odd ones on its write.
 */
static void swap_host_check(struct swap_run *sr, unsigned int round,
			    unsigned int i, uint32_t glast)
{
	uint32_t expect = glast ? glast + i : 0;
	uint32_t val = *(volatile uint32_t *)(sr->region + i * PAGE + 4);

	ck_assert_msg(val == expect, "before round %u: page %u came back from "
		      "swap with %#x where the guest had written %#x: the "
		      "guest's write did not reach the page that went to "
		      "swap%s", round, i, val, expect,
		      glast && val == expect - 0x1000 ? " (it holds the "
		      "guest's word of the sweep before)" : "");
}

static void swap_host_pass(struct swap_run *sr, unsigned int round,
			   uint32_t glast)
{
	unsigned int i;

	for (i = 0; i < sr->pages; i += 2)
		swap_host_check(sr, round, i, glast);
	for (i = 0; i < sr->pages; i++)
		*(volatile uint32_t *)(sr->region + i * PAGE) =
			SWAP_HOST(round, 0, i);
	for (i = 1; i < sr->pages; i += 2)
		swap_host_check(sr, round, i, glast);
}

struct swap_sync {
	long g0, g1;
	unsigned int swapped;
	uint64_t pfn[256];
};

/*
 * MADV_PAGEOUT with the VCPU stopped, after a sweep: every page is mapped
 * in the host and in the guest. The pages must really have gone to swap.
 */
static void swap_sync_pageout(struct swap_run *sr, struct swap_sync *ss,
			      unsigned int round)
{
	struct emu_stats st;
	unsigned int present, swapped;
	long vmswap;

	ck_assert_int_eq(swap_scan(sr, ss->pfn, &present, &swapped), 0);
	ck_assert_msg(present == sr->pages, "round %u: %u of %u pages present "
		      "after the guest's sweep", round, present, sr->pages);
	emu_stats(&st);
	ss->g0 = st.guest_pages;
	ck_assert_msg(madvise(sr->region, sr->pages * PAGE, MADV_PAGEOUT) == 0,
		      "MADV_PAGEOUT: %s", strerror(errno));
	emu_stats(&st);
	ss->g1 = st.guest_pages;
	ck_assert_int_eq(swap_scan(sr, NULL, &present, &swapped), 0);
	vmswap = proc_status_kb("VmSwap");
	ck_assert_msg(swapped > 0, "round %u: MADV_PAGEOUT put none of the %u "
		      "pages in swap (%u still present, VmSwap %ld kB): "
		      "nothing would be tested", round, sr->pages, present,
		      vmswap);
	ck_assert_msg(vmswap >= (long)(swapped * PAGE / KIB), "round %u: %u "
		      "pages in swap by pagemap, VmSwap %ld kB", round,
		      swapped, vmswap);
	ss->swapped = swapped;
	sr->sync_swapped += swapped;
	sr->sync_pages += sr->pages;
	if (vmswap > sr->vmswap_max)
		sr->vmswap_max = vmswap;
}

/*
 * The translations of the pages that went to swap are gone: each had one
 * (the sweep before) and the notifier zaps it as the page is unmapped.
 */
static void swap_check_zapped(const struct swap_sync *ss, unsigned int round)
{
	ck_assert_msg(ss->g0 - ss->g1 >= (long)ss->swapped, "round %u: %u "
		      "guest-mapped pages went to swap, but guest_pages went "
		      "only %ld -> %ld: the MMU notifier left their "
		      "translations in the nested page table", round,
		      ss->swapped, ss->g0, ss->g1);
}

static bool swap_active(void)
{
	return emu_meminfo("SwapTotal") > 0;
}

struct swap_dev {
	bool ours;		/* a zram swap set up by the test */
	bool zram_loaded;	/* and its module loaded by the test */
	char teardown[256];	/* the shell command that removes them */
};

/*
 * Swap for the test: the host's if it has some, else a zram swap. Skips if
 * there is no way to get swap.
 */
static void swap_setup(struct swap_dev *sd)
{
	char mods[4][64], setup[512];
	bool loaded[4];
	unsigned int n = 0, i;
	size_t len, tlen;
	int ret;
	FILE *f;

	memset(sd, 0, sizeof(*sd));
	if (swap_active()) {
		ksft_print("the host has swap: used as it is");
		return;
	}
	f = fopen(SWAP_ZRAM_ORDER, "r");
	if (!f)
		ksft_skip("no swap, and no zram module (%s)", SWAP_ZRAM_ORDER);
	while (n < 4 && fscanf(f, "%63s", mods[n]) == 1) {
		char path[128] = "/sys/module/";

		strcat(path, mods[n]);
		/* Built in, or loaded for zswap: left alone. */
		loaded[n++] = access(path, F_OK) == 0;
	}
	fclose(f);
	ck_assert_uint_gt(n, 0);
	if (access("/sys/module/zram", F_OK) == 0)
		ksft_skip("no swap, and zram is loaded already: not ours to "
			  "set up");

	/* Load what is not loaded; remove that afterwards, in reverse. */
	len = (size_t)snprintf(setup, sizeof(setup), "set -e;");
	tlen = (size_t)snprintf(sd->teardown, sizeof(sd->teardown),
				"swapoff /dev/zram0; echo 1 "
				">/sys/block/zram0/reset");
	for (i = 0; i < n; i++)
		if (!loaded[i])
			len += (size_t)snprintf(setup + len,
						sizeof(setup) - len,
						" insmod /nvmm/kmods/%s.ko;",
						mods[i]);
	for (i = n; i-- > 0;) {
		if (loaded[i])
			continue;
		tlen += (size_t)snprintf(sd->teardown + tlen,
					 sizeof(sd->teardown) - tlen,
					 "; rmmod %s", mods[i]);
		if (strcmp(mods[i], "zram") == 0)
			sd->zram_loaded = true;
	}
	len += (size_t)snprintf(setup + len, sizeof(setup) - len,
				" echo %s >/sys/block/zram0/disksize; mkswap "
				"/dev/zram0 >/dev/null; swapon /dev/zram0",
				SWAP_ZRAM_SIZE);
	ck_assert_uint_lt(len, sizeof(setup));
	ck_assert_uint_lt(tlen, sizeof(sd->teardown));
	sd->ours = true;
	ret = system(setup);
	if (ret != 0) {
		if (system(sd->teardown) != 0)
			ksft_print("and its teardown failed");
		ck_abort_msg("zram swap setup failed (status %#x): %s", ret,
			     setup);
	}
	ck_assert_msg(swap_active(), "swapon /dev/zram0 done, but SwapTotal "
		      "is 0");
	ksft_print("zram swap of %s on /dev/zram0", SWAP_ZRAM_SIZE);
}

/* Remove the zram swap: the host is as before the test. */
static void swap_teardown(struct swap_dev *sd)
{
	int ret;

	if (!sd->ours)
		return;
	ret = system(sd->teardown);
	ck_assert_msg(ret == 0, "swap teardown failed (status %#x): %s", ret,
		      sd->teardown);
	ck_assert_msg(!swap_active(), "swap still on after: %s", sd->teardown);
	ck_assert_msg(!sd->zram_loaded || access("/sys/module/zram", F_OK) != 0,
		      "zram still loaded after: %s", sd->teardown);
}

/* Wait for a child up to timeout_s, else kill it: its status, or -1. */
static int swap_wait(pid_t pid, unsigned int timeout_s)
{
	uint64_t deadline = now_us() + timeout_s * 1000000ULL;
	int status;
	pid_t w;

	while ((w = waitpid(pid, &status, WNOHANG)) == 0 &&
	       now_us() < deadline)
		usleep(10 * 1000);
	if (w == 0) {
		kill(pid, SIGKILL);
		emu_wait(pid);
		return -1;
	}
	ck_assert_int_eq(w, pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) :
		128 + WTERMSIG(status);
}

/* The test proper, in a process of its own (see swap_out_while_running). */
static void swap_body(void)
{
	const bool bochs = emu_lane_bochs_svm();
	/* Bochs is ~50 times slower: fewer pages, rounds and sweeps. */
	const unsigned int pages = bochs ? 32 : 64;
	const unsigned int rounds = bochs ? 2 : 8;
	const unsigned int sweeps = bochs ? 2 : 4;	/* read, write each */
	struct swap_run sr;
	struct swap_sync ss;
	struct emu_stats before;
	uint64_t t0 = now_us();
	uint32_t glast = 0;
	unsigned int r, s, i, moved = 0;
	long pswpout0, pswpout1;
	uint8_t *other;

	memset(&sr, 0, sizeof(sr));
	sr.pages = pages;
	sr.seed = seed_from_time();
	ksft_print("seed %u, %u pages, %u rounds", sr.seed, pages, rounds);
	pswpout0 = vmstat_read("pswpout");

	emu_stats(&before);
	sr.pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(sr.pagemap, 0);
	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_mm_sweep");
	vm_mode_long(&vm, 0, VM_CODE);
	sr.region = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(sr.region != MAP_FAILED);
	ck_assert_int_eq(madvise(sr.region, pages * PAGE, MADV_NOHUGEPAGE), 0);
	ck_assert_int_eq(nvmm_hva_map(&vm.mach, (uintptr_t)sr.region,
				      pages * PAGE), 0);
	ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)sr.region, SWAP_GPA,
				      pages * PAGE, PROT_READ | PROT_WRITE), 0);
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RSI] = SWAP_GPA;
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RDI] = SWAP_GPA + pages * PAGE;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);

	for (r = 1; r <= rounds; r++) {
		uint64_t pfn[256];
		unsigned int present, swapped;

		/* In from swap (but round 1): the guest's words, new ones. */
		swap_host_pass(&sr, r, glast);
		swap_sweep(&sr, r, 0, 0, "first sweep");

		/*
		 * Out to swap; other memory takes the frames the pages left
		 * (else the allocator would give them back to the same
		 * pages); the host writes new words. The guest must read
		 * those, not what is in the frames now.
		 */
		swap_sync_pageout(&sr, &ss, r);
		other = mmap(NULL, 2 * pages * PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ck_assert(other != MAP_FAILED);
		for (i = 0; i < 2 * pages; i++) {
			((uint32_t *)(other + i * PAGE))[0] = SWAP_OTHER(i);
			((uint32_t *)(other + i * PAGE))[1] = SWAP_OTHER(i);
		}
		for (i = 0; i < pages; i++)
			*(volatile uint32_t *)(sr.region + i * PAGE) =
				SWAP_HOST(r, 1, i);
		ck_assert_int_eq(swap_scan(&sr, pfn, &present, &swapped), 0);
		for (i = 0; i < pages; i++)
			moved += pfn[i] != ss.pfn[i];
		swap_sweep(&sr, r, 1, 0, "sweep after swap-out and host "
			   "writes");
		munmap(other, 2 * pages * PAGE);
		/* Checked after that sweep: a stale read is named first. */
		swap_check_zapped(&ss, r);

		/* The guest reads, then writes, while pushed out. */
		swap_mutator_start(&sr);
		for (s = 0; s < 2 * sweeps; s++) {
			uint32_t gbase = s < sweeps ? 0 : SWAP_GUEST(r, s);

			swap_sweep(&sr, r, 1, gbase, gbase ? "write sweep "
				   "while pushed out" : "read sweep while "
				   "pushed out");
			if (gbase)
				glast = gbase;
		}
		swap_mutator_stop(&sr);
		ck_assert_msg(sr.err == 0, "MADV_PAGEOUT: %s",
			      strerror(sr.err));

		/* Out with the guest's words, checked by the next pass. */
		swap_sweep(&sr, r, 1, 0, "sweep before the last swap-out");
		swap_sync_pageout(&sr, &ss, r);
		swap_check_zapped(&ss, r);
	}
	swap_host_pass(&sr, r, glast);
	swap_sweep(&sr, r, 0, 0, "last sweep");
	pswpout1 = vmstat_read("pswpout");

	ksft_print("%lu sweeps, %lu reports; stopped-VCPU MADV_PAGEOUT put %lu "
		   "of %lu pages in swap (VmSwap up to %ld kB), %u of %u pages "
		   "back in other frames; concurrent: %u MADV_PAGEOUT, %lu "
		   "pages seen in swap; pswpout +%ld; %.1f s",
		   sr.sweeps, sr.reports, sr.sync_swapped,
		   sr.sync_pages, sr.vmswap_max, moved, rounds * pages,
		   atomic_load(&sr.calls), atomic_load(&sr.seen),
		   pswpout1 - pswpout0, (double)(now_us() - t0) / 1e6);
	ck_assert_msg(pswpout1 > pswpout0, "pswpout %ld -> %ld: nothing was "
		      "written to swap", pswpout0, pswpout1);
	ck_assert_msg(atomic_load(&sr.seen) > 0, "the concurrent MADV_PAGEOUT "
		      "never found a page in swap");

	vm_destroy(&vm);
	munmap(sr.region, pages * PAGE);
	close(sr.pagemap);
	assert_no_leak(&before);
}

/*
 * The swap is set up and removed by the test's process; the rest runs in
 * a child, so that the swap goes also when an assertion ends that child
 * (Check's failures _exit()) or it hangs.
 */
START_TEST(swap_out_while_running)
{
	struct swap_dev sd;
	void *probe;
	pid_t pid;
	int status;

	/* MADV_PAGEOUT known (Linux 5.4)? Without swap it does nothing. */
	probe = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(probe != MAP_FAILED);
	*(volatile char *)probe = 1;
	if (madvise(probe, PAGE, MADV_PAGEOUT) != 0)
		ksft_skip("MADV_PAGEOUT: %s", strerror(errno));
	munmap(probe, PAGE);

	swap_setup(&sd);
	fflush(stdout);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		swap_body();
		_exit(0);
	}
	status = swap_wait(pid, 200);
	swap_teardown(&sd);
	ck_assert_msg(status != -1, "the test did not end in 200 s: killed");
	/* An assertion failed there: its message is the test's. */
	if (status == 1)
		_exit(1);
	ck_assert_msg(status == 0, "the test's process ended with status %d",
		      status);
}
END_TEST

/* -------------------------------------------------------------------------- */
/* 128 GiB of guest-physical space. */

#define BIG_RAM		(128 * GIB)
#define BIG_PT		0x80000ULL	/* PML4, PDPT, 3 PDs */

START_TEST(guest_physical_128g)
{
	struct nvmm_capability cap;
	struct emu_stats before, during;
	uint64_t *pml4, *pdpt, *pd, extra;
	long free_before, free_during;
	uint8_t *more;
	unsigned int i, j;
	static const struct {
		uint64_t gpa;
		bool host_writes;	/* else never touched by the host */
	} spots[] = {
		{ 0x200000, true },
		{ 64 * GIB, true },
		{ 64 * GIB + 4 * MIB - PAGE, false },
		{ 127 * GIB + 0x12345000, false },
		{ BIG_RAM - PAGE, true },
	};
	const unsigned int nspots = sizeof(spots) / sizeof(spots[0]);
	uint32_t expect[2 * 5];

	ck_assert_int_eq(nvmm_init(), 0);
	ck_assert_int_eq(nvmm_capability(&cap), 0);
	ksft_print("max_ram %" PRIu64 " GiB", cap.max_ram / GIB);
	ck_assert_msg(cap.max_ram >= BIG_RAM, "max_ram %" PRIu64 " < 128 GiB",
		      cap.max_ram);
	emu_stats(&before);
	free_before = emu_meminfo("MemFree");

	vm_create(&vm, BIG_RAM);
	vm_load(&vm, "long_touch");
	vm_mode_long(&vm, 0, VM_CODE);

	/* Page tables: 0-1 GiB, 64-65 GiB and 127-128 GiB, 2 MiB pages. */
	pml4 = (uint64_t *)(vm.ram + BIG_PT);
	pdpt = (uint64_t *)(vm.ram + BIG_PT + 0x1000);
	memset(pml4, 0, 5 * PAGE);
	pml4[0] = (BIG_PT + 0x1000) | 0x7;
	static const unsigned int gibs[] = { 0, 64, 127 };
	for (i = 0; i < 3; i++) {
		pd = (uint64_t *)(vm.ram + BIG_PT + 0x2000 + i * PAGE);
		pdpt[gibs[i]] = (BIG_PT + 0x2000 + i * PAGE) | 0x7;
		for (j = 0; j < 512; j++)
			pd[j] = ((uint64_t)gibs[i] * GIB + (uint64_t)j * 2 * MIB)
				| 0x87;
	}
	vm_get(&vm, 0, NVMM_X64_STATE_CRS);
	vm_state(&vm, 0)->crs[NVMM_X64_CR_CR3] = BIG_PT;
	vm_set(&vm, 0, NVMM_X64_STATE_CRS);

	/* The table the guest walks, and what the host leaves there. */
	for (i = 0; i < nspots; i++) {
		uint64_t *ent = (uint64_t *)(vm.ram + DATA_BASE + i * 16);

		ent[0] = spots[i].gpa;
		ent[1] = 0xA0000000 | i;
		if (spots[i].host_writes)
			*(uint32_t *)(vm.ram + spots[i].gpa) = 0x40570000 | i;
		expect[2 * i] = spots[i].host_writes ? 0x40570000 | i : 0;
		expect[2 * i + 1] = 0xA0000000 | i;
	}
	*(uint64_t *)(vm.ram + DATA_BASE + nspots * 16) = 0;

	vm_run_expect(&vm, 0, expect, 2 * nspots);
	for (i = 0; i < nspots; i++)
		ck_assert_uint_eq(*(uint32_t *)(vm.ram + spots[i].gpa + 4),
				  0xA0000000 | i);
	emu_stats(&during);
	free_during = emu_meminfo("MemFree");
	ksft_print("guest_pages %ld -> %ld, module pages %ld -> %ld, "
		   "MemFree %ld -> %ld kB", before.guest_pages,
		   during.guest_pages, before.pages, during.pages,
		   free_before, free_during);
	/* Code, stack, tables, five spots: a handful of pages. */
	ck_assert_int_gt(during.guest_pages - before.guest_pages, nspots - 1);
	ck_assert_int_lt(during.guest_pages - before.guest_pages, 64);
	ck_assert_int_lt(during.pages - before.pages, 64);
	ck_assert_int_lt(free_before - free_during, 64 * 1024);

	/* Beyond max_ram: refused with ENOBUFS. */
	extra = cap.max_ram - BIG_RAM;
	more = mmap(NULL, extra + PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert(more != MAP_FAILED);
	ck_assert_int_eq(nvmm_hva_map(&vm.mach, (uintptr_t)more, extra + PAGE),
			 0);
	if (extra)
		ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)more,
					      BIG_RAM, extra,
					      PROT_READ | PROT_WRITE), 0);
	errno = 0;
	ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)more + extra,
				      cap.max_ram, PAGE,
				      PROT_READ | PROT_WRITE), -1);
	ck_assert_msg(errno == ENOBUFS, "gpa_map past max_ram: %s, not "
		      "ENOBUFS", strerror(errno));
	/* Past what a 4-level nested table maps: refused too. */
	errno = 0;
	ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)more + extra,
				      1ULL << 48, PAGE, PROT_READ), -1);
	ck_assert(errno == EINVAL || errno == ENOBUFS);

	vm_destroy(&vm);
	munmap(more, extra + PAGE);
	assert_no_leak(&before);
}
END_TEST

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

START_TEST(exitless_vcpus_gpa_remap)
{
	kick_test(true);
}
END_TEST

/* -------------------------------------------------------------------------- */
/* Nothing pinned: destroyed or not, the host gets its pages back. */

#define PIN_RAM		(128 * MIB)
#define PIN_TOUCH	(96 * MIB)
#define PIN_TOUCH_KB	((long)(PIN_TOUCH / KIB))

static long free_settled(void)
{
	emu_drop_caches();
	usleep(100 * 1000);
	return emu_meminfo("MemFree");
}

static void pin_touch(void)
{
	vm_create(&vm, PIN_RAM);
	vm_load(&vm, "long_fill");
	vm_mode_long(&vm, 0, VM_CODE);
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RSI] = 8 * MIB;
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RDI] = 8 * MIB + PIN_TOUCH;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
	ck_assert_uint_eq(vm_run(&vm, 0), NVMM_VCPU_EXIT_HALTED);
	ck_assert_uint_eq(vm.nreports[0], 1);
	ck_assert_uint_eq(vm.reports[0][0], 8 * MIB + PIN_TOUCH);
	/* The guest's writes are in the host's memory. */
	ck_assert_uint_eq(*(uint32_t *)(vm.ram + 8 * MIB), 8 * MIB);
	ck_assert_uint_eq(*(uint32_t *)(vm.ram + 8 * MIB + PIN_TOUCH - PAGE),
			  8 * MIB + PIN_TOUCH - PAGE);
}

#define PIN_CYCLES	2

START_TEST(nothing_pinned)
{
	struct emu_stats before, touched;
	long f0, f1 = 0, f2, f3 = 0, f4;
	unsigned int i;

	/* A first cycle warms up what the kernel keeps anyway. */
	pin_touch();
	ck_assert_int_eq(nvmm_machine_destroy(&vm.mach), 0);
	ck_assert_int_eq(munmap(vm.ram, vm.ram_size), 0);
	emu_stats(&before);
	/* No machine is left: no guest page is mapped anywhere. */
	ck_assert_int_eq(before.machines, 0);
	ck_assert_int_eq(before.guest_pages, 0);
	f0 = free_settled();

	/* A: destroy, then munmap; a few times, so that a leak adds up. */
	for (i = 0; i < PIN_CYCLES; i++) {
		pin_touch();
		emu_stats(&touched);
		if (i == 0)
			f1 = free_settled();
		ck_assert_int_ge(touched.guest_pages - before.guest_pages,
				 (long)(PIN_TOUCH / PAGE));
		ck_assert_int_eq(nvmm_machine_destroy(&vm.mach), 0);
		assert_no_leak(&before);
		ck_assert_int_eq(munmap(vm.ram, vm.ram_size), 0);
	}
	f2 = free_settled();

	/* B: munmap while the machine lives (its RAM still gpa-mapped). */
	for (i = 0; i < PIN_CYCLES; i++) {
		pin_touch();
		if (i == 0)
			f3 = free_settled();
		ck_assert_int_eq(munmap(vm.ram, vm.ram_size), 0);
		emu_stats(&touched);
		/* The notifier took the translations away with the pages. */
		ck_assert_int_eq(touched.guest_pages, before.guest_pages);
		ck_assert_int_eq(nvmm_machine_destroy(&vm.mach), 0);
		assert_no_leak(&before);
	}
	f4 = free_settled();
	ksft_print("MemFree kB: start %ld, touched %ld, %u x destroyed+"
		   "unmapped %ld, touched again %ld, %u x unmapped while "
		   "alive %ld", f0, f1, PIN_CYCLES, f2, f3, PIN_CYCLES, f4);
	/*
	 * The measure works: the guest's touch shows. MemFree moves with
	 * the rest of the system too: the margins are half a touch, and a
	 * page kept by each cycle would be a whole touch per cycle.
	 */
	ck_assert_int_ge(f0 - f1, PIN_TOUCH_KB / 2);
	ck_assert_int_ge(f2 - f3, PIN_TOUCH_KB / 2);
	/* Nothing kept. */
	ck_assert_msg(f0 - f2 < PIN_TOUCH_KB / 2, "after destroy and "
		      "munmap, %ld kB are still missing (%u cycles of %ld kB)",
		      f0 - f2, PIN_CYCLES, PIN_TOUCH_KB);
	ck_assert_msg(f2 - f4 < PIN_TOUCH_KB / 2, "after munmap of a live "
		      "machine's RAM, %ld kB are still missing (%u cycles of "
		      "%ld kB)", f2 - f4, PIN_CYCLES, PIN_TOUCH_KB);
}
END_TEST

/*
 * Guest RAM whose host memory the VMM (or whoever owns the file) took away:
 * the guest's write gives a MEMORY exit at a RAM address, and libvmm's
 * assist answers EFAULT instead of touching the memory (SIGSEGV, SIGBUS).
 */
START_TEST(assist_on_vanished_host_memory_efault)
{
	static const char *const how[] = { "munmap", "PROT_NONE",
					   "file beyond EOF", "read-only" };
	const uint64_t gpa = 0x40000;
	struct nvmm_assist_callbacks cbs = { .io = NULL, .mem = NULL };
	unsigned int i;

	for (i = 0; i < 4; i++) {
		uint64_t reason, rip;
		uint8_t *page;
		int fd;

		vm_create(&vm, 1 * MIB);
		ck_assert_int_eq(nvmm_vcpu_configure(&vm.mach, &vm.vcpu[0],
						     NVMM_VCPU_CONF_CALLBACKS,
						     &cbs), 0);
		vm_load(&vm, "long_pt_churn");
		vm_mode_long(&vm, 0, VM_CODE);
		vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RBX] = gpa;
		vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
		page = vm.ram + gpa;
		switch (i) {
		case 0:
			ck_assert_int_eq(munmap(page, PAGE), 0);
			break;
		case 1:
			ck_assert_int_eq(mprotect(page, PAGE, PROT_NONE), 0);
			break;
		case 2:
			fd = memfd_create("ram", 0);
			ck_assert_int_ge(fd, 0);
			ck_assert(mmap(page, PAGE, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_FIXED, fd, 0) == page);
			close(fd);
			break;
		default:
			ck_assert_int_eq(mprotect(page, PAGE, PROT_READ), 0);
			break;
		}
		reason = vm_run(&vm, 0);
		ck_assert_msg(reason == NVMM_VCPU_EXIT_MEMORY, "%s: exit %#"
			      PRIx64 " instead of MEMORY", how[i], reason);
		ck_assert_uint_eq(vm.vcpu[0].exit->u.mem.gpa, gpa);
		vm_get(&vm, 0, NVMM_X64_STATE_GPRS);
		rip = vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RIP];
		errno = 0;
		ck_assert_msg(nvmm_assist_mem(&vm.mach, &vm.vcpu[0]) == -1 &&
			      errno == EFAULT, "%s: the assist did not refuse "
			      "with EFAULT (errno %d)", how[i], errno);
		vm_get(&vm, 0, NVMM_X64_STATE_GPRS);
		ck_assert_uint_eq(vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RIP],
				  rip);
		vm_destroy(&vm);
	}
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(munmap_while_running),
		KSFT_TEST(map_fixed_replace_while_running),
		KSFT_TEST(mremap_while_running),
		KSFT_TEST(madv_dontneed_while_running),
		KSFT_TEST(fork_cow),
		KSFT_TEST(mprotect_readonly),
		KSFT_TEST(ksm_merge_then_guest_write),
		KSFT_TEST(thp_collapse_copies_pages),
		KSFT_TEST(migration_moves_pages),
		KSFT_TEST(swap_out_while_running),
		KSFT_TEST(guest_physical_128g),
		KSFT_TEST(gpa_remap_under_running_vcpus),
		KSFT_TEST(exitless_vcpus_host_remap),
		KSFT_TEST(exitless_vcpus_gpa_remap),
		KSFT_TEST(nothing_pinned),
		KSFT_TEST(assist_on_vanished_host_memory_efault),
	};

	if (access("/dev/nvmm", F_OK) != 0) {
		printf("TAP version 13\n1..0 # SKIP /dev/nvmm is absent\n");
		return KSFT_SKIP;
	}
	return ksft_run("run_mm", tests, sizeof(tests) / sizeof(tests[0]), 300);
}
