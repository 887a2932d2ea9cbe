/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What a VMM can make the module allocate: nested page-table pages are
 * freed when a mapping goes, and every one is charged to the VMM's memory
 * cgroup, so that a VMM cannot grow kernel memory beyond its own limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "vm.h"

#define MIB		(1024 * 1024ULL)
#define GIB		(1024 * MIB)

static struct vm vm;

/* The linear page of long_pt_churn, and the page table behind it. */
#define CHURN_LA	(1 * GIB)
#define CHURN_PT	0x80000ULL
/* Where the churned guest-physical pages start: above the 4 GiB mapped. */
#define CHURN_BASE	(4 * GIB)

static unsigned int guest_phys_bits(void)
{
	unsigned int eax, ebx, ecx, edx;

	__asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
			 : "a"(0x80000008), "c"(0));
	return eax & 0xFF;
}

static unsigned long env_count(const char *name, unsigned long dflt)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 0) : dflt;
}

/*
 * A machine running long_pt_churn, with page registered for guest
 * mappings (hva_map); returns the page table whose entry 0 the guest's
 * write goes through.
 */
static uint64_t *churn_setup(volatile uint32_t *page)
{
	uint64_t *pd;

	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_pt_churn");
	vm_mode_long(&vm, 0, VM_CODE);
	pd = (uint64_t *)(vm.ram + VM_PT_BASE + 0x2000);
	pd[CHURN_LA >> 21] = CHURN_PT | 0x3;
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RBX] = CHURN_LA;
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RCX] = 0;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
	ck_assert_int_eq(nvmm_hva_map(&vm.mach, (uintptr_t)page, 4096), 0);
	return (uint64_t *)(vm.ram + CHURN_PT);
}

/*
 * Map a 4 KiB page at a new guest-physical address, let the guest write
 * it, unmap it; many times. The tables each new address needs must go
 * with the unmap: the module's table pages and MemFree stay flat.
 */
START_TEST(map_touch_unmap_tables_flat)
{
	unsigned long cycles = env_count("NVMM_PT_CYCLES", 200000), i;
	unsigned int pb = guest_phys_bits();
	uint64_t slots, gpa = 0, *pt;
	struct emu_stats s0, s1;
	long free0 = 0, free1, slab0 = 0;
	struct timespec t0, t1;
	volatile uint32_t *page;
	const struct nvmm_vcpu_exit *exit;
	struct nvmm_x64_state *st;
	uint64_t reason = NVMM_VCPU_EXIT_IO;
	const char *err = NULL;

	/* 2 MiB apart: each address needs a table of its own. */
	ck_assert_uint_ge(pb, 33);
	slots = ((1ULL << (pb < 39 ? pb : 39)) - CHURN_BASE) / (2 * MIB);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(page != MAP_FAILED);

	pt = churn_setup(page);
	exit = vm.vcpu[0].exit;
	st = vm_state(&vm, 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < cycles; i++) {
		if (i == 1000) {
			/* Warm: slab caches and the like have grown. */
			emu_stats(&s0);
			free0 = emu_meminfo("MemFree");
			slab0 = emu_meminfo("Slab");
		}
		gpa = CHURN_BASE + (i % slots) * 2 * MIB;
		/*
		 * No ck_assert in this loop: in fork mode each one writes its
		 * location to Check's message file (a tmpfs file here), which
		 * would grow by tens of MB and hide what the module does.
		 */
		if (nvmm_gpa_map(&vm.mach, (uintptr_t)page, gpa, 4096,
				 PROT_READ | PROT_WRITE) != 0) {
			err = "gpa_map";
			break;
		}
		pt[0] = gpa | 0x3;
		/* NONE: a signal or the scheduler came first; run again. */
		do {
			if (nvmm_vcpu_run(&vm.mach, &vm.vcpu[0]) != 0) {
				err = "vcpu_run";
				break;
			}
			reason = exit->reason;
		} while (reason == NVMM_VCPU_EXIT_NONE);
		if (err)
			break;
		if (reason != NVMM_VCPU_EXIT_IO) {
			err = "exit";
			break;
		}
		st->gprs[NVMM_X64_GPR_RIP] = exit->u.io.npc;
		if (nvmm_vcpu_setstate(&vm.mach, &vm.vcpu[0],
				       NVMM_X64_STATE_GPRS) != 0) {
			err = "setstate";
			break;
		}
		if (*page != (uint32_t)(i + 1)) {
			err = "guest write";
			break;
		}
		if (nvmm_gpa_unmap(&vm.mach, (uintptr_t)page, gpa, 4096) != 0) {
			err = "gpa_unmap";
			break;
		}
	}
	if (err && reason != NVMM_VCPU_EXIT_IO)
		nvmm_vcpu_dump(&vm.mach, &vm.vcpu[0]);
	ck_assert_msg(err == NULL, "cycle %lu at %#" PRIx64 ": %s failed "
		      "(errno %s, exit %#" PRIx64 ", guest wrote %u)", i, gpa,
		      err, strerror(errno), reason, *page);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	emu_stats(&s1);
	/* RCU-deferred frees of the mapping tables land within a second. */
	sleep(1);
	free1 = emu_meminfo("MemFree");
	ksft_print("%lu cycles over %" PRIu64 " addresses (guest MAXPHYADDR "
		   "%u) in %.1f s: table pages %ld -> %ld, MemFree %ld -> %ld "
		   "kB, Slab %ld -> %ld kB", cycles, slots < cycles ? slots : cycles, pb,
		   (double)(t1.tv_sec - t0.tv_sec) +
		   (t1.tv_nsec - t0.tv_nsec) / 1e9, s0.pt_pages, s1.pt_pages,
		   free0, free1, slab0, emu_meminfo("Slab"));
	ck_assert_msg(s1.pt_pages <= s0.pt_pages + 4, "table pages grew from "
		      "%ld to %ld", s0.pt_pages, s1.pt_pages);
	/* Before the fix: about 4 kB per cycle. */
	ck_assert_msg(free1 > free0 - 16 * 1024, "MemFree fell by %ld kB",
		      free0 - free1);
	vm_destroy(&vm);
	emu_stats(&s1);
	ck_assert_int_eq(s1.pt_pages, 0);
	munmap((void *)page, 4096);
}
END_TEST

