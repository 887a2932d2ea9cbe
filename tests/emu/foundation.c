/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The /dev/nvmm object model, run inside an emulated host with nvmm.ko:
 * capability, limits, ownership, lifetime, comm page mapping rules and
 * resistance to garbage ioctls.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"

#define PAGE 4096

static struct nvmm_capability cap;

static void get_cap(void)
{
	int fd = emu_open(O_RDWR);
	struct nvmm_ioc_capability args;

	ck_assert_int_eq(emu_ioctl(fd, NVMM_IOC_CAPABILITY, &args), 0);
	cap = args.cap;
	close(fd);
}

static int machine_create(int fd, nvmm_machid_t *id)
{
	struct nvmm_ioc_machine_create args = { 0 };
	int ret = emu_ioctl(fd, NVMM_IOC_MACHINE_CREATE, &args);

	*id = args.machid;
	return ret;
}

static int machine_destroy(int fd, nvmm_machid_t id)
{
	struct nvmm_ioc_machine_destroy args = { .machid = id };

	return emu_ioctl(fd, NVMM_IOC_MACHINE_DESTROY, &args);
}

static int vcpu_create(int fd, nvmm_machid_t id, nvmm_cpuid_t cpu)
{
	struct nvmm_ioc_vcpu_create args = { .machid = id, .cpuid = cpu };

	return emu_ioctl(fd, NVMM_IOC_VCPU_CREATE, &args);
}

static int vcpu_destroy(int fd, nvmm_machid_t id, nvmm_cpuid_t cpu)
{
	struct nvmm_ioc_vcpu_destroy args = { .machid = id, .cpuid = cpu };

	return emu_ioctl(fd, NVMM_IOC_VCPU_DESTROY, &args);
}

static int mach_info(int fd, nvmm_machid_t id, struct nvmm_ctl_mach_info *info)
{
	struct nvmm_ioc_ctl args = {
		.op = NVMM_CTL_MACH_INFO,
		.data = (uintptr_t)info,
		.size = sizeof(*info),
	};

	memset(info, 0, sizeof(*info));
	info->machid = id;
	return emu_ioctl(fd, NVMM_IOC_CTL, &args);
}

static int mach_mem(int fd, nvmm_machid_t id, struct nvmm_ctl_mach_mem *mem)
{
	struct nvmm_ioc_ctl args = {
		.op = NVMM_CTL_MACH_MEM,
		.data = (uintptr_t)mem,
		.size = sizeof(*mem),
	};

	memset(mem, 0, sizeof(*mem));
	mem->machid = id;
	return emu_ioctl(fd, NVMM_IOC_CTL, &args);
}

static void assert_stats_eq(const struct emu_stats *a,
			    const struct emu_stats *b)
{
	ck_assert_int_eq(a->machines, b->machines);
	ck_assert_int_eq(a->vcpus, b->vcpus);
	ck_assert_int_eq(a->pages, b->pages);
}

/* -------------------------------------------------------------------------- */

START_TEST(capability_sane)
{
	struct nvmm_capability c;

	ck_assert_int_eq(nvmm_init(), 0);
	ck_assert_int_eq(nvmm_capability(&c), 0);
	ck_assert_uint_eq(c.version, NVMM_KERN_VERSION);
	ck_assert_uint_eq(c.state_size, sizeof(struct nvmm_x64_state));
	ck_assert_uint_ge(c.max_machines, 128);
	ck_assert_uint_ge(c.max_vcpus, 256);
	ck_assert_uint_ge(c.max_ram, 128ULL << 30);
	/* x87 and SSE always; nothing beyond the AVX/AVX-512 state. */
	ck_assert_uint_eq(c.arch.xcr0_mask & 3, 3);
	ck_assert_uint_eq(c.arch.xcr0_mask & ~0xE7ULL, 0);
	ck_assert_uint_eq(c.arch.mxcsr_mask & 0xFFBF, 0xFFBF);
	/* Bit 17 (MM) exists on AMD CPUs with misaligned SSE. */
	ck_assert_uint_eq(c.arch.mxcsr_mask & ~0x2FFFFu, 0);
	ck_assert_uint_ge(c.arch.conf_cpuid_maxops, 1);
	ck_assert(c.arch.vcpu_conf_support & NVMM_CAP_ARCH_VCPU_CONF_CPUID);
	if (strcmp(emu_lane(), "vmx") == 0)
		ck_assert(c.arch.vcpu_conf_support &
			  NVMM_CAP_ARCH_VCPU_CONF_TPR);
	ksft_print("version %u, %u machines x %u VCPUs, %" PRIu64
		   " GiB, xcr0 %#" PRIx64 ", mxcsr %#x, conf %#" PRIx64,
		   c.version, c.max_machines, c.max_vcpus, c.max_ram >> 30,
		   c.arch.xcr0_mask, c.arch.mxcsr_mask,
		   c.arch.vcpu_conf_support);
}
END_TEST

