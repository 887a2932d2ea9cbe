/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vmbench: nvmm against KVM on the same guest bytes, in the same host.
 *
 *   vmbench [-v] [-r REPS] [-n EXITS] [-c CPUIDS] [-s EXITS] [-m EXITS]
 *           [-l LEAF] [-C CPU] nvmm|kvm ITEM...
 *
 * Items (all = io cpuid touch host-touch syscalls):
 *   io        N OUTs to a port, each a round trip through the VMM's run
 *             loop (nvmm: nvmm_vcpu_run + nvmm_assist_io with the io
 *             callback; KVM: KVM_RUN + the kvm_run page): ns per exit
 *   cpuid     N CPUIDs answered by the kernel, then one OUT: ns per CPUID
 *   touch     one byte written in each 4 KiB page of a fresh 64 MiB region
 *             (host memory just mmap()ed, 4 KiB host pages), then one OUT:
 *             ns for the whole region
 *   host-touch
 *             the same writes by this process to a fresh region of its own,
 *             no guest: the host's own fault, the floor under `touch`
 *   syscalls  system calls per I/O exit over an io loop of -s exits,
 *             counted by the kernel: perf counters on the tracepoints
 *             raw_syscalls:sys_enter and syscalls:sys_enter_ioctl of this
 *             process (nothing stops the loop)
 *   syscalls-ptrace
 *             the same count by another method: the io loop in a child
 *             traced with PTRACE_SYSCALL, between two marker system calls
 *             (not in "all"; a run loop that stops making progress under
 *             the tracer is reported as LIVELOCK)
 *   setup     an empty VM's cost: create a machine and its VCPU, map 64 MiB
 *             of guest RAM (host memory mmap()ed and the guest image
 *             copied in before the clock starts), set the state and run to
 *             the first exit to userland (the guest's first instruction
 *             OUTs; the nested faults of its code, stack and page tables
 *             come first): ns per VM, median of REPS after one warm-up;
 *             each VM is destroyed after its sample (not timed)
 *   many      MANY_VMS (128) machines of one VCPU each, one per child
 *             process (unpinned), all running the io loop of -m OUTs at
 *             once: the VMs are made and started first, then released
 *             together; aggregate exits per second from the release to
 *             the last VM's done report (not in "all"; it needs every
 *             machine nvmm allows, so it runs after this process's own
 *             VM is gone); median of REPS, no warm-up
 *
 * Every timing is the median of REPS samples (default 5), taken item after
 * item in turns (io, cpuid, touch, io, ...) after one warm-up of each.
 * Lines "RESULT backend item value unit" carry the medians; -v adds
 * "SAMPLE backend item index value unit" for every sample and the system
 * calls by number.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/perf_event.h>

#include "vmbench.h"
#include "x64_flat.h"

#define MAX_REPS	101
#define MAX_SYSCALL_NR	512

enum item {
	I_IO, I_CPUID, I_TOUCH, I_HOSTTOUCH, I_SYSCALLS, I_PTRACE, I_SETUP,
	I_MANY, I_COUNT
};

static const char *const item_names[I_COUNT] = {
	"io", "cpuid", "touch", "host-touch", "syscalls", "syscalls-ptrace",
	"setup", "many",
};
static const char *const item_units[I_COUNT] = {
	"ns/exit", "ns/cpuid", "ns/64MiB", "ns/64MiB", "syscalls/exit",
	"syscalls/exit", "ns/vm", "exits/s",
};

static struct {
	bool verbose;
	unsigned int reps;
	unsigned long io_n, cpuid_n, sys_n, many_n;
	uint32_t leaf;
	int cpu;
} opt = {
	.reps = 5, .io_n = 20000, .cpuid_n = 20000, .sys_n = 2000,
	.many_n = 500, .leaf = 0, .cpu = 0,
};

struct vmb_dev vmb_dev;
const char *vmb_backend_name = "?";
static const struct vmb_backend *be;
static uint8_t *ram;

void vmb_dev_reset(void)
{
	memset(&vmb_dev, 0, sizeof(vmb_dev));
}

