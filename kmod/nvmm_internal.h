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
 *   mmu->maps_mutex: serializes changes of the guest-physical mappings.
 *   mmu->lock (spinlock): the nested page table and invalidation state.
 *   Order: machine->lock, vcpu->lock, maps_mutex, mmap_lock, mmu->lock.
 */
#ifndef NVMM_INTERNAL_H
#define NVMM_INTERNAL_H

#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/atomic.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/percpu.h>
#include <linux/thread_info.h>
#include <linux/entry-kvm.h>
#include <asm/fpu/api.h>

struct seq_file;

#include <nvmm/nvmm_dev.h>

#define NVMM_MAX_MACHINES	128
#define NVMM_MAX_VCPUS		256
#define NVMM_MAX_RAM		(128ULL << 30)
#define NVMM_MAX_GPA_MAPS	512
#define NVMM_MAX_HVA_MAPS	512

struct nvmm_owner {
	bool root;		/* opened write-only by CAP_SYS_ADMIN: inspects */
	bool can_write;		/* opened for writing */
	bool cloexec_ok;	/* close-on-exec verified at the first ioctl */
};

struct nvmm_machine;

/* Where a VCPU is, for remote TLB flushes and kicks. */
enum nvmm_vcpu_mode {
	NVMM_VCPU_OUTSIDE = 0,
	NVMM_VCPU_IN_GUEST,
};

struct nvmm_cpu {
	struct mutex lock;		/* held across every VCPU operation */
	bool present;
	nvmm_cpuid_t cpuid;
	struct nvmm_machine *mach;
	struct page *comm_page;
	struct nvmm_comm_page *comm;	/* kernel view of comm_page */
	void *cpudata;			/* backend */

	/* Run state, read by other CPUs without the lock. */
	int mode;			/* enum nvmm_vcpu_mode */
	int hcpu;			/* host CPU while IN_GUEST */
	bool kick;			/* return to userland at once */
	unsigned long resume_since;	/* jiffies | 1: resume work waits */

	/* The thread that runs it, for a spinning sibling to yield to. */
	spinlock_t pid_lock;
	struct pid *pid;
};

/* A guest-physical range backed by the owner's memory (gpa_map). */
struct nvmm_gmap {
	u64 gpa;
	u64 size;
	u64 hva;
	u32 prot;			/* NVMM_PROT_READ/WRITE/EXEC */
};

/* The set of gmaps, replaced as a whole and read under RCU. */
struct nvmm_gmaps {
	struct rcu_head rcu;
	unsigned int n;
	struct nvmm_gmap map[];		/* sorted by gpa, disjoint */
};

/* A host range registered with hva_map. */
struct nvmm_hmap {
	u64 hva;
	u64 size;
};

/* Format of nested page table entries, given by the backend. */
struct nvmm_pt_ops {
	unsigned int levels;		/* 4 or 5 */
	u64 (*leaf)(u64 pa, u32 prot);	/* a 4 KiB mapping */
	u64 table;			/* bits of an entry to a next table */
	u64 present;			/* an entry is in use if these are */
};

struct nvmm_mmu {
	const struct nvmm_pt_ops *ops;
	struct mmu_notifier mn;
	bool mn_registered;
	spinlock_t lock;		/* page table, invalidation state */
	struct page *root;
	u64 root_pa;
	unsigned long tables;		/* page-table pages in use */
	unsigned long leaves;		/* guest pages mapped in them */

	/* Invalidations, as seen by faults in flight. */
	unsigned long inval_seq;
	long inval_count;
	u64 inval_start;
	u64 inval_end;
	unsigned long maps_gen;		/* bumped when gmaps lose a range */

	/* Translations removed: VCPUs flush before entering again. */
	atomic64_t tlb_gen;

	struct mutex maps_mutex;	/* gmaps and hmaps changes */
	struct nvmm_gmaps __rcu *gmaps;
	struct nvmm_hmap *hmaps;
	unsigned int nhmaps;
};

struct nvmm_machine {
	struct rw_semaphore lock;
	bool present;
	bool dying;			/* destroy pending: runs return */
	nvmm_machid_t machid;
	struct nvmm_owner *owner;
	struct mm_struct *mm;		/* mmgrab()ed creator mm */
	struct pid *pid;		/* creator's thread group */
	time64_t time;
	atomic_t ncpus;
	u64 nram;			/* bytes of guest-physical mappings */
	struct nvmm_cpu *cpus;		/* NVMM_MAX_VCPUS slots */
	unsigned int spin_last;		/* VCPU a spinning one yielded to */

