/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run_mm: swap-out under the running guest (swap_out_while_running), with
 * the zram swap it sets up and removes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "mm_probe.h"
#include "run_mm.h"
#include "vm.h"

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
KSFT_EXPORT(swap_out_while_running)
