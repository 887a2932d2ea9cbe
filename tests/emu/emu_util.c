/* SPDX-License-Identifier: BSD-2-Clause */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "emu_util.h"

void emu_stats(struct emu_stats *st)
{
	char key[32];
	long val;
	FILE *f;

	memset(st, 0, sizeof(*st));
	f = fopen("/sys/kernel/debug/nvmm/stats", "r");
	ck_assert_msg(f != NULL, "cannot read nvmm stats: %s", strerror(errno));
	while (fscanf(f, "%31s %ld", key, &val) == 2) {
		if (strcmp(key, "machines") == 0)
			st->machines = val;
		else if (strcmp(key, "vcpus") == 0)
			st->vcpus = val;
		else if (strcmp(key, "pages") == 0)
			st->pages = val;
		else if (strcmp(key, "guest_pages") == 0)
			st->guest_pages = val;
		else if (strcmp(key, "pt_pages") == 0)
			st->pt_pages = val;
	}
	fclose(f);
}

long emu_stat(const char *key)
{
	char name[32];
	long val = -1, v;
	FILE *f;

	f = fopen("/sys/kernel/debug/nvmm/stats", "r");
	ck_assert_msg(f != NULL, "cannot read nvmm stats: %s", strerror(errno));
	while (fscanf(f, "%31s %ld", name, &v) == 2)
		if (strcmp(name, key) == 0)
			val = v;
	fclose(f);
	ck_assert_msg(val >= 0, "no %s in nvmm stats", key);
	return val;
}

bool emu_lane_drops_shadow(void)
{
	return strcmp(emu_lane(), "svm") == 0;
}

long emu_meminfo(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long val = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	ck_assert(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, len) == 0 && line[len] == ':') {
			val = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	ck_assert_msg(val >= 0, "no %s in /proc/meminfo", key);
	return val;
}

int emu_open(int flags)
{
	int fd = open("/dev/nvmm", flags | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "open /dev/nvmm: %s", strerror(errno));
	return fd;
}

int emu_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) == -1 ? -errno : 0;
}

const char *emu_lane(void)
{
	const char *lane = getenv("NVMM_LANE");

	return lane ? lane : "";
}

bool emu_lane_bochs_svm(void)
{
	return strcmp(emu_lane(), "svm-bochs") == 0;
}

bool emu_lane_bochs(void)
{
	return emu_lane_bochs_svm() || strcmp(emu_lane(), "vmx") == 0;
}

bool emu_host_intel(void)
{
	unsigned int eax, ebx, ecx, edx;

	__cpuid(0, eax, ebx, ecx, edx);
	(void)eax;
	/* "GenuineIntel": EBX "Genu", EDX "ineI", ECX "ntel". */
	return ebx == 0x756e6547 && edx == 0x49656e69 && ecx == 0x6c65746e;
}

uint64_t emu_spin_rflags(void)
{
	return strcmp(emu_lane(), "vmx") == 0 ? 0x202 : 0x2;
}

void emu_pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(set), &set), 0);
}

int emu_wait(int pid)
{
	int status;

	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return -1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

void emu_drop_caches(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "3\n", 2) < 0)
			perror("drop_caches");
		close(fd);
	}
}

unsigned int emu_kmsg_count(const char *needle)
{
	static char buf[1 << 20];
	unsigned int n = 0;
	int len = klogctl(3 /* READ_ALL */, buf, sizeof(buf) - 1);
	const char *p = buf;

	if (len <= 0)
		return 0;
	buf[len] = '\0';
	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

uint32_t emu_xsave_size(uint64_t xcr0, bool compacted)
{
	uint32_t size = 576, r[4];
	unsigned int i;

	for (i = 2; i < 64; i++) {
		if (!(xcr0 & (1ULL << i)))
			continue;
		__cpuid_count(0xD, i, r[0], r[1], r[2], r[3]);
		if (!compacted && r[0] + r[1] > size)
			size = r[0] + r[1];
		else if (compacted)
			size = ((r[2] & 2) ? (size + 63) & ~63U : size) + r[0];
	}
	return size;
}