	/* The TSC offset the VCPUs share (nvmm_x86_tsc_offset()). */
	spinlock_t tsc_lock;
	bool tsc_valid;
	u64 tsc_offset;
	struct nvmm_mmu mmu;
	void *machdata;			/* backend */

	/* The creator's mm went (exit, exec): the machine goes with it. */
	bool orphan;
	struct work_struct reap_work;
};

/* From the mm's release: destroy the machine once nothing can use it. */
void nvmm_machine_orphan(struct nvmm_machine *mach);

/* A hardware backend (x86: SVM or VMX). */
struct nvmm_impl {
	const char *name;
	const char *hw;		/* "SVM" or "VMX", for messages */
	/* Whether the backend is the one for this CPU's kind (its vendor). */
	bool (*ident)(void);
	/*
	 * Checks that the CPU has what the backend needs; on refusal prints
	 * one line and returns -errno.
	 */
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
	/* The machine-dependent part of NVMM_IOC_CAPABILITY. */
	void (*capability)(struct nvmm_capability *cap);
	/* Its lines in debugfs stats (the rate of the *_cycles clock). */
	void (*stats)(struct seq_file *m);
	/* Set by init(): the nested page table format. */
	const struct nvmm_pt_ops *pt_ops;

	int (*machine_create)(struct nvmm_machine *mach);
	void (*machine_destroy)(struct nvmm_machine *mach);
	int (*vcpu_create)(struct nvmm_machine *mach, struct nvmm_cpu *vcpu);
	void (*vcpu_destroy)(struct nvmm_machine *mach, struct nvmm_cpu *vcpu);
	int (*vcpu_configure)(struct nvmm_cpu *vcpu, u64 op,
			      void __user *conf);
	/* Fill the comm page with the groups in state_wanted. */
	int (*vcpu_getstate)(struct nvmm_cpu *vcpu);
	/* Run until an exit for userland; the exit goes to the comm page. */
	int (*vcpu_run)(struct nvmm_machine *mach, struct nvmm_cpu *vcpu);
};

extern const struct nvmm_impl nvmm_x86_svm;
extern const struct nvmm_impl nvmm_x86_vmx;
extern const struct nvmm_impl *nvmm_impl;

/* nvmm_cpu.c: host CPU enabling across load, hotplug, suspend, reboot. */
extern bool nvmm_rebooting;	/* virtualization may vanish under a VCPU */
int nvmm_cpus_enable(void);
void nvmm_cpus_disable(void);

/* nvmm_mmu.c: guest-physical memory. */
int nvmm_mmu_init(struct nvmm_machine *mach);
void nvmm_mmu_fini(struct nvmm_machine *mach);
int nvmm_mmu_hva_map(struct nvmm_machine *mach, struct nvmm_ioc_hva_map *args);
int nvmm_mmu_hva_unmap(struct nvmm_machine *mach,
		       struct nvmm_ioc_hva_unmap *args);
int nvmm_mmu_gpa_map(struct nvmm_machine *mach, struct nvmm_ioc_gpa_map *args);
int nvmm_mmu_gpa_unmap(struct nvmm_machine *mach,
		       struct nvmm_ioc_gpa_unmap *args);

/* What nvmm_mmu_fault() did with a nested page fault. */
enum nvmm_fault {
	NVMM_FAULT_MAPPED,	/* the guest may retry the access */
	NVMM_FAULT_EXIT,	/* not allowed by the mappings: MEMORY exit */
};

int nvmm_mmu_fault(struct nvmm_machine *mach, u64 gpa, u32 access);

/* VCPUs in guest mode leave it; all flush guest TLBs before reentry. */
void nvmm_mmu_flush_remote(struct nvmm_machine *mach);

/* nvmm_core.c: helpers for the backends' run loops. */
void nvmm_vcpu_kick(struct nvmm_cpu *vcpu);

/*
 * Right before entering the guest, IRQs off, after fpu_swap_kvm_fpstate():
 * if the task slept or was preempted since, another task's registers may
 * be in the FPU; load the guest's (the task's current fpstate) again. Or
 * the guest would run with them, and its own state would be lost.
 */