START_TEST(machines_limit)
{
	nvmm_machid_t id, ids[1024];
	unsigned int n = 0, i;
	int fd, ret;

	get_cap();
	fd = emu_open(O_RDWR);
	while ((ret = machine_create(fd, &id)) == 0) {
		ck_assert_uint_lt(n, 1024);
		ck_assert_uint_lt(id, cap.max_machines);
		ids[n++] = id;
	}
	ck_assert_int_eq(ret, -ENOBUFS);
	ck_assert_uint_eq(n, cap.max_machines);
	ck_assert_uint_eq(n, 128);
	for (i = 0; i < n; i++)
		for (unsigned int j = i + 1; j < n; j++)
			ck_assert_uint_ne(ids[i], ids[j]);

	/* A freed slot is reused, and only one. */
	ck_assert_int_eq(machine_destroy(fd, ids[57]), 0);
	ck_assert_int_eq(machine_destroy(fd, ids[57]), -ENOENT);
	ck_assert_int_eq(machine_create(fd, &id), 0);
	ck_assert_uint_eq(id, ids[57]);
	ck_assert_int_eq(machine_create(fd, &id), -ENOBUFS);

	for (i = 0; i < n; i++)
		ck_assert_int_eq(machine_destroy(fd, ids[i]), 0);
	ck_assert_int_eq(machine_destroy(fd, cap.max_machines), -EINVAL);
	close(fd);
}
END_TEST

START_TEST(vcpus_limit)
{
	static struct nvmm_vcpu vcpus[256];
	struct nvmm_machine mach;
	struct nvmm_vcpu extra;
	struct emu_stats before, during;
	unsigned int i;

	emu_stats(&before);
	ck_assert_int_eq(nvmm_init(), 0);
	ck_assert_int_eq(nvmm_machine_create(&mach), 0);
	for (i = 0; i < 256; i++) {
		ck_assert_msg(nvmm_vcpu_create(&mach, i, &vcpus[i]) == 0,
			      "VCPU %u: %s", i, strerror(errno));
		ck_assert_ptr_nonnull(vcpus[i].state);
	}
	/* Ids are 0..255: NetBSD refuses 256 and above with EINVAL. */
	ck_assert_int_eq(nvmm_vcpu_create(&mach, 256, &extra), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(nvmm_vcpu_create(&mach, 17, &extra), -1);
	ck_assert_int_eq(errno, EBUSY);

	emu_stats(&during);
	ck_assert_int_eq(during.vcpus, before.vcpus + 256);
	ck_assert_int_eq(during.machines, before.machines + 1);

	for (i = 0; i < 256; i += 2)
		ck_assert_int_eq(nvmm_vcpu_destroy(&mach, &vcpus[i]), 0);
	ck_assert_int_eq(nvmm_machine_destroy(&mach), 0);
	emu_stats(&during);
	assert_stats_eq(&during, &before);
}
END_TEST

/* Open, fill, close: 1000 times; nothing may remain. */
START_TEST(close_frees_everything)
{
	struct emu_stats before, after;
	long free_before, free_after, slab_before, slab_after;
	unsigned int cycle;

	emu_drop_caches();
	emu_stats(&before);
	free_before = emu_meminfo("MemFree");
	slab_before = emu_meminfo("Slab");

	for (cycle = 0; cycle < 1000; cycle++) {
		int fd = emu_open(O_RDWR);
		nvmm_machid_t id[2];
		void *p;

		for (int m = 0; m < 2; m++) {
			ck_assert_int_eq(machine_create(fd, &id[m]), 0);
			for (int c = 0; c < 4; c++)
				ck_assert_int_eq(vcpu_create(fd, id[m], c), 0);
		}
		p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 NVMM_COMM_OFF(id[1], 3));
		ck_assert(p != MAP_FAILED);
		memset(p, 0xA5, 64);
		ck_assert_int_eq(munmap(p, PAGE), 0);
		if (cycle % 2)
			ck_assert_int_eq(vcpu_destroy(fd, id[0], 1), 0);
		close(fd);
		/* Signs of life for the runner's stall watch (Bochs is slow). */
		if ((cycle + 1) % 250 == 0 && cycle + 1 < 1000)
			ksft_print("%u cycles", cycle + 1);
	}

	emu_drop_caches();
	emu_stats(&after);
	assert_stats_eq(&after, &before);
	free_after = emu_meminfo("MemFree");
	slab_after = emu_meminfo("Slab");
	ksft_print("MemFree %ld -> %ld kB, Slab %ld -> %ld kB", free_before,
		   free_after, slab_before, slab_after);
	/* 1000 cycles allocated ~16000 pages (64 MiB): a leak would show. */
	ck_assert_int_lt(free_before - free_after, 8 * 1024);
	ck_assert_int_lt(slab_after - slab_before, 4 * 1024);
}
END_TEST