void vmb_err(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "vmbench: %s: ", vmb_backend_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err != 0)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vmbench [-v] [-r REPS] [-n IO_EXITS] [-c CPUIDS] "
		"[-s SYSCALL_EXITS]\n"
		"               [-m MANY_EXITS] [-l CPUID_LEAF] [-C CPU|-1] "
		"nvmm|kvm ITEM...\n"
		"items: io cpuid touch host-touch syscalls syscalls-ptrace "
		"setup many;\n"
		"       all = io cpuid touch host-touch syscalls\n");
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, unsigned int n)
{
	double s[MAX_REPS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* -------------------------------------------------------------------------- */
/* The guest image: code, identity page tables, GDT. */

extern const uint8_t vmb_guest_start[], vmb_guest_end[];

static uint8_t *image_create(void)
{
	uint8_t *m;
	uint64_t *pml4, *pdpt, *pd, *gdt;
	unsigned int i;

	m = mmap(NULL, VMB_RAM_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		vmb_err("mmap guest RAM");
		return NULL;
	}
	memcpy(m + VMB_CODE, vmb_guest_start,
	       (size_t)(vmb_guest_end - vmb_guest_start));
	pml4 = (uint64_t *)(m + VMB_PML4);
	pdpt = pml4 + 512;
	pd = pdpt + 512;
	pml4[0] = (VMB_PML4 + 0x1000) | 0x3;			/* P RW */
	for (i = 0; i < VMB_PT_MAPPED >> 30; i++)
		pdpt[i] = (VMB_PML4 + 0x2000 + i * 0x1000ULL) | 0x3;
	for (i = 0; i < VMB_PT_MAPPED >> 21; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;		/* P RW PS */
	gdt = (uint64_t *)(m + VMB_GDT);
	gdt[0] = 0;
	gdt[VMB_SEL_CODE / 8] = X64_DESC_CODE64;
	gdt[VMB_SEL_DATA / 8] = X64_DESC_DATA;
	return m;
}

static int vm_open(void)
{
	ram = image_create();
	if (ram == NULL)
		return -1;
	if (be->create(ram) == -1) {
		munmap(ram, VMB_RAM_SIZE);
		ram = NULL;
		return -1;
	}
	return 0;
}

static void vm_close(void)
{
	be->destroy();
	munmap(ram, VMB_RAM_SIZE);
	ram = NULL;
}

/* -------------------------------------------------------------------------- */
/* Samples. Each returns its value (ns) or a negative number on failure. */

/* The device after an io loop of n OUTs: all there, in order, no others. */
static int io_check(const char *item, unsigned long n)
{
	if (vmb_dev.nout != n || vmb_dev.sequence_broken ||
	    vmb_dev.done_val != (uint32_t)n || vmb_dev.nother != 0) {
		errno = 0;
		vmb_err("%s: %llu OUTs (sequence %s), check %#x, %llu to other "
			"ports, expected %lu", item,
			(unsigned long long)vmb_dev.nout,
			vmb_dev.sequence_broken ? "broken" : "ok",
			vmb_dev.done_val, (unsigned long long)vmb_dev.nother, n);
		return -1;
	}
	return 0;
}

static double sample_io(unsigned long n)
{
	uint64_t t0, t1;

	vmb_dev_reset();
	if (be->start(VMB_ITEM_IO, n, 0, 0) == -1)
		return -1;
	t0 = now_ns();
	if (be->run() == -1)
		return -1;
	t1 = now_ns();
	if (io_check("io", n) == -1)
		return -1;
	/* The OUT to the done port is a round trip too. */
	return (double)(t1 - t0) / (double)(n + 1);
}

static double sample_cpuid(unsigned long n)
{
	static uint32_t first_ebx;
	static bool have_ebx;
	uint64_t t0, t1;

	vmb_dev_reset();
	if (be->start(VMB_ITEM_CPUID, n, 0, opt.leaf) == -1)
		return -1;
	t0 = now_ns();
	if (be->run() == -1)
		return -1;
	t1 = now_ns();
	if (vmb_dev.nout != 0 || vmb_dev.nother != 0 ||
	    (have_ebx && vmb_dev.done_val != first_ebx)) {
		errno = 0;
		vmb_err("cpuid: EBX %#x (was %#x), %llu stray OUTs",
			vmb_dev.done_val, first_ebx,
			(unsigned long long)(vmb_dev.nout + vmb_dev.nother));
		return -1;
	}
	if (!have_ebx && opt.verbose)
		printf("# %s: CPUID leaf %#x EBX %#x\n", be->name, opt.leaf,
		       vmb_dev.done_val);
	first_ebx = vmb_dev.done_val;
	have_ebx = true;
	return (double)(t1 - t0) / (double)n;
}

static double sample_touch(void)
{
	const unsigned long pages = VMB_TOUCH_SIZE / 4096;
	uint8_t *m;
	uint64_t t0, t1;
	unsigned long i, bad = 0;
	double ret = -1;

	m = mmap(NULL, VMB_TOUCH_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		vmb_err("mmap touch region");
		return -1;
	}
	/* One nested page fault per 4 KiB page, under both. */
	if (madvise(m, VMB_TOUCH_SIZE, MADV_NOHUGEPAGE) == -1 &&
	    errno != EINVAL) {
		vmb_err("madvise(MADV_NOHUGEPAGE)");
		goto out;
	}
	if (be->map(m, VMB_TOUCH_GPA, VMB_TOUCH_SIZE) == -1)
		goto out;
	vmb_dev_reset();
	if (be->start(VMB_ITEM_TOUCH, pages, VMB_TOUCH_GPA, 0) == -1)
		goto unmap;
	t0 = now_ns();
	if (be->run() == -1)
		goto unmap;
	t1 = now_ns();
	for (i = 0; i < pages; i++)
		bad += m[i * 4096] != 1;
	if (vmb_dev.done_val != pages || bad != 0 || vmb_dev.nout != 0) {
		errno = 0;
		vmb_err("touch: check %#x, %lu pages of %lu not written",
			vmb_dev.done_val, bad, pages);
		goto unmap;
	}
	ret = (double)(t1 - t0);
unmap:
	if (be->unmap(m, VMB_TOUCH_GPA, VMB_TOUCH_SIZE) == -1)
		ret = -1;
out:
	munmap(m, VMB_TOUCH_SIZE);
	return ret;
}

static void print_result(enum item it, double v, const double *s,
			 unsigned int n);

/* One empty VM, from nothing to its first exit (see "setup" above). */
static double sample_setup(const uint8_t *image)
{
	uint8_t *m;
	uint64_t t0, t1;
	double ret = -1;

	m = mmap(NULL, VMB_SETUP_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		vmb_err("mmap setup RAM");
		return -1;
	}
	memcpy(m, image, VMB_RAM_SIZE);
	vmb_dev_reset();
	t0 = now_ns();
	if (be->create(m) == -1)
		goto out;
	if (be->map(m + VMB_RAM_SIZE, VMB_RAM_SIZE,
		    VMB_SETUP_SIZE - VMB_RAM_SIZE) == -1 ||
	    be->start(VMB_ITEM_SETUP, 0, 0, 0) == -1 || be->run() == -1)
		goto destroy;
	t1 = now_ns();
	if (!vmb_dev.done || vmb_dev.done_val != VMB_SETUP_DONE ||
	    vmb_dev.nexits != 1) {
		errno = 0;
		vmb_err("setup: report %#x after %llu run returns, expected "
			"%#x after 1", vmb_dev.done_val,
			(unsigned long long)vmb_dev.nexits, VMB_SETUP_DONE);
		goto destroy;
	}
	ret = (double)(t1 - t0);
destroy:
	be->destroy();
out:
	munmap(m, VMB_SETUP_SIZE);
	return ret;
}

static int run_setup(void)
{
	double s[MAX_REPS];
	uint8_t *image;
	unsigned int r;
	int rc = -1;

	image = image_create();
	if (image == NULL)
		return -1;
	if (sample_setup(image) < 0)		/* warm-up */
		goto out;
	for (r = 0; r < opt.reps; r++) {
		s[r] = sample_setup(image);
		if (s[r] < 0)
			goto out;
		if (opt.verbose)
			printf("SAMPLE %s setup %u %.1f ns/vm\n", be->name, r,
			       s[r]);
	}
	print_result(I_SETUP, median(s, opt.reps), s, opt.reps);
	rc = 0;
out:
	munmap(image, VMB_RAM_SIZE);
	return rc;
}

/* The touch loop's writes, by this process: what the host's fault costs. */
static double sample_host_touch(void)
{
	volatile uint8_t *m;
	uint64_t t0, t1;
	unsigned long off;

	m = mmap(NULL, VMB_TOUCH_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		vmb_err("mmap host-touch region");
		return -1;
	}
	if (madvise((void *)m, VMB_TOUCH_SIZE, MADV_NOHUGEPAGE) == -1 &&
	    errno != EINVAL) {
		vmb_err("madvise(MADV_NOHUGEPAGE)");
		munmap((void *)m, VMB_TOUCH_SIZE);
		return -1;
	}
	t0 = now_ns();
	for (off = 0; off < VMB_TOUCH_SIZE; off += 4096)
		m[off] = 1;
	t1 = now_ns();
	munmap((void *)m, VMB_TOUCH_SIZE);
	return (double)(t1 - t0);
}

static double sample(enum item it, bool warmup)
{
	switch (it) {
	case I_IO:
		return sample_io(warmup ? 1000 : opt.io_n);
	case I_CPUID:
		return sample_cpuid(warmup ? 1000 : opt.cpuid_n);
	case I_TOUCH:
		return sample_touch();
	case I_HOSTTOUCH:
		return sample_host_touch();
	default:
		return -1;
	}
}

static void print_result(enum item it, double v, const double *s,
			 unsigned int n)
{
	unsigned int i;

	printf("RESULT %s %s %.1f %s", be->name, item_names[it], v,
	       item_units[it]);
	if (n > 1) {
		printf(" (median of %u:", n);
		for (i = 0; i < n; i++)
			printf(" %.0f", s[i]);
		printf(")");
	}
	printf("\n");
}

static int run_timed(const bool *want)
{
	double s[I_COUNT][MAX_REPS];
	unsigned int r;
	int it;

	for (it = 0; it < I_SYSCALLS; it++) {
		if (!want[it])
			continue;
		s[it][0] = sample((enum item)it, true);
		if (s[it][0] < 0)
			return -1;
		if (opt.verbose)
			printf("# %s %s warm-up: %.0f ns\n", be->name,
			       item_names[it], s[it][0]);
	}
	for (r = 0; r < opt.reps; r++) {
		for (it = 0; it < I_SYSCALLS; it++) {
			if (!want[it])
				continue;
			s[it][r] = sample((enum item)it, false);
			if (s[it][r] < 0)
				return -1;
			if (opt.verbose)
				printf("SAMPLE %s %s %u %.1f %s (%llu run "
				       "returns)\n", be->name, item_names[it],
				       r, s[it][r], item_units[it],
				       (unsigned long long)vmb_dev.nexits);
			fflush(stdout);
		}
	}
	for (it = 0; it < I_SYSCALLS; it++)
		if (want[it])
			print_result((enum item)it, median(s[it], opt.reps),
				     s[it], opt.reps);
	fflush(stdout);
	return 0;
}

/* -------------------------------------------------------------------------- */
/*
 * System calls per I/O exit, counted by the kernel: perf counters on the
 * raw_syscalls:sys_enter and syscalls:sys_enter_ioctl tracepoints of this
 * process, enabled around the io loop. Nothing stops the process.
 */

static long tracepoint_id(const char *event)
{
	static const char *const roots[] = {
		"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events",
	};
	char path[256];
	unsigned int i;
	long id = -1;
	FILE *f;

	for (i = 0; i < sizeof(roots) / sizeof(roots[0]) && id < 0; i++) {
		snprintf(path, sizeof(path), "%s/%s/id", roots[i], event);
		f = fopen(path, "re");
		if (f == NULL)
			continue;
		if (fscanf(f, "%ld", &id) != 1)
			id = -1;
		fclose(f);
	}
	if (id < 0) {
		errno = 0;
		vmb_err("no tracepoint %s (tracefs or debugfs not mounted?)",
			event);
	}
	return id;
}

static int counter_open(const char *event, int group)
{
	struct perf_event_attr a;
	long id = tracepoint_id(event);
	int fd;

	if (id < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_TRACEPOINT;
	a.size = sizeof(a);
	a.config = (uint64_t)id;
	a.disabled = group == -1;
	a.sample_period = 0;
	fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, group,
			  PERF_FLAG_FD_CLOEXEC);
	if (fd == -1)
		vmb_err("perf_event_open(%s)", event);
	return fd;
}

/* Enable, run fn (or nothing), disable; the counts since the enable. */
static int counted(int lead, int ioc, int (*fn)(void), uint64_t *all,
		   uint64_t *ioctls)
{
	int ret = 0;

	if (ioctl(lead, PERF_EVENT_IOC_RESET, PERF_IOC_FLAG_GROUP) == -1 ||
	    ioctl(lead, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP) == -1) {
		vmb_err("PERF_EVENT_IOC_ENABLE");
		return -1;
	}
	if (fn != NULL)
		ret = fn();
	if (ioctl(lead, PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP) == -1) {
		vmb_err("PERF_EVENT_IOC_DISABLE");
		return -1;
	}
	if (read(lead, all, sizeof(*all)) != sizeof(*all) ||
	    read(ioc, ioctls, sizeof(*ioctls)) != sizeof(*ioctls)) {
		vmb_err("read(perf counter)");
		return -1;
	}
	return ret;
}

static int run_syscalls(void)
{
	uint64_t base_all, base_ioc, all, ioc, io_exits, n;
	int lead, ioc_fd = -1, ret = -1;

	lead = counter_open("raw_syscalls/sys_enter", -1);
	if (lead == -1)
		return -1;
	ioc_fd = counter_open("syscalls/sys_enter_ioctl", lead);
	if (ioc_fd == -1)
		goto out;
	/* What the counting itself adds (the disabling ioctl). */
	if (counted(lead, ioc_fd, NULL, &base_all, &base_ioc) == -1)
		goto out;
	vmb_dev_reset();
	if (be->start(VMB_ITEM_IO, opt.sys_n, 0, 0) == -1)
		goto out;
	if (counted(lead, ioc_fd, be->run, &all, &ioc) == -1)
		goto out;
	io_exits = vmb_dev.nout + vmb_dev.done;
	if (vmb_dev.nout != opt.sys_n || vmb_dev.sequence_broken ||
	    all < base_all || ioc < base_ioc) {
		errno = 0;
		vmb_err("syscalls: %llu OUTs, expected %lu",
			(unsigned long long)vmb_dev.nout, opt.sys_n);
		goto out;
	}
	n = all - base_all;
	if (opt.verbose)
		printf("# %s syscalls: %llu (ioctl %llu) during %llu I/O exits, "
		       "%llu run returns; counting adds %llu\n", be->name,
		       (unsigned long long)n,
		       (unsigned long long)(ioc - base_ioc),
		       (unsigned long long)io_exits,
		       (unsigned long long)vmb_dev.nexits,
		       (unsigned long long)base_all);
	printf("RESULT %s syscalls %.4f syscalls/exit (%llu in %llu I/O "
	       "exits, %llu run returns)\n", be->name,
	       (double)n / (double)io_exits, (unsigned long long)n,
	       (unsigned long long)io_exits,
	       (unsigned long long)vmb_dev.nexits);
	ret = 0;
out:
	if (ioc_fd != -1)
		close(ioc_fd);
	close(lead);
	return ret;
}

/* -------------------------------------------------------------------------- */
/*
 * The same count by another method, as a cross-check: the io loop in a
 * child traced with PTRACE_SYSCALL, counted between two marker system
 * calls. The tracer stops the child at every system call; a run loop that
 * makes no progress then shows up as a livelock (reported, not hidden):
 * the count stops at LIVELOCK_FACTOR system calls per expected exit.
 */

#define LIVELOCK_FACTOR	10

struct sys_report {
	uint64_t io_exits;	/* OUTs to both ports */
	uint64_t exits;		/* every return of the run loop's run call */
	int ok;
};

/* Marks the start and the end of the counted loop; nothing else uses it. */
static void marker(void)
{
	syscall(SYS_getppid);
}

static void ptrace_child(int fd)
{
	struct sys_report rep = { 0, 0, 0 };

	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == -1) {
		vmb_err("PTRACE_TRACEME");
		_exit(1);
	}
	raise(SIGSTOP);
	if (vm_open() == -1)
		_exit(1);
	vmb_dev_reset();
	if (be->start(VMB_ITEM_IO, opt.sys_n, 0, 0) == -1)
		_exit(1);
	marker();
	if (be->run() == 0)
		rep.ok = 1;
	marker();
	rep.io_exits = vmb_dev.nout + vmb_dev.done;
	rep.exits = vmb_dev.nexits;
	if (vmb_dev.nout != opt.sys_n || vmb_dev.sequence_broken)
		rep.ok = 0;
	vm_close();
	if (write(fd, &rep, sizeof(rep)) != sizeof(rep))
		_exit(1);
	_exit(rep.ok ? 0 : 1);
}

static const char *sys_name(long nr)
{
	switch (nr) {
	case SYS_read: return "read";
	case SYS_write: return "write";
	case SYS_ioctl: return "ioctl";
	case SYS_mmap: return "mmap";
	case SYS_munmap: return "munmap";
	case SYS_getpid: return "getpid";
	case SYS_gettid: return "gettid";
	case SYS_clock_gettime: return "clock_gettime";
	case SYS_futex: return "futex";
	case SYS_rt_sigprocmask: return "rt_sigprocmask";
	case SYS_sched_yield: return "sched_yield";
	default: return "?";
	}
}

static void print_hist(const unsigned long *hist, unsigned long other)
{
	long nr;

	for (nr = 0; nr < MAX_SYSCALL_NR; nr++)
		if (hist[nr])
			printf(" %s(%ld) %lu", sys_name(nr), nr, hist[nr]);
	if (other)
		printf(" other %lu", other);
}

/* Trace the child to its end; false if it ran away (the livelock guard). */
static int ptrace_count(pid_t pid, unsigned long *hist, unsigned long *other,
			unsigned long *count, int *status)
{
	const unsigned long limit = LIVELOCK_FACTOR * (opt.sys_n + 1);
	struct __ptrace_syscall_info info;
	int markers = 0, sig = 0;
	long nr;

	if (waitpid(pid, status, 0) != pid || !WIFSTOPPED(*status)) {
		vmb_err("the traced child did not stop");
		return -1;
	}
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
		   (void *)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)) == -1) {
		vmb_err("PTRACE_SETOPTIONS");
		return -1;
	}
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig) == -1) {
			vmb_err("PTRACE_SYSCALL");
			return -1;
		}
		sig = 0;
		if (waitpid(pid, status, 0) != pid) {
			vmb_err("waitpid");
			return -1;
		}
		if (WIFEXITED(*status) || WIFSIGNALED(*status))
			break;
		if (!WIFSTOPPED(*status))
			continue;
		if (WSTOPSIG(*status) != (SIGTRAP | 0x80)) {
			sig = WSTOPSIG(*status);	/* deliver it */
			continue;
		}
		if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info),
			   &info) <= 0) {
			vmb_err("PTRACE_GET_SYSCALL_INFO");
			return -1;
		}
		if (info.op != PTRACE_SYSCALL_INFO_ENTRY)
			continue;
		nr = (long)info.entry.nr;
		if (nr == SYS_getppid) {
			markers++;
			continue;
		}
		if (markers != 1)
			continue;
		(*count)++;
		if (nr >= 0 && nr < MAX_SYSCALL_NR)
			hist[nr]++;
		else
			(*other)++;
		if (*count >= limit)
			return 0;
	}
	if (markers != 2) {
		errno = 0;
		vmb_err("syscalls-ptrace: %d markers seen instead of 2",
			markers);
		return -1;
	}
	return 1;
}

