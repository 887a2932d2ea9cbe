/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmmctl: inspect nvmm.
 *
 *   nvmmctl identify   what the kernel module offers
 *   nvmmctl list       every machine, with the guest pages and page-table
 *                      pages the module holds for it (needs root: uses the
 *                      root owner)
 *   nvmmctl stats      exits by kind since the module was loaded, all
 *                      machines: how many, and the mean time from an exit
 *                      to the next entry of its VCPU (in the kernel, or
 *                      through userland for the exits that go there);
 *                      needs root (reads debugfs)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nvmm.h>

static void usage(void)
{
	fprintf(stderr, "usage: nvmmctl identify | list | stats\n");
	exit(2);
}

static void print_xcr0(uint64_t m)
{
	static const char *const names[] = {
		"x87", "SSE", "AVX", "BNDREGS", "BNDCSR", "opmask",
		"ZMM_Hi256", "Hi16_ZMM",
	};
	unsigned int i;
	const char *sep = "";

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (m & (1ULL << i)) {
			printf("%s%s", sep, names[i]);
			sep = " ";
		}
	}
	printf("\n");
}

static int identify(void)
{
	struct nvmm_capability cap;

	if (nvmm_init() == -1) {
		fprintf(stderr, "nvmmctl: nvmm_init: %s\n", strerror(errno));
		return 1;
	}
	if (nvmm_capability(&cap) == -1) {
		fprintf(stderr, "nvmmctl: nvmm_capability: %s\n",
			strerror(errno));
		return 1;
	}
	printf("nvmm: kernel interface version %u\n", cap.version);
	printf("nvmm: state size %u bytes\n", cap.state_size);
	printf("nvmm: max machines %u\n", cap.max_machines);
	printf("nvmm: max VCPUs per machine %u\n", cap.max_vcpus);
	printf("nvmm: max RAM per machine %" PRIu64 " GiB\n",
	       cap.max_ram >> 30);
	printf("nvmm: VCPU configurations:%s%s\n",
	       (cap.arch.vcpu_conf_support & NVMM_CAP_ARCH_VCPU_CONF_CPUID) ?
	       " CPUID" : "",
	       (cap.arch.vcpu_conf_support & NVMM_CAP_ARCH_VCPU_CONF_TPR) ?
	       " TPR" : "");
	printf("nvmm: guest XCR0 mask 0x%" PRIx64 ": ", cap.arch.xcr0_mask);
	print_xcr0(cap.arch.xcr0_mask);
	printf("nvmm: MXCSR mask 0x%08x\n", cap.arch.mxcsr_mask);
	printf("nvmm: CPUID configurations per VCPU %u\n",
	       cap.arch.conf_cpuid_maxops);
	return 0;
}

/* A control operation on machine id: 1 done, 0 gone, -1 failed (said). */
static int mach_ctl(int op, void *data, size_t size, nvmm_machid_t id)
{
	if (nvmm_ctl(op, data, size) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	fprintf(stderr, "nvmmctl: machine %u: %s\n", id, strerror(errno));
	return -1;
}

static int list(void)
{
	struct nvmm_capability cap;
	struct nvmm_ctl_mach_info info;
	struct nvmm_ctl_mach_mem mem;
	nvmm_machid_t id;
	unsigned int n = 0;
	int r;

	if (nvmm_root_init() == -1) {
		fprintf(stderr, "nvmmctl: nvmm_root_init: %s%s\n",
			strerror(errno),
			errno == EPERM || errno == EACCES ? " (needs root)" : "");
		return 1;
	}
	if (nvmm_capability(&cap) == -1) {
		fprintf(stderr, "nvmmctl: nvmm_capability: %s\n",
			strerror(errno));
		return 1;
	}
	printf("%-8s %-6s %-12s %-10s %-8s %-8s %s\n", "Machine", "VCPUs",
	       "RAM", "Mapped", "PT", "Owner", "Created");
	for (id = 0; id < cap.max_machines; id++) {
		char when[64];
		time_t t;

		info = (struct nvmm_ctl_mach_info){ .machid = id };
		mem = (struct nvmm_ctl_mach_mem){ .machid = id };
		r = mach_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info), id);
		if (r > 0)
			r = mach_ctl(NVMM_CTL_MACH_MEM, &mem, sizeof(mem), id);
		if (r < 0)
			return 1;
		if (r == 0)
			continue;
		t = info.time;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
			 localtime(&t));
		printf("%-8u %-6u %-12" PRIu64 " %-10" PRIu64 " %-8" PRIu64
		       " %-8d %s\n", info.machid, info.nvcpus, info.nram,
		       mem.mapped_pages, mem.pt_pages, (int)info.pid, when);
		n++;
	}
	printf("%u machine%s\n", n, n == 1 ? "" : "s");
	return 0;
}

#define STATS_PATH "/sys/kernel/debug/nvmm/stats"

static int stats(void)
{
	static const char *const kinds[] = {
		"intr", "npf", "io", "msr", "cpuid", "hlt", "window", "other",
	};
	unsigned long long count[8] = { 0 }, cycles[8] = { 0 };
	unsigned long long entries = 0, to_user = 0, khz = 0, v;
	char key[64];
	unsigned int i;
	FILE *f;

	f = fopen(STATS_PATH, "r");
	if (f == NULL) {
		fprintf(stderr, "nvmmctl: %s: %s (root, debugfs mounted, "
			"nvmm loaded?)\n", STATS_PATH, strerror(errno));
		return 1;
	}
	while (fscanf(f, "%63s %llu", key, &v) == 2) {
		if (strcmp(key, "entries") == 0)
			entries = v;
		else if (strcmp(key, "exits_to_user") == 0)
			to_user = v;
		else if (strcmp(key, "tsc_khz") == 0)
			khz = v;
		for (i = 0; i < 8; i++) {
			size_t n = strlen(kinds[i]);

			if (strncmp(key, "exit_", 5) != 0 ||
			    strncmp(key + 5, kinds[i], n) != 0)
				continue;
			if (key[5 + n] == '\0')
				count[i] = v;
			else if (strcmp(key + 5 + n, "_cycles") == 0)
				cycles[i] = v;
		}
	}
	fclose(f);
	printf("%llu entries, %llu exits to userland\n", entries, to_user);
	printf("%-8s %12s %16s\n", "exit", "count", "us to re-entry");
	for (i = 0; i < 8; i++) {
		if (count[i] == 0 || khz == 0)
			printf("%-8s %12llu %16s\n", kinds[i], count[i], "-");
		else
			printf("%-8s %12llu %16.2f\n", kinds[i], count[i],
			       (double)cycles[i] * 1000.0 / (double)khz /
			       (double)count[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		usage();
	if (strcmp(argv[1], "identify") == 0)
		return identify();
	if (strcmp(argv[1], "list") == 0)
		return list();
	if (strcmp(argv[1], "stats") == 0)
		return stats();
	usage();
	return 2;
}