START_TEST(destroy_machine_with_vcpus)
{
	struct emu_stats before, after;
	nvmm_machid_t id;
	int fd;

	emu_stats(&before);
	fd = emu_open(O_RDWR);
	ck_assert_int_eq(machine_create(fd, &id), 0);
	for (int c = 0; c < 16; c++)
		ck_assert_int_eq(vcpu_create(fd, id, c * 15), 0);
	ck_assert_int_eq(vcpu_destroy(fd, id, 1), -ENOENT);
	ck_assert_int_eq(vcpu_destroy(fd, id, 15), 0);
	ck_assert_int_eq(vcpu_destroy(fd, id, 15), -ENOENT);
	ck_assert_int_eq(vcpu_destroy(fd, id, 300), -EINVAL);
	ck_assert_int_eq(machine_destroy(fd, id), 0);
	ck_assert_int_eq(vcpu_create(fd, id, 0), -ENOENT);
	emu_stats(&after);
	assert_stats_eq(&after, &before);
	close(fd);
}
END_TEST

/* Another process: neither through its own descriptor nor an inherited one. */
START_TEST(other_process_eperm)
{
	struct nvmm_ctl_mach_info info;
	struct nvmm_ctl_mach_mem mem;
	nvmm_machid_t id;
	int fd, pid;

	fd = emu_open(O_RDWR);
	ck_assert_int_eq(machine_create(fd, &id), 0);
	ck_assert_int_eq(vcpu_create(fd, id, 0), 0);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int own = open("/dev/nvmm", O_RDWR | O_CLOEXEC);
		int bad = 0;

		/* The inherited descriptor: same owner, other process. */
		bad |= (machine_destroy(fd, id) != -EPERM) << 0;
		bad |= (vcpu_create(fd, id, 1) != -EPERM) << 1;
		bad |= (vcpu_destroy(fd, id, 0) != -EPERM) << 2;
		bad |= (mach_info(fd, id, &info) != -EPERM) << 3;
		bad |= (mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			     fd, NVMM_COMM_OFF(id, 0)) != MAP_FAILED) << 4;
		/* Its own descriptor: another owner. */
		bad |= (own < 0) << 5;
		bad |= (machine_destroy(own, id) != -EPERM) << 6;
		bad |= (vcpu_destroy(own, id, 0) != -EPERM) << 7;
		bad |= (mach_info(own, id, &info) != -EPERM) << 8;
		bad |= (mmap(NULL, PAGE, PROT_READ, MAP_SHARED, own,
			     NVMM_COMM_OFF(id, 0)) != MAP_FAILED) << 9;
		bad |= (mach_mem(fd, id, &mem) != -EPERM) << 10;
		bad |= (mach_mem(own, id, &mem) != -EPERM) << 11;
		_exit(bad ? 100 + __builtin_ctz(bad) : 0);
	}
	ck_assert_int_eq(emu_wait(pid), 0);

	/* Still intact for its owner. */
	ck_assert_int_eq(vcpu_create(fd, id, 0), -EBUSY);
	ck_assert_int_eq(mach_info(fd, id, &info), 0);
	ck_assert_uint_eq(info.nvcpus, 1);
	ck_assert_int_eq(info.pid, getpid());
	ck_assert_int_eq(mach_mem(fd, id, &mem), 0);
	ck_assert_uint_eq(mem.mapped_pages, 0);
	ck_assert_uint_eq(mem.pt_pages, 0);
	ck_assert_int_eq(machine_destroy(fd, id), 0);
	ck_assert_int_eq(mach_mem(fd, id, &mem), -ENOENT);
	close(fd);
}
END_TEST