static int run_syscalls_ptrace(void)
{
	static unsigned long hist[MAX_SYSCALL_NR];
	unsigned long count = 0, other = 0;
	struct sys_report rep;
	int fds[2], status = 0, ret;
	pid_t pid;

	if (pipe(fds) == -1) {
		vmb_err("pipe");
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == -1) {
		vmb_err("fork");
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		ptrace_child(fds[1]);
	}
	close(fds[1]);
	ret = ptrace_count(pid, hist, &other, &count, &status);
	if (ret != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		close(fds[0]);
		if (ret == -1)
			return -1;
		printf("# %s syscalls-ptrace: no end after %lu system calls "
		       "for %lu expected I/O exits:", be->name, count,
		       opt.sys_n + 1);
		print_hist(hist, other);
		printf("\nRESULT %s syscalls-ptrace LIVELOCK (%lu syscalls, "
		       "run loop not done)\n", be->name, count);
		fflush(stdout);
		return 0;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    read(fds[0], &rep, sizeof(rep)) != sizeof(rep) || !rep.ok) {
		errno = 0;
		vmb_err("syscalls-ptrace: the traced io loop failed");
		close(fds[0]);
		return -1;
	}
	close(fds[0]);
	if (opt.verbose) {
		printf("# %s syscalls-ptrace: %lu during %llu I/O exits (%llu "
		       "run returns):", be->name, count,
		       (unsigned long long)rep.io_exits,
		       (unsigned long long)rep.exits);
		print_hist(hist, other);
		printf("\n");
	}
	printf("RESULT %s syscalls-ptrace %.4f syscalls/exit (%lu in %llu "
	       "I/O exits)\n", be->name,
	       (double)count / (double)rep.io_exits, count,
	       (unsigned long long)rep.io_exits);
	fflush(stdout);
	return 0;
}

