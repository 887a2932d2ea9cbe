/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run_mm: changes of the host mapping while the guest runs (munmap,
 * mmap(MAP_FIXED), mremap, madvise(MADV_DONTNEED)), each raced by a
 * mutator thread against the running probe guest; fork's copy-on-write.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
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
KSFT_EXPORT(munmap_while_running)

START_TEST(map_fixed_replace_while_running)
{
	race_test(RACE_REPLACE, "mmap(MAP_FIXED)");
}
END_TEST
KSFT_EXPORT(map_fixed_replace_while_running)

START_TEST(mremap_while_running)
{
	race_test(RACE_MREMAP, "mremap");
}
END_TEST
KSFT_EXPORT(mremap_while_running)

START_TEST(madv_dontneed_while_running)
{
	race_test(RACE_DONTNEED, "madvise(MADV_DONTNEED)");
}
END_TEST
KSFT_EXPORT(madv_dontneed_while_running)

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
	/* 1. The guest writes A: its translation is writable now. */
	probe_start(&vm, &probe, &cmd);
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
KSFT_EXPORT(fork_cow)