/*
 * A machine belongs to the process that created it (NetBSD's rule for the
 * guest memory): one a fork child created through the inherited
 * descriptor goes when the child goes, though the parent holds the
 * descriptor still; the parent could never use it (EPERM).
 */
START_TEST(child_machine_goes_with_child)
{
	struct emu_stats s0, s1;
	nvmm_machid_t id;
	int fd, pid, p[2], i;

	fd = emu_open(O_RDWR);
	emu_stats(&s0);
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		nvmm_machid_t mine;

		close(p[0]);
		if (machine_create(fd, &mine) || vcpu_create(fd, mine, 0))
			_exit(1);
		if (write(p[1], &mine, sizeof(mine)) != sizeof(mine))
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &id, sizeof(id)), sizeof(id));
	close(p[0]);
	ck_assert_int_eq(emu_wait(pid), 0);
	for (i = 0; i < 100; i++) {
		emu_stats(&s1);
		if (s1.machines == s0.machines && s1.vcpus == s0.vcpus)
			break;
		usleep(20000);
	}
	ck_assert_msg(s1.machines == s0.machines && s1.vcpus == s0.vcpus,
		      "the child's machine outlived it: machines %ld -> %ld, "
		      "vcpus %ld -> %ld", s0.machines, s1.machines, s0.vcpus,
		      s1.vcpus);
	/* Gone, not someone else's: the slot is free again. */
	ck_assert_int_eq(machine_destroy(fd, id), -ENOENT);
	close(fd);
}
END_TEST

/* A create whose answer cannot be written leaves no machine behind. */
START_TEST(create_unwritable_arg_leaves_nothing)
{
	struct emu_stats s0, s1;
	void *ro;
	int fd;

	fd = emu_open(O_RDWR);
	ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(ro != MAP_FAILED);
	emu_stats(&s0);
	ck_assert_int_eq(emu_ioctl(fd, NVMM_IOC_MACHINE_CREATE, ro), -EFAULT);
	emu_stats(&s1);
	ck_assert_int_eq(s1.machines, s0.machines);
	ck_assert_int_eq(s1.pages, s0.pages);
	munmap(ro, PAGE);
	close(fd);
}
END_TEST

START_TEST(root_owner_lists_machines)
{
	struct nvmm_ctl_mach_info info;
	struct nvmm_ctl_mach_mem mem;
	nvmm_machid_t ids[3];
	unsigned int found = 0;
	int fd, root, pid, i;

	if (geteuid() != 0)
		ksft_skip("needs root");
	get_cap();
	fd = emu_open(O_RDWR);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(machine_create(fd, &ids[i]), 0);
		for (int c = 0; c <= i; c++)
			ck_assert_int_eq(vcpu_create(fd, ids[i], c), 0);
	}

	/* The root owner is another process here, as nvmmctl would be. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		nvmm_machid_t nid;

		root = open("/dev/nvmm", O_WRONLY | O_CLOEXEC);
		if (root < 0)
			_exit(10);
		for (nvmm_machid_t m = 0; m < cap.max_machines; m++) {
			int ret = mach_info(root, m, &info);

			if (ret == -ENOENT)
				continue;
			if (ret != 0)
				_exit(11);
			for (i = 0; i < 3; i++) {
				if (m != ids[i])
					continue;
				if (info.nvcpus != (uint32_t)i + 1 ||
				    info.pid != getppid() || info.time == 0)
					_exit(12);
				if (mach_mem(root, m, &mem) != 0 ||
				    mem.mapped_pages || mem.pt_pages)
					_exit(15);
				found++;
			}
		}
		if (found != 3)
			_exit(13);
		/* Inspecting is all the root owner may do. */
		if (machine_create(root, &nid) != -EPERM ||
		    machine_destroy(root, ids[0]) != -EPERM ||
		    vcpu_create(root, ids[0], 5) != -EPERM)
			_exit(14);
		_exit(0);
	}
	ck_assert_int_eq(emu_wait(pid), 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(machine_destroy(fd, ids[i]), 0);
	close(fd);
}
END_TEST