/* -------------------------------------------------------------------------- */
/*
 * many: MANY_VMS machines of one VCPU each, all running the io loop at once.
 * A backend keeps one VM per process, so each VM is a child process. The
 * children make and start their VMs, say so on the ready pipe and wait for
 * EOF on the go pipe; the clock runs from the parent's close of it to the
 * last child's byte on the done pipe. The children then wait for EOF on the
 * end pipe before they destroy their VMs and exit, so that no teardown
 * runs inside the timed window. A child that dies early closes its pipe
 * ends: the parent counts bytes up to EOF, never waits for one that cannot
 * come. Children die with the parent (PR_SET_PDEATHSIG); the parent reaps
 * every child it forked, on every path.
 */

#define MANY_VMS	128

enum { P_READY, P_GO, P_DONE, P_END, P_COUNT };

/* The affinity before pin_cpu(): the children's, to spread over the CPUs. */
static cpu_set_t orig_affinity;
static bool have_orig_affinity;

static _Noreturn void many_child(unsigned int idx, pid_t parent,
				   int (*p)[2])
{
	static char name[64];
	int st = 1;
	char c;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(1);
	/* The parent's ends (EOF on go and end needs every writer gone). */
	close(p[P_READY][0]);
	close(p[P_GO][1]);
	close(p[P_DONE][0]);
	close(p[P_END][1]);
	/* Every error message names the child. */
	snprintf(name, sizeof(name), "%s: many: child %u", be->name, idx);
	vmb_backend_name = name;
	if (have_orig_affinity &&
	    sched_setaffinity(0, sizeof(orig_affinity), &orig_affinity) == -1)
		vmb_err("warning: cannot unpin");
	if (vm_open() == -1)
		_exit(1);
	vmb_dev_reset();
	if (be->start(VMB_ITEM_IO, opt.many_n, 0, 0) == -1)
		goto out;
	if (write(p[P_READY][1], "r", 1) != 1) {
		vmb_err("write(ready)");
		goto out;
	}
	close(p[P_READY][1]);
	if (read(p[P_GO][0], &c, 1) != 0) {	/* EOF is the go */
		vmb_err("read(go)");
		goto out;
	}
	if (be->run() == -1 || io_check("io", opt.many_n) == -1)
		goto out;
	if (write(p[P_DONE][1], "d", 1) != 1) {
		vmb_err("write(done)");
		goto out;
	}
	close(p[P_DONE][1]);
	st = 0;
	while (read(p[P_END][0], &c, 1) == -1 && errno == EINTR)
		;				/* EOF: the clock stopped */
out:
	vm_close();
	_exit(st);
}