/* One round of long_pt_churn: up to its OUT, then past it. */
static void churn_round(void)
{
	const struct nvmm_vcpu_exit *exit = vm.vcpu[0].exit;
	uint64_t reason;

	do
		reason = vm_run_once(&vm, 0);
	while (reason == NVMM_VCPU_EXIT_NONE);
	ck_assert_uint_eq(reason, NVMM_VCPU_EXIT_IO);
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RIP] = exit->u.io.npc;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
}

static struct nvmm_ctl_mach_mem mach_mem(void)
{
	struct nvmm_ctl_mach_mem mem = { .machid = vm.mach.machid };

	ck_assert_int_eq(nvmm_ctl(NVMM_CTL_MACH_MEM, &mem, sizeof(mem)), 0);
	return mem;
}

/*
 * NVMM_CTL_MACH_MEM (ours; nvmmctl list shows it) counts, per machine, the
 * guest pages in its NPT/EPT and the table pages behind them, exactly as
 * the module-wide stats do; bad requests are refused.
 */
START_TEST(mach_mem_counts_pages_and_tables)
{
	struct nvmm_ctl_mach_mem m0, m1, m2, bad;
	struct emu_stats s0, s1, s2;
	volatile uint32_t *page;
	uint64_t gpa = CHURN_BASE + 6 * GIB, *pt;

	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(page != MAP_FAILED);
	pt = churn_setup(page);

	/* A first round into RAM: code, tables and that page are in. */
	pt[0] = 0x90000 | 0x3;
	churn_round();
	ck_assert_uint_eq(*(uint32_t *)(vm.ram + 0x90000), 1);
	m0 = mach_mem();
	emu_stats(&s0);
	ck_assert_uint_ge(m0.mapped_pages, 2);
	ck_assert_uint_ge(m0.pt_pages, 2);

	/* A page at 10 GiB: a new PDPT entry, so a new PD and a new PT. */
	ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)page, gpa, 4096,
				      PROT_READ | PROT_WRITE), 0);
	pt[0] = gpa | 0x3;
	churn_round();
	ck_assert_uint_eq(*page, 2);
	m1 = mach_mem();
	emu_stats(&s1);
	ck_assert_uint_eq(m1.mapped_pages, m0.mapped_pages + 1);
	ck_assert_uint_eq(m1.pt_pages, m0.pt_pages + 2);
	ck_assert_int_eq(s1.guest_pages - s0.guest_pages, 1);
	ck_assert_int_eq(s1.pt_pages - s0.pt_pages, 2);

	/* The unmap takes the page and both tables. */
	ck_assert_int_eq(nvmm_gpa_unmap(&vm.mach, (uintptr_t)page, gpa, 4096),
			 0);
	m2 = mach_mem();
	emu_stats(&s2);
	ck_assert_uint_eq(m2.mapped_pages, m0.mapped_pages);
	ck_assert_uint_eq(m2.pt_pages, m0.pt_pages);
	ck_assert_int_eq(s2.pt_pages, s0.pt_pages);

	bad = (struct nvmm_ctl_mach_mem){ .machid = vm.mach.machid, .rsvd = 1 };
	ck_assert_int_eq(nvmm_ctl(NVMM_CTL_MACH_MEM, &bad, sizeof(bad)), -1);
	ck_assert_int_eq(errno, EINVAL);
	bad.rsvd = 0;
	ck_assert_int_eq(nvmm_ctl(NVMM_CTL_MACH_MEM, &bad, sizeof(bad) - 8),
			 -1);
	ck_assert_int_eq(errno, EINVAL);
	bad.machid = 4096;
	ck_assert_int_eq(nvmm_ctl(NVMM_CTL_MACH_MEM, &bad, sizeof(bad)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(nvmm_ctl(NVMM_CTL_MACH_MEM, NULL, sizeof(bad)), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_int_eq(nvmm_ctl(0x1ff, &bad, sizeof(bad)), -1);
	ck_assert_int_eq(errno, EINVAL);
	vm_destroy(&vm);
	munmap((void *)page, 4096);
}
END_TEST

/* -------------------------------------------------------------------------- */
/* A VMM in a small memory cgroup. */

#define CG_ROOT		"/sys/fs/cgroup"
#define CG		CG_ROOT "/nvmm-mm-bounds"
#define SWEEP_BASE	(4 * GIB)
#define SWEEP_PDS	0x100000ULL

/* The kernel log, read into klog_buf: its length (0 if unreadable). */
static char klog_buf[1 << 23];

static int klog_read(void)
{
	int len = klogctl(3 /* READ_ALL */, klog_buf, sizeof(klog_buf) - 1);

	if (len <= 0)
		return 0;
	klog_buf[len] = '\0';
	return len;
}

/* Whether the line [p, nl) holds s. */
static bool line_has(const char *p, const char *nl, const char *s)
{
	const char *hit = strstr(p, s);

	return hit && hit < nl;
}

/*
 * A memory-cgroup OOM kill prints a report with a stack dump, which the
 * emulated-host runner takes for a kernel problem. When the VMM was killed
 * that way (the module's own allocations fail with ENOMEM, but another
 * charged allocation can reach the limit first), check the kernel log
 * written since mark (klog_read() before the test): nothing but that report
 * may look like a problem; then clear it, so that the runner's end-of-boot
 * scan does not see the expected dump. Returns the first line that looks
 * like a problem outside an OOM report, or NULL.
 */
static const char *klog_clear_oom_report(int mark)
{
	static const char *const bad[] = { "WARNING:", "BUG:", "kernel BUG",
		"Oops", "general protection", "Call Trace", "detected stall",
		"soft lockup", "Kernel panic", "refcount_t:",
		"unable to handle" };
	static char line[512];
	int len = klog_read();
	bool in_report = false;
	char *p, *nl;
	unsigned int k;

	if (len <= mark)
		return NULL;
	for (p = klog_buf + mark; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p) - 1;
		if (line_has(p, nl, "invoked oom-killer"))
			in_report = true;
		for (k = 0; !in_report && k < sizeof(bad) / sizeof(bad[0]); k++) {
			if (line_has(p, nl, bad[k])) {
				snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
				return line;
			}
		}
		if (in_report && line_has(p, nl, "Killed process"))
			in_report = false;
		if (!nl[1])
			break;
	}
	klogctl(5 /* CLEAR */, NULL, 0);
	return NULL;
}

static bool write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok;
}