START_TEST(root_owner_needs_root)
{
	struct stat st;
	int pid;

	if (geteuid() != 0)
		ksft_skip("needs root to change users");
	ck_assert_int_eq(stat("/dev/nvmm", &st), 0);
	ck_assert_int_eq(chmod("/dev/nvmm", 0666), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		fd = open("/dev/nvmm", O_WRONLY | O_CLOEXEC);
		if (fd >= 0 || errno != EPERM)
			_exit(11);
		if (nvmm_root_init() != -1 || errno != EPERM)
			_exit(12);
		fd = open("/dev/nvmm", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			_exit(13);
		_exit(0);
	}
	ck_assert_int_eq(emu_wait(pid), 0);
	ck_assert_int_eq(chmod("/dev/nvmm", st.st_mode & 07777), 0);
}
END_TEST

START_TEST(readonly_handle)
{
	struct nvmm_ioc_capability args;
	nvmm_machid_t id;
	int fd = open("/dev/nvmm", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(emu_ioctl(fd, NVMM_IOC_CAPABILITY, &args), 0);
	ck_assert_int_eq(machine_create(fd, &id), -EBADF);
	close(fd);
}
END_TEST

/* Linux hides O_CLOEXEC from drivers: the first ioctl checks it. */
START_TEST(cloexec_required)
{
	struct nvmm_ioc_capability args;
	int fd, dupfd;

	fd = open("/dev/nvmm", O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(emu_ioctl(fd, NVMM_IOC_CAPABILITY, &args), -EINVAL);
	ck_assert_int_eq(fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
	ck_assert_int_eq(emu_ioctl(fd, NVMM_IOC_CAPABILITY, &args), 0);
	close(fd);

	/* A duplicate without close-on-exec is caught too. */
	fd = emu_open(O_RDWR);
	dupfd = dup(fd);
	ck_assert_int_ge(dupfd, 0);
	ck_assert_int_eq(emu_ioctl(fd, NVMM_IOC_CAPABILITY, &args), -EINVAL);
	close(dupfd);
	ck_assert_int_eq(emu_ioctl(fd, NVMM_IOC_CAPABILITY, &args), 0);
	close(fd);
}
END_TEST

static char self_exe[4096];

/*
 * In a child, make a machine with make() (0 on success), then exec this
 * program with the counters from before: the new image checks that the
 * machines went with the address space exec replaced.
 */
static void exec_checks_counters(int (*make)(void))
{
	struct emu_stats before;
	char arg[64];
	int pid;

	emu_stats(&before);
	snprintf(arg, sizeof(arg), "%ld:%ld:%ld", before.machines,
		 before.vcpus, before.pages);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (make())
			_exit(10);
		execl(self_exe, self_exe, "--check-stats", arg, (char *)NULL);
		_exit(11);
	}
	ck_assert_int_eq(emu_wait(pid), 0);
}

static int make_with_libvmm(void)
{
	static struct nvmm_machine mach;
	static struct nvmm_vcpu vcpu;

	return nvmm_init() || nvmm_machine_create(&mach) ||
	       nvmm_vcpu_create(&mach, 0, &vcpu);
}

/* Machines die with exec: the new image checks the counters. */
START_TEST(exec_frees_machines)
{
	exec_checks_counters(make_with_libvmm);
}
END_TEST

/*
 * A descriptor made to survive exec after the close-on-exec check: dup2 to
 * one without it.
 */
static int make_then_dup2(void)
{
	nvmm_machid_t id;
	int fd = open("/dev/nvmm", O_RDWR | O_CLOEXEC);

	return fd < 0 || machine_create(fd, &id) || vcpu_create(fd, id, 0) ||
	       dup2(fd, 100) != 100;
}

/*
 * That descriptor keeps the file open, but not the machines: they go with
 * the address space that exec replaced.
 */
START_TEST(exec_after_dup2_frees_machines)
{
	exec_checks_counters(make_then_dup2);
}
END_TEST

START_TEST(kill9_frees_everything)
{
	struct emu_stats before, after;
	int pfd[2], pid;
	char c;

	emu_stats(&before);
	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct nvmm_machine mach[3];
		struct nvmm_vcpu vcpu[8];

		if (nvmm_init())
			_exit(10);
		for (int m = 0; m < 3; m++) {
			if (nvmm_machine_create(&mach[m]))
				_exit(11);
			for (int v = 0; v < 8; v++)
				if (nvmm_vcpu_create(&mach[m], v, &vcpu[v]))
					_exit(12);
		}
		if (write(pfd[1], "r", 1) != 1)
			_exit(13);
		for (;;)
			pause();
	}
	close(pfd[1]);
	ck_assert_int_eq(read(pfd[0], &c, 1), 1);
	emu_stats(&after);
	ck_assert_int_eq(after.machines, before.machines + 3);
	ck_assert_int_eq(after.vcpus, before.vcpus + 24);
	kill(pid, SIGKILL);
	ck_assert_int_eq(emu_wait(pid), 128 + SIGKILL);
	close(pfd[0]);
	emu_stats(&after);
	assert_stats_eq(&after, &before);
}
END_TEST

START_TEST(comm_page_mmap_rules)
{
	nvmm_machid_t id;
	uint64_t off;
	char *p;
	int fd, pid;

	fd = emu_open(O_RDWR);
	ck_assert_int_eq(machine_create(fd, &id), 0);
	ck_assert_int_eq(vcpu_create(fd, id, 7), 0);
	off = NVMM_COMM_OFF(id, 7);

	/* One page, shared, never executable, exact offsets only. */
	ck_assert(mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       off) == MAP_FAILED);
	ck_assert(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
		       off) == MAP_FAILED);
	ck_assert(mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_SHARED, fd,
		       off) == MAP_FAILED);
	ck_assert(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd,
		       off | (1ULL << 40)) == MAP_FAILED);
	ck_assert(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd,
		       NVMM_COMM_OFF(id, 8)) == MAP_FAILED);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd,
		       NVMM_COMM_OFF(200, 0)) == MAP_FAILED);
	ck_assert_int_eq(errno, EINVAL);

	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	ck_assert(p != MAP_FAILED);
	ck_assert_int_eq(mprotect(p, PAGE, PROT_READ | PROT_EXEC), -1);
	memset(p, 0x5A, PAGE);

	/* Not inherited by a child. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		*(volatile char *)p = 1;
		_exit(0);
	}
	ck_assert_int_eq(emu_wait(pid), 128 + SIGSEGV);
	/* And madvise cannot make it so. */
	ck_assert_int_eq(madvise(p, PAGE, MADV_DOFORK), -1);
	ck_assert_int_eq(errno, EINVAL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		*(volatile char *)p = 1;
		_exit(0);
	}
	ck_assert_int_eq(emu_wait(pid), 128 + SIGSEGV);

	/* The mapping outlives the VCPU without reaching freed memory. */
	ck_assert_int_eq(vcpu_destroy(fd, id, 7), 0);
	ck_assert_int_eq((unsigned char)p[100], 0x5A);
	memset(p, 0x11, PAGE);
	ck_assert_int_eq(vcpu_create(fd, id, 7), 0);
	ck_assert_int_eq(munmap(p, PAGE), 0);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, off);
	ck_assert(p != MAP_FAILED);
	ck_assert_int_eq(p[100], 0);	/* a fresh page */
	ck_assert_int_eq(munmap(p, PAGE), 0);
	ck_assert_int_eq(machine_destroy(fd, id), 0);
	close(fd);
}
END_TEST