/* Bytes from fd up to want or EOF (every writer gone). */
static unsigned int count_bytes(int fd, unsigned int want)
{
	char buf[MANY_VMS];
	unsigned int got = 0;
	ssize_t r;

	while (got < want) {
		r = read(fd, buf, want - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (unsigned int)r;
	}
	return got;
}

/* Free memory, for the -v line (MiB; -1 if unknown). */
static long mem_available_mib(void)
{
	char line[128];
	long kib = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "MemAvailable: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib < 0 ? -1 : kib / 1024;
}

#define MANY_SAID	8	/* children whose end is told, then a count */

/*
 * Reap every child; false if one did not exit 0. Says how each of the
 * first MANY_SAID such children ended (but those the parent killed
 * itself, when @killed), then how many did.
 */
static bool many_reap(const pid_t *pids, unsigned int n, bool killed)
{
	unsigned int i, bad = 0;
	bool ok = true;
	int status;

	for (i = 0; i < n; i++) {
		while (waitpid(pids[i], &status, 0) == -1) {
			if (errno != EINTR) {
				vmb_err("many: waitpid(child %u)", i);
				status = -1;
				break;
			}
		}
		if (status != -1 && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			continue;
		ok = false;
		errno = 0;
		if (status == -1 ||
		    (killed && WIFSIGNALED(status) &&
		     WTERMSIG(status) == SIGKILL) ||
		    ++bad > MANY_SAID)
			continue;
		if (WIFSIGNALED(status))
			vmb_err("many: child %u (pid %d) killed by signal %d",
				i, (int)pids[i], WTERMSIG(status));
		else
			vmb_err("many: child %u (pid %d) exited with status %d",
				i, (int)pids[i], WEXITSTATUS(status));
	}
	if (bad > MANY_SAID) {
		errno = 0;
		vmb_err("many: %u children of %u failed", bad, n);
	}
	return ok;
}

static double sample_many(unsigned long n)
{
	pid_t pids[MANY_VMS];
	int p[P_COUNT][2];
	unsigned int i, nforked = 0, nready, ndone = 0;
	uint64_t t0 = 0, t1 = 0;
	long mem0 = -1;
	bool failed = true, killed = false;
	pid_t self = getpid();

	for (i = 0; i < P_COUNT; i++)
		p[i][0] = p[i][1] = -1;
	for (i = 0; i < P_COUNT; i++) {
		if (pipe2(p[i], O_CLOEXEC) == -1) {
			vmb_err("many: pipe");
			goto out;
		}
	}
	if (opt.verbose)
		mem0 = mem_available_mib();
	fflush(stdout);
	fflush(stderr);
	for (nforked = 0; nforked < MANY_VMS; nforked++) {
		pids[nforked] = fork();
		if (pids[nforked] == -1) {
			vmb_err("many: fork (child %u)", nforked);
			break;
		}
		if (pids[nforked] == 0)
			many_child(nforked, self, p);
	}
	/* The children's ends: EOF on ready and done once they are gone. */
	close(p[P_READY][1]);
	close(p[P_DONE][1]);
	p[P_READY][1] = p[P_DONE][1] = -1;
	if (nforked < MANY_VMS)
		goto kill;
	nready = count_bytes(p[P_READY][0], MANY_VMS);
	if (nready < MANY_VMS) {
		errno = 0;
		vmb_err("many: %u of %d VMs ready", nready, MANY_VMS);
		goto kill;
	}
	if (opt.verbose && mem0 >= 0)
		printf("# %s many: %d VMs ready, MemAvailable %ld -> %ld MiB\n",
		       be->name, MANY_VMS, mem0, mem_available_mib());
	t0 = now_ns();
	close(p[P_GO][1]);
	p[P_GO][1] = -1;
	ndone = count_bytes(p[P_DONE][0], MANY_VMS);
	t1 = now_ns();
	if (ndone == MANY_VMS)
		failed = false;
	else {
		errno = 0;
		vmb_err("many: %u of %d VMs done", ndone, MANY_VMS);
	}
	goto reap;

kill:
	/* Before the go: none of them may run its loop. */
	for (i = 0; i < nforked; i++)
		kill(pids[i], SIGKILL);
	killed = true;
reap:
	/* Let them go, destroy their VMs and exit. */
	if (p[P_END][1] != -1)
		close(p[P_END][1]);
	p[P_END][1] = -1;
	if (!many_reap(pids, nforked, killed))
		failed = true;
out:
	for (i = 0; i < P_COUNT; i++) {
		if (p[i][0] != -1)
			close(p[i][0]);
		if (p[i][1] != -1)
			close(p[i][1]);
	}
	if (failed)
		return -1;
	/* Each VM's OUT to the done port is a round trip too. */
	return (double)MANY_VMS * (double)(n + 1) * 1e9 / (double)(t1 - t0);
}

static int run_many(void)
{
	double s[MAX_REPS];
	unsigned int r;

	for (r = 0; r < opt.reps; r++) {
		s[r] = sample_many(opt.many_n);
		if (s[r] < 0)
			return -1;
		if (opt.verbose)
			printf("SAMPLE %s many %u %.1f exits/s (%d VMs x %lu "
			       "exits in %.1f ms)\n", be->name, r, s[r],
			       MANY_VMS, opt.many_n + 1,
			       (double)MANY_VMS * (double)(opt.many_n + 1) /
			       s[r] * 1e3);
	}
	print_result(I_MANY, median(s, opt.reps), s, opt.reps);
	return 0;
}

/* -------------------------------------------------------------------------- */

static unsigned long parse_ul(const char *s, unsigned long min,
			      unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "vmbench: bad number '%s' (%lu..%lu)\n", s,
			min, max);
		exit(2);
	}
	return v;
}

