/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The run_mm suite: what its files share. run_mm.c has the suite's table
 * and the helpers several topics use; the tests are in files by topic
 * (mm_host_changes.c, mm_protect.c, mm_swap.c, mm_large.c, mm_race.c,
 * mm_pinning.c), the probe guest's runner in mm_probe.c.
 */
#ifndef RUN_MM_H
#define RUN_MM_H

#include <stdint.h>

#include "emu_util.h"
#include "ksft.h"
#include "vm.h"

#define KIB		((uint64_t)1024)
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define PAGE		((uint64_t)4096)
#define DATA_BASE	0x20000ULL	/* guests/guest.h */

/* Outside the RAM of vm_create(): mapped by the tests on their own. */
#define REMAP_GPA	0x300000ULL

extern struct vm vm;

unsigned int seed_from_time(void);
uint64_t now_us(void);
uint64_t host_pfn(const void *addr);
void assert_no_leak(const struct emu_stats *before);

/* The tests, for the table in run_mm.c (KSFT_EXPORT in ksft.h). */
/* mm_host_changes.c */
KSFT_DECLARE(munmap_while_running);
KSFT_DECLARE(map_fixed_replace_while_running);
KSFT_DECLARE(mremap_while_running);
KSFT_DECLARE(madv_dontneed_while_running);
KSFT_DECLARE(fork_cow);
/* mm_protect.c */
KSFT_DECLARE(mprotect_readonly);
KSFT_DECLARE(ksm_merge_then_guest_write);
KSFT_DECLARE(thp_collapse_copies_pages);
KSFT_DECLARE(migration_moves_pages);
/* mm_swap.c */
KSFT_DECLARE(swap_out_while_running);
/* mm_large.c */
KSFT_DECLARE(guest_physical_128g);
/* mm_race.c */
KSFT_DECLARE(gpa_remap_under_running_vcpus);
KSFT_DECLARE(exitless_vcpus_host_remap);
KSFT_DECLARE(exitless_vcpus_gpa_remap);
/* mm_pinning.c */
KSFT_DECLARE(nothing_pinned);
KSFT_DECLARE(assist_on_vanished_host_memory_efault);

#endif /* RUN_MM_H */