/* -------------------------------------------------------------------------- */
/* Garbage ioctls: every one gets an errno, none hurts the host. */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const unsigned long fuzz_cmds[] = {
	NVMM_IOC_CAPABILITY, NVMM_IOC_MACHINE_CREATE,
	NVMM_IOC_MACHINE_DESTROY, NVMM_IOC_MACHINE_CONFIGURE,
	NVMM_IOC_VCPU_CREATE, NVMM_IOC_VCPU_DESTROY,
	NVMM_IOC_VCPU_CONFIGURE, NVMM_IOC_VCPU_GETSTATE,
	NVMM_IOC_VCPU_RUN, NVMM_IOC_HVA_MAP, NVMM_IOC_HVA_UNMAP,
	NVMM_IOC_GPA_MAP, NVMM_IOC_GPA_UNMAP, NVMM_IOC_CTL,
};

static uint64_t fuzz_value(void *buf)
{
	switch (rnd() % 12) {
	case 0: return 0;
	case 1: return rnd() % 4;
	case 2: return rnd() % 300;		/* ids near the limits */
	case 3: return (uint64_t)(uintptr_t)buf;
	case 4: return (uint64_t)(uintptr_t)buf + (rnd() % 8192);
	case 5: return 0xFFFFFFFF81000000ULL;	/* kernel text */
	case 6: return 0xFFFF888000000000ULL;	/* direct map */
	case 7: return 0x00007FFFFFFFF000ULL;	/* unmapped user */
	case 8: return (rnd() % 64) << 12;	/* page-sized values */
	case 9: return ~0ULL;
	case 10: return 1ULL << (rnd() % 64);
	default: return rnd();
	}
}