static long cg_event(const char *key)
{
	char k[64];
	long v, out = -1;
	FILE *f = fopen(CG "/memory.events", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", k, &v) == 2)
		if (strcmp(k, key) == 0)
			out = v;
	fclose(f);
	return out;
}

/*
 * A guest that reads one byte every 2 MiB of gib GiB of guest-physical
 * space, backed by host memory that was never written (the zero page: no
 * resident memory), so that only the module's tables grow (128 MiB for
 * 64 GiB). Returns 0 when
 * the guest ran to its HLT, else the errno of the failed run.
 */
static int sweep(unsigned int gib)
{
	uint64_t *pdpt, *pds, steps = gib * 512ULL;
	unsigned int k, j;
	void *mem;
	uint64_t reason;

	vm_create(&vm, 4 * MIB);
	vm_load(&vm, "long_pt_sweep");
	vm_mode_long(&vm, 0, VM_CODE);
	pdpt = (uint64_t *)(vm.ram + VM_PT_BASE + 0x1000);
	pds = (uint64_t *)(vm.ram + SWEEP_PDS);
	for (k = 0; k < gib; k++) {
		pdpt[4 + k] = (SWEEP_PDS + k * 0x1000ULL) | 0x7;
		for (j = 0; j < 512; j++)
			pds[k * 512 + j] = (SWEEP_BASE + k * GIB + j * 2 * MIB) |
					   0x87;
	}
	/*
	 * One GiB of host memory at each GiB of the range: the host's own
	 * page tables for it stay small (a PTE page per 2 MiB of one GiB),
	 * where the guest's need a table per 2 MiB of the whole range.
	 */
	mem = mmap(NULL, GIB, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert(mem != MAP_FAILED);
	ck_assert_int_eq(nvmm_hva_map(&vm.mach, (uintptr_t)mem, GIB), 0);
	for (k = 0; k < gib; k++)
		ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)mem,
					      SWEEP_BASE + k * GIB, GIB,
					      PROT_READ | PROT_WRITE), 0);
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RBX] = SWEEP_BASE;
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RCX] = steps;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
	for (;;) {
		if (nvmm_vcpu_run(&vm.mach, &vm.vcpu[0]) != 0)
			return errno;
		reason = vm.vcpu[0].exit->reason;
		if (reason == NVMM_VCPU_EXIT_HALTED)
			return 0;
		if (reason == NVMM_VCPU_EXIT_IO) {
			vm_skip(&vm, 0, vm.vcpu[0].exit->u.io.npc);
			continue;
		}
		if (reason != NVMM_VCPU_EXIT_NONE)
			return EPROTO;
	}
}

