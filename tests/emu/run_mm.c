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
 *
 * The tests are in files by topic (run_mm.h); this file has the suite's
 * table and what the topics share.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "run_mm.h"
#include "vm.h"

struct vm vm;

unsigned int seed_from_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned int)(ts.tv_nsec ^ ts.tv_sec ^ getpid());
}

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The page frame behind a host address, from /proc/self/pagemap (root). */
uint64_t host_pfn(const void *addr)
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

void assert_no_leak(const struct emu_stats *before)
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

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST_EXPORTED(munmap_while_running),
		KSFT_TEST_EXPORTED(map_fixed_replace_while_running),
		KSFT_TEST_EXPORTED(mremap_while_running),
		KSFT_TEST_EXPORTED(madv_dontneed_while_running),
		KSFT_TEST_EXPORTED(fork_cow),
		KSFT_TEST_EXPORTED(mprotect_readonly),
		KSFT_TEST_EXPORTED(ksm_merge_then_guest_write),
		KSFT_TEST_EXPORTED(thp_collapse_copies_pages),
		KSFT_TEST_EXPORTED(migration_moves_pages),
		KSFT_TEST_EXPORTED(swap_out_while_running),
		KSFT_TEST_EXPORTED(guest_physical_128g),
		KSFT_TEST_EXPORTED(gpa_remap_under_running_vcpus),
		KSFT_TEST_EXPORTED(exitless_vcpus_host_remap),
		KSFT_TEST_EXPORTED(exitless_vcpus_gpa_remap),
		KSFT_TEST_EXPORTED(nothing_pinned),
		KSFT_TEST_EXPORTED(assist_on_vanished_host_memory_efault),
	};

	if (access("/dev/nvmm", F_OK) != 0) {
		printf("TAP version 13\n1..0 # SKIP /dev/nvmm is absent\n");
		return KSFT_SKIP;
	}
	return ksft_run("run_mm", tests, sizeof(tests) / sizeof(tests[0]), 300);
}