static bool fuzz_errno_ok(int e)
{
	switch (e) {
	case EINVAL: case ENOENT: case EPERM: case EFAULT: case ENOTTY:
	case EBUSY: case ENOBUFS: case ENOMEM: case EOPNOTSUPP: case EBADF:
	case EEXIST: case E2BIG: case ERANGE: case EACCES:
		return true;
	default:
		return false;
	}
}

static void fuzz_tick(int sig)
{
	(void)sig;
}

static int fuzz_run(uint64_t seed, unsigned int count, bool no_runs)
{
	static uint8_t page[8192] __attribute__((aligned(4096)));
	struct itimerval tick = {
		.it_interval = { .tv_usec = 20000 },
		.it_value = { .tv_usec = 20000 },
	};
	struct sigaction sa = { .sa_handler = fuzz_tick };
	uint64_t args[8];
	unsigned int i, bad = 0, ok = 0;
	int fd;

	/* A guest that never exits must not hold a run forever. */
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &tick, NULL);
	rng_state = seed ? seed : 1;
	fd = open("/dev/nvmm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 2;
	for (i = 0; i < count; i++) {
		unsigned long cmd;
		int ret, k;

		/* Signs of life for the runner's stall watch (Bochs is slow). */
		if (i % 2500 == 0 && i > 0)
			ksft_print("%u ioctls", i);
		for (k = 0; k < 8; k++)
			args[k] = fuzz_value(page);
		switch (rnd() % 8) {
		case 0:		/* any number at all */
			cmd = (unsigned long)(uint32_t)rnd();
			break;
		case 1:		/* ours, with a wrong size or direction */
			cmd = fuzz_cmds[rnd() % 14];
			cmd ^= (unsigned long)(rnd() % 0x3FFF) << 16;
			break;
		case 2:		/* ours, pointing at junk */
			cmd = fuzz_cmds[rnd() % 14];
			if (no_runs && cmd == NVMM_IOC_VCPU_RUN)
				continue;
			ret = ioctl(fd, cmd, (void *)(uintptr_t)fuzz_value(page));
			if (ret == -1 && !fuzz_errno_ok(errno))
				bad++;
			else
				ok++;
			continue;
		case 3:		/* keep some objects alive to hit */
			ioctl(fd, NVMM_IOC_MACHINE_CREATE, args);
			args[0] = rnd() % 4;
			args[0] |= (rnd() % 6) << 32;
			cmd = NVMM_IOC_VCPU_CREATE;
			break;
		case 4: {	/* mmap of random offsets */
			void *p = mmap(NULL, (rnd() % 3) * PAGE, PROT_READ |
				       ((rnd() & 1) ? PROT_WRITE : 0),
				       (rnd() & 3) ? MAP_SHARED : MAP_PRIVATE,
				       fd, (off_t)(fuzz_value(page) &
						   ~0xFFFULL & 0x7FFFFFFFFFFFULL));

			if (p != MAP_FAILED) {
				*(volatile uint8_t *)p;
				munmap(p, PAGE);
			}
			ok++;
			continue;
		}
		default:	/* ours, random contents */
			cmd = fuzz_cmds[rnd() % 14];
			break;
		}
		/*
		 * A random guest may loop without exits: Bochs never stops it
		 * (on vmx: when it runs with IF=0, see emu_spin_rflags()).
		 */
		if (no_runs && cmd == NVMM_IOC_VCPU_RUN)
			continue;
		ret = ioctl(fd, cmd, args);
		if (ret == -1 && !fuzz_errno_ok(errno)) {
			fprintf(stderr, "# fuzz: cmd %#lx: unexpected errno %d\n",
				cmd, errno);
			bad++;
		} else {
			ok++;
		}
	}
	close(fd);
	printf("# fuzz: seed %#" PRIx64 ": %u calls, %u unexpected errnos\n",
	       seed, ok + bad, bad);
	return bad ? 1 : 0;
}