START_TEST(page_tables_charged_to_vmm_cgroup)
{
	unsigned int pb = guest_phys_bits();
	unsigned int gib = 64;
	long global_ooms, kills;
	int mark;
	struct emu_stats s0, s1;
	int pid, status, ret, i;

	if (pb < 37)
		ksft_skip("guest MAXPHYADDR %u: no room for %u GiB above 4 GiB",
			  pb, gib);
	if (access(CG_ROOT "/cgroup.controllers", F_OK) != 0 &&
	    mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL) != 0)
		ksft_skip("no cgroup2: %s", strerror(errno));
	if (!write_file(CG_ROOT "/cgroup.subtree_control", "+memory"))
		ksft_skip("no memory controller: %s", strerror(errno));
	rmdir(CG);
	ck_assert_msg(mkdir(CG, 0755) == 0, "mkdir %s: %s", CG,
		      strerror(errno));
	ck_assert(write_file(CG "/memory.max", "64M"));
	ck_assert(write_file(CG "/memory.swap.max", "0") || errno == ENOENT);

	/* The control: a 1 GiB sweep, outside the cgroup, adds 512 tables. */
	emu_stats(&s0);
	ck_assert_int_eq(sweep(1), 0);
	emu_stats(&s1);
	vm_destroy(&vm);
	ck_assert_msg(s1.pt_pages - s0.pt_pages >= 512, "the control sweep "
		      "added %ld table pages", s1.pt_pages - s0.pt_pages);

	global_ooms = emu_kmsg_count("Out of memory: Killed process");
	mark = klog_read();
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%d", getpid());
		if (!write_file(CG "/cgroup.procs", buf))
			_exit(100);
		_exit(sweep(gib));
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	kills = cg_event("oom_kill");
	if (WIFSIGNALED(status)) {
		ck_assert_msg(WTERMSIG(status) == SIGKILL && kills >= 1,
			      "VMM ended by signal %d, cgroup oom_kill %ld",
			      WTERMSIG(status), kills);
		ksft_print("the VMM was killed by its cgroup's OOM killer "
			   "(oom_kill %ld)", kills);
		{
			const char *bad = klog_clear_oom_report(mark);

			ck_assert_msg(bad == NULL, "kernel log: %s", bad);
		}
	} else {
		ret = WEXITSTATUS(status);
		ck_assert_msg(ret != 100, "cannot join the cgroup");
		ck_assert_msg(ret != 0, "%u GiB swept in a 64 MiB cgroup: the "
			      "tables were not charged to it", gib);
		ck_assert_msg(ret == ENOMEM, "the run failed with errno %d, "
			      "expected ENOMEM", ret);
		ksft_print("the VMM's run failed with ENOMEM");
	}
	ck_assert_msg(emu_kmsg_count("Out of memory: Killed process") ==
		      global_ooms, "the global OOM killer ran");
	/* Everything went with the VMM. */
	for (i = 0; i < 100; i++) {
		emu_stats(&s1);
		if (s1.pt_pages == s0.pt_pages && s1.machines == s0.machines)
			break;
		usleep(100000);
	}
	ck_assert_int_eq(s1.pt_pages, s0.pt_pages);
	ck_assert_int_eq(s1.machines, s0.machines);
	rmdir(CG);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(mach_mem_counts_pages_and_tables),
		KSFT_TEST_T(map_touch_unmap_tables_flat, 1800),
		KSFT_TEST_T(page_tables_charged_to_vmm_cgroup, 900),
	};

	if (access("/dev/nvmm", F_OK) != 0) {
		printf("TAP version 13\n1..0 # SKIP /dev/nvmm is absent\n");
		return KSFT_SKIP;
	}
	return ksft_run("mm_bounds", tests, sizeof(tests) / sizeof(tests[0]),
			300);
}
