/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nvmm.ko internals: objects, locking rules and the backend interface.
 *
 * Objects
 *   owner    one per open file of /dev/nvmm.
 *   machine  a slot of the static machines[] table; present while it exists.
 *            Created and destroyed by its owner; bound to the creating mm.
 *   vcpu     a slot of its machine's cpus[] array; present while it exists.
 *
 * Locking
 *   machine->lock (rw_semaphore): read for every operation on the machine,
 *   write to create or destroy it. No global lock is taken by machine or
 *   VCPU operations once the machine exists.
 *   vcpu->lock (mutex): held across every VCPU operation, including run.
 *   Order: machine->lock, then vcpu->lock.
 */
#ifndef NVMM_INTERNAL_H
#define NVMM_INTERNAL_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/atomic.h>
#include <linux/mm_types.h>

#include <nvmm/nvmm_dev.h>

#define NVMM_MAX_MACHINES	128
#define NVMM_MAX_VCPUS		256
#define NVMM_MAX_RAM		(128ULL << 30)

struct nvmm_owner {
	bool root;		/* opened write-only by CAP_SYS_ADMIN: inspects */
	bool can_write;		/* opened for writing */
	bool cloexec_ok;	/* close-on-exec verified at the first ioctl */
};

struct nvmm_machine;

struct nvmm_cpu {
	struct mutex lock;		/* held across every VCPU operation */
	bool present;
	nvmm_cpuid_t cpuid;
	struct nvmm_machine *mach;
	struct page *comm_page;
	struct nvmm_comm_page *comm;	/* kernel view of comm_page */
	void *cpudata;			/* backend */
};

struct nvmm_machine {
	struct rw_semaphore lock;
	bool present;
	nvmm_machid_t machid;
	struct nvmm_owner *owner;
	struct mm_struct *mm;		/* mmgrab()ed creator mm */
	struct pid *pid;		/* creator's thread group */
	time64_t time;
	atomic_t ncpus;
	u64 nram;
	struct nvmm_cpu *cpus;		/* NVMM_MAX_VCPUS slots */
	void *machdata;			/* backend */
};

/* A hardware backend: SVM or VMX. */
struct nvmm_impl {
	const char *name;
	const char *hw;		/* "SVM" or "VMX", for messages */
	/* Checks the boot CPU; on refusal prints one line and returns -errno. */
	int (*probe)(void);
	/* Global setup after a successful probe, and its undoing. */
	int (*init)(void);
	void (*fini)(void);
	/*
	 * Enable or disable virtualization on the calling CPU, IRQs off.
	 * -EBUSY from cpu_enable means another hypervisor owns the CPU.
	 */
	int (*cpu_enable)(void);
	void (*cpu_disable)(void);
	void (*capability)(struct nvmm_capability *cap);

	int (*machine_create)(struct nvmm_machine *mach);
	void (*machine_destroy)(struct nvmm_machine *mach);
	int (*vcpu_create)(struct nvmm_machine *mach, struct nvmm_cpu *vcpu);
	void (*vcpu_destroy)(struct nvmm_machine *mach, struct nvmm_cpu *vcpu);
};

extern const struct nvmm_impl nvmm_x86_svm;
extern const struct nvmm_impl nvmm_x86_vmx;
extern const struct nvmm_impl *nvmm_impl;

/* nvmm_cpu.c: host CPU enabling across load, hotplug, suspend, reboot. */
int nvmm_cpus_enable(void);
void nvmm_cpus_disable(void);

/* nvmm_x86.c: x86 facts shared by both backends. */
int nvmm_x86_init(void);
void nvmm_x86_capability(struct nvmm_capability *cap);

/* nvmm_stats.c: counters, exported through debugfs. */
struct nvmm_stats {
	atomic_long_t machines;
	atomic_long_t vcpus;
	atomic_long_t pages;		/* pages allocated by the module */
};

extern struct nvmm_stats nvmm_stats;
void nvmm_stats_init(void);
void nvmm_stats_fini(void);

/* Zeroed, accounted pages; counted in nvmm_stats.pages. */
struct page *nvmm_alloc_page(void);
void nvmm_free_page(struct page *page);

#endif /* NVMM_INTERNAL_H */