START_TEST(ioctl_fuzz)
{
	struct emu_stats before, after;
	const char *s = getenv("NVMM_FUZZ_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : 0x9E3779B97F4A7C15ULL;
	int pid;

	emu_stats(&before);
	/* A separate process, so its death frees whatever it made. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fuzz_run(seed, 10000, emu_lane_bochs()));
	ck_assert_int_eq(emu_wait(pid), 0);
	emu_stats(&after);
	assert_stats_eq(&after, &before);
}
END_TEST

/* -------------------------------------------------------------------------- */

/* After exec: no Check here, only plain C. */
static int check_stats(const char *arg)
{
	long m, v, p, val, nm = -1, nv = -1, np = -1;
	unsigned int tries;
	char key[32];
	FILE *f;

	if (sscanf(arg, "%ld:%ld:%ld", &m, &v, &p) != 3)
		return 20;
	/* Machines whose mm went are destroyed by a worker: give it 2 s. */
	for (tries = 0; tries < 100; tries++) {
		f = fopen("/sys/kernel/debug/nvmm/stats", "r");
		if (f == NULL)
			return 22;
		while (fscanf(f, "%31s %ld", key, &val) == 2) {
			if (strcmp(key, "machines") == 0)
				nm = val;
			else if (strcmp(key, "vcpus") == 0)
				nv = val;
			else if (strcmp(key, "pages") == 0)
				np = val;
		}
		fclose(f);
		if (nm == m && nv == v && np == p)
			break;
		usleep(20000);
	}
	if (nm != m || nv != v || np != p) {
		fprintf(stderr, "# after exec: %ld/%ld/%ld, expected %ld/%ld/%ld\n",
			nm, nv, np, m, v, p);
		return 21;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(capability_sane),
		KSFT_TEST(machines_limit),
		KSFT_TEST(vcpus_limit),
		KSFT_TEST(destroy_machine_with_vcpus),
		KSFT_TEST_T(close_frees_everything, 1800),
		KSFT_TEST(other_process_eperm),
		KSFT_TEST(child_machine_goes_with_child),
		KSFT_TEST(create_unwritable_arg_leaves_nothing),
		KSFT_TEST(root_owner_lists_machines),
		KSFT_TEST(root_owner_needs_root),
		KSFT_TEST(readonly_handle),
		KSFT_TEST(cloexec_required),
		KSFT_TEST(exec_frees_machines),
		KSFT_TEST(exec_after_dup2_frees_machines),
		KSFT_TEST(kill9_frees_everything),
		KSFT_TEST(comm_page_mmap_rules),
		KSFT_TEST_T(ioctl_fuzz, 1800),
	};
	ssize_t n;

	if (argc == 3 && strcmp(argv[1], "--check-stats") == 0)
		return check_stats(argv[2]);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n > 0)
		self_exe[n] = '\0';
	if (access("/dev/nvmm", F_OK) != 0) {
		printf("TAP version 13\n1..0 # SKIP /dev/nvmm is absent\n");
		return KSFT_SKIP;
	}
	return ksft_run("foundation", tests, sizeof(tests) / sizeof(tests[0]),
			600);
}