static void pin_cpu(void)
{
	cpu_set_t set;

	if (opt.cpu < 0)
		return;
	have_orig_affinity = sched_getaffinity(0, sizeof(orig_affinity),
					       &orig_affinity) == 0;
	CPU_ZERO(&set);
	CPU_SET(opt.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == -1)
		vmb_err("warning: cannot pin to CPU %d", opt.cpu);
}

int main(int argc, char **argv)
{
	bool want[I_COUNT] = { false };
	bool inproc = false;
	int c, i, it, rc = 0;

	while ((c = getopt(argc, argv, "vr:n:c:s:m:l:C:")) != -1) {
		switch (c) {
		case 'v': opt.verbose = true; break;
		case 'r': opt.reps = parse_ul(optarg, 1, MAX_REPS); break;
		case 'n': opt.io_n = parse_ul(optarg, 1, 1UL << 31); break;
		case 'c': opt.cpuid_n = parse_ul(optarg, 1, 1UL << 31); break;
		case 's': opt.sys_n = parse_ul(optarg, 1, 1UL << 31); break;
		case 'm': opt.many_n = parse_ul(optarg, 1, 1UL << 31); break;
		case 'l':
			opt.leaf = (uint32_t)parse_ul(optarg, 0, 0xFFFFFFFF);
			break;
		case 'C':
			opt.cpu = strcmp(optarg, "-1") == 0 ? -1 :
				  (int)parse_ul(optarg, 0, CPU_SETSIZE - 1);
			break;
		default: usage();
		}
	}
	if (argc - optind < 2)
		usage();
	if (strcmp(argv[optind], "nvmm") == 0)
		be = &vmb_nvmm;
	else if (strcmp(argv[optind], "kvm") == 0)
		be = &vmb_kvm;
	else
		usage();
	vmb_backend_name = be->name;
	for (i = optind + 1; i < argc; i++) {
		if (strcmp(argv[i], "all") == 0) {
			for (it = 0; it <= I_SYSCALLS; it++)
				want[it] = true;
			continue;
		}
		for (it = 0; it < I_COUNT; it++)
			if (strcmp(argv[i], item_names[it]) == 0)
				break;
		if (it == I_COUNT)
			usage();
		want[it] = true;
	}
	for (it = 0; it <= I_SYSCALLS; it++)
		inproc |= want[it];

	setvbuf(stdout, NULL, _IOLBF, 0);
	pin_cpu();
	printf("# vmbench %s: %u samples; io %lu exits, cpuid %lu x leaf %#x, "
	       "touch %d MiB, syscalls %lu exits, many %d x %lu exits\n",
	       be->name, opt.reps, opt.io_n, opt.cpuid_n, opt.leaf,
	       VMB_TOUCH_SIZE >> 20, opt.sys_n, MANY_VMS, opt.many_n);
	if (inproc) {
		if (vm_open() == -1)
			return 1;
		if (run_timed(want) == -1 ||
		    (want[I_SYSCALLS] && run_syscalls() == -1))
			rc = 1;
		vm_close();
	}
	/* After vm_close(): the child makes its own machine. */
	if (rc == 0 && want[I_PTRACE] && run_syscalls_ptrace() == -1)
		rc = 1;
	/* Its own machines too, one per sample. */
	if (rc == 0 && want[I_SETUP] && run_setup() == -1)
		rc = 1;
	/* Every machine nvmm allows, so none of this process's may remain. */
	if (rc == 0 && want[I_MANY] && run_many() == -1)
		rc = 1;
	return rc;
}
