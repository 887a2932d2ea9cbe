// SPDX-License-Identifier: GPL-2.0-only
/*
 * Counters of what the module holds, in /sys/kernel/debug/nvmm/stats.
 * Tests read them to prove that nothing leaks.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "nvmm_internal.h"

struct nvmm_stats nvmm_stats;
DEFINE_PER_CPU(unsigned long, nvmm_counts[NVMM_COUNT_MAX]);
DEFINE_PER_CPU(unsigned long, nvmm_cycles[NVMM_COUNT_MAX]);
static struct dentry *nvmm_debugfs_dir;

static const char *const nvmm_count_names[NVMM_COUNT_MAX] = {
	[NVMM_COUNT_ENTRIES] = "entries",
	[NVMM_COUNT_EXITS_USER] = "exits_to_user",
	[NVMM_COUNT_EXIT_INTR] = "exit_intr",
	[NVMM_COUNT_EXIT_NPF] = "exit_npf",
	[NVMM_COUNT_NPF_MAPPED] = "npf_mapped",
	[NVMM_COUNT_EXIT_IO] = "exit_io",
	[NVMM_COUNT_EXIT_MSR] = "exit_msr",
	[NVMM_COUNT_EXIT_CPUID] = "exit_cpuid",
	[NVMM_COUNT_EXIT_HLT] = "exit_hlt",
	[NVMM_COUNT_EXIT_WINDOW] = "exit_window",
	[NVMM_COUNT_EXIT_OTHER] = "exit_other",
	[NVMM_COUNT_FLUSHES] = "remote_flushes",
	[NVMM_COUNT_YIELDS] = "spin_yields",
};

unsigned long nvmm_sum(unsigned long __percpu *v)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += *per_cpu_ptr(v, cpu);
	return sum;
}

static int nvmm_stats_show(struct seq_file *m, void *unused)
{
	unsigned int i;

	seq_printf(m, "machines %ld\n", atomic_long_read(&nvmm_stats.machines));
	seq_printf(m, "vcpus %ld\n", atomic_long_read(&nvmm_stats.vcpus));
	seq_printf(m, "pages %ld\n", atomic_long_read(&nvmm_stats.pages));
	seq_printf(m, "guest_pages %ld\n",
		   atomic_long_read(&nvmm_stats.guest_pages));
	seq_printf(m, "pt_pages %ld\n", atomic_long_read(&nvmm_stats.pt_pages));
	for (i = 0; i < NVMM_COUNT_MAX; i++)
		seq_printf(m, "%s %lu\n", nvmm_count_names[i],
			   nvmm_sum(&nvmm_counts[i]));
	/* Each exit kind's time from the exit to the next entry. */
	for (i = NVMM_COUNT_EXIT_INTR; i <= NVMM_COUNT_EXIT_OTHER; i++) {
		if (i == NVMM_COUNT_NPF_MAPPED)
			continue;
		seq_printf(m, "%s_cycles %lu\n", nvmm_count_names[i],
			   nvmm_sum(&nvmm_cycles[i]));
	}
	if (nvmm_impl && nvmm_impl->stats)
		nvmm_impl->stats(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(nvmm_stats);

void nvmm_stats_init(void)
{
	nvmm_debugfs_dir = debugfs_create_dir("nvmm", NULL);
	debugfs_create_file("stats", 0444, nvmm_debugfs_dir, NULL,
			    &nvmm_stats_fops);
}

void nvmm_stats_fini(void)
{
	debugfs_remove_recursive(nvmm_debugfs_dir);
	nvmm_debugfs_dir = NULL;
}
