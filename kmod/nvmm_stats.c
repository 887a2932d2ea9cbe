// SPDX-License-Identifier: GPL-2.0-only
/*
 * Counters of what the module holds, in /sys/kernel/debug/nvmm/stats.
 * Tests read them to prove that nothing leaks.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "nvmm_internal.h"

struct nvmm_stats nvmm_stats;
static struct dentry *nvmm_debugfs_dir;

static int nvmm_stats_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "machines %ld\n", atomic_long_read(&nvmm_stats.machines));
	seq_printf(m, "vcpus %ld\n", atomic_long_read(&nvmm_stats.vcpus));
	seq_printf(m, "pages %ld\n", atomic_long_read(&nvmm_stats.pages));
	seq_printf(m, "guest_pages %ld\n",
		   atomic_long_read(&nvmm_stats.guest_pages));
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