static inline void nvmm_vcpu_fpu_load(void)
{
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
}

/* nvmm_vcpu_enter_check() when there is something to look at. */
bool nvmm_vcpu_enter_check_slow(struct nvmm_cpu *vcpu, u64 *reason);

/*
 * Before entering the guest, with IRQs off: mark the VCPU in guest mode
 * and check whether it must return to userland instead (signal, stop,
 * kick; a reschedule is done in place). Returns false to enter, or true
 * with the exit reason to return with in *reason (which may be
 * NVMM_VCPU_EXIT_NONE). Inline for the common case, nothing pending.
 */
static inline bool nvmm_vcpu_enter_check(struct nvmm_cpu *vcpu, u64 *reason)
{
	lockdep_assert_irqs_disabled();
	WRITE_ONCE(vcpu->hcpu, smp_processor_id());
	WRITE_ONCE(vcpu->mode, NVMM_VCPU_IN_GUEST);
	/* As in nvmm_vcpu_enter_check_slow(): flushes see us in guest. */
	smp_mb();
	if (likely(!READ_ONCE(vcpu->comm->stop) && !READ_ONCE(vcpu->kick) &&
		   !READ_ONCE(vcpu->mach->dying) &&
		   !(read_thread_flags() & XFER_TO_GUEST_MODE_WORK)))
		return false;
	return nvmm_vcpu_enter_check_slow(vcpu, reason);
}

/*
 * After a PAUSE exit (a guest spinning on a lock or waiting for an IPI):
 * give the host CPU to a sibling VCPU's thread that waits for one. IRQs on.
 */
bool nvmm_vcpu_on_spin(struct nvmm_cpu *vcpu);

static inline void nvmm_vcpu_leave(struct nvmm_cpu *vcpu)
{
	WRITE_ONCE(vcpu->mode, NVMM_VCPU_OUTSIDE);
}

/* nvmm_stats.c: counters, exported through debugfs. */
struct nvmm_stats {
	atomic_long_t machines;
	atomic_long_t vcpus;
	atomic_long_t pages;		/* pages allocated by the module */
	atomic_long_t guest_pages;	/* guest pages mapped in page tables */
	atomic_long_t pt_pages;		/* NPT/EPT table pages, roots apart */
};

extern struct nvmm_stats nvmm_stats;

/* Per-CPU event counters, summed in debugfs. */
enum nvmm_count {
	NVMM_COUNT_ENTRIES,		/* guest entries */
	NVMM_COUNT_EXITS_USER,		/* returns to userland */
	NVMM_COUNT_EXIT_INTR,		/* host interrupts and NMIs */
	NVMM_COUNT_EXIT_NPF,		/* nested page faults */
	NVMM_COUNT_NPF_MAPPED,		/* ... resolved in the kernel */
	NVMM_COUNT_EXIT_IO,
	NVMM_COUNT_EXIT_MSR,
	NVMM_COUNT_EXIT_CPUID,
	NVMM_COUNT_EXIT_HLT,
	NVMM_COUNT_EXIT_WINDOW,		/* interrupt and NMI windows */
	NVMM_COUNT_EXIT_OTHER,		/* every other exit: each counts once */
	NVMM_COUNT_FLUSHES,		/* remote TLB flushes */
	NVMM_COUNT_YIELDS,		/* PAUSE exits that yielded */
	NVMM_COUNT_MAX,
};

DECLARE_PER_CPU(unsigned long, nvmm_counts[NVMM_COUNT_MAX]);
/* For the exit_* counters: TSC cycles from each exit to the next entry. */
DECLARE_PER_CPU(unsigned long, nvmm_cycles[NVMM_COUNT_MAX]);

static inline void nvmm_count(enum nvmm_count c)
{
	this_cpu_inc(nvmm_counts[c]);
}

static inline void nvmm_count_cycles(unsigned int c, u64 cycles)
{
	this_cpu_add(nvmm_cycles[c], cycles);
}

/* A per-CPU counter, summed over the CPUs. */
unsigned long nvmm_sum(unsigned long __percpu *v);

void nvmm_stats_init(void);
void nvmm_stats_fini(void);

/* Zeroed, accounted pages; counted in nvmm_stats.pages. */
struct page *nvmm_alloc_page(void);
void nvmm_free_page(struct page *page);

#endif /* NVMM_INTERNAL_H */
