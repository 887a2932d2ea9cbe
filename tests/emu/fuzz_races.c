/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_vm's races mode: a VCPU thread running while the main thread
 * unmaps, remaps and unprotects guest RAM, stops the VCPU, forks a child
 * that tries the parent's machine, and destroys the machine under it.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nvmm/nvmm_dev.h>

#include "fuzz_vm.h"

struct racer {
	struct guest *g;
	atomic_bool quit;
	atomic_ulong runs;
	int err;			/* the errno that ended the runs */
};

static void *race_run(void *arg)
{
	struct racer *r = arg;

	while (!atomic_load(&r->quit)) {
		if (nvmm_vcpu_run(&r->g->mach, &r->g->vcpu) != 0) {
			r->err = errno;
			if (errno != EINTR && errno != EAGAIN)
				break;
		}
		atomic_fetch_add(&r->runs, 1);
	}
	return NULL;
}

/* libvmm's descriptor of /dev/nvmm (the machine's owner). */
static int nvmm_fd(void)
{
	char path[300], target[64];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int fd = -1;
	ssize_t n;

	while (dir && (d = readdir(dir)) != NULL) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			if (strcmp(target, "/dev/nvmm") == 0)
				fd = atoi(d->d_name);
		}
	}
	if (dir)
		closedir(dir);
	return fd;
}

void fuzz_races(unsigned long n, struct counts *c)
{
	/* inc qword [DATA]; out 0xE9, al; jmp back (exits now and then). */
	static const uint8_t spin[] = { 0x48, 0xFF, 0x04, 0x25, 0x00, 0x00,
					0x02, 0x00, 0xE6, 0xE9, 0xEB, 0xF4 };
	unsigned long i;

	for (i = 0; more(i, n, c); i++) {
		struct racer r = { 0 };
		struct guest g;
		pthread_t tid;
		unsigned int k;
		int pid, status;

		if (progress && i % progress == 0) {
			printf("# races: at %lu\n", i);
			fflush(stdout);
		}

		if (guest_create(&g) != 0) {
			unexpected(c, "guest_create: %s", errno);
			return;
		}
		memcpy(g.ram + CODE, spin, sizeof(spin));
		base_state(g.vcpu.state, M_LONG);
		g.vcpu.state->gprs[NVMM_X64_GPR_RFLAGS] |= 0x200;
		nvmm_vcpu_setstate(&g.mach, &g.vcpu, NVMM_X64_STATE_ALL);
		r.g = &g;
		pthread_create(&tid, NULL, race_run, &r);
		for (k = 0; k < 8; k++) {
			usleep(rndn(3000));
			switch (rndn(5)) {
			case 0:
				nvmm_gpa_unmap(&g.mach, (uintptr_t)g.ram, 0,
					       RAM_SIZE);
				usleep(rndn(2000));
				nvmm_gpa_map(&g.mach, (uintptr_t)g.ram, 0,
					     RAM_SIZE, PROT_READ | PROT_WRITE |
					     PROT_EXEC);
				break;
			case 1:
				mprotect(g.ram, RAM_SIZE, PROT_NONE);
				usleep(rndn(2000));
				mprotect(g.ram, RAM_SIZE,
					 PROT_READ | PROT_WRITE);
				break;
			case 2:
				nvmm_vcpu_stop(&g.vcpu);
				break;
			case 3:
				/* Zeroed RAM triple-faults: not on svm-bochs. */
				if (!lane_svm_bochs)
					madvise(g.ram, RAM_SIZE,
						MADV_DONTNEED);
				break;
			default:
				pid = fork();
				if (pid == 0) {
					struct nvmm_ioc_vcpu_run run = {
						.machid = g.mach.machid,
						.cpuid = 0,
					};
					int fd = nvmm_fd();

					/* The parent's machine: never ours. */
					_exit(ioctl(fd, NVMM_IOC_VCPU_RUN,
						    &run) == -1 &&
					      errno == EPERM ? 0 : 1);
				}
				waitpid(pid, &status, 0);
				if (!WIFEXITED(status) ||
				    WEXITSTATUS(status) != 0)
					unexpected(c, "a fork child reached "
						   "the parent's machine (%s)",
						   0);
				break;
			}
		}
		/* The machine goes under the running VCPU. */
		{
			struct nvmm_ioc_machine_destroy d = {
				.machid = g.mach.machid,
			};

			if (ioctl(nvmm_fd(), NVMM_IOC_MACHINE_DESTROY, &d) != 0)
				unexpected(c, "destroy under a run: %s", errno);
		}
		atomic_store(&r.quit, true);
		pthread_join(tid, NULL);
		c->runs += atomic_load(&r.runs);
		if (r.err != ENOENT && r.err != EPERM && r.err != 0)
			unexpected(c, "the run under destroy ended with %s",
				   r.err);
		/* libvmm's own destroy finds it gone. */
		nvmm_machine_destroy(&g.mach);
		munmap(g.ram, RAM_SIZE);
	}
}
