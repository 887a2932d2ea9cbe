// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmm.ko: the /dev/nvmm device, its owners, machines and VCPUs.
 *
 * Everything here is architecture-neutral; the hardware work is done by the
 * backend chosen at load time (x86/svm.c or x86/vmx.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/pid.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/timekeeping.h>
#include <linux/capability.h>
#include <linux/entry-kvm.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>

#include "nvmm_internal.h"

const struct nvmm_impl *nvmm_impl;

static struct nvmm_machine machines[NVMM_MAX_MACHINES];

/* Size of the largest ioctl argument. */
union nvmm_ioc_args {
	struct nvmm_ioc_capability capability;
	struct nvmm_ioc_machine_create machine_create;
	struct nvmm_ioc_machine_destroy machine_destroy;
	struct nvmm_ioc_machine_configure machine_configure;
	struct nvmm_ioc_vcpu_create vcpu_create;
	struct nvmm_ioc_vcpu_destroy vcpu_destroy;
	struct nvmm_ioc_vcpu_configure vcpu_configure;
	struct nvmm_ioc_vcpu_getstate vcpu_getstate;
	struct nvmm_ioc_vcpu_run vcpu_run;
	struct nvmm_ioc_hva_map hva_map;
	struct nvmm_ioc_hva_unmap hva_unmap;
	struct nvmm_ioc_gpa_map gpa_map;
	struct nvmm_ioc_gpa_unmap gpa_unmap;
	struct nvmm_ioc_ctl ctl;
};

/*
 * Charged to the caller's memory cgroup, as KVM charges its pages. At the
 * cgroup's limit (or the host's), the allocation fails and the ioctl
 * returns ENOMEM rather than calling in an OOM killer: a VMM that asks for
 * too much hears it, and no process is killed for it.
 */
struct page *nvmm_alloc_page(void)
{
	struct page *page;

	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL |
			  __GFP_ZERO);
	if (page)
		atomic_long_inc(&nvmm_stats.pages);
	return page;
}

void nvmm_free_page(struct page *page)
{
	if (!page)
		return;
	__free_page(page);
	atomic_long_dec(&nvmm_stats.pages);
}

/* -------------------------------------------------------------------------- */
/* Lookups. */

/*
 * Take a machine for an operation of @owner. Returns with the machine lock
 * held (for writing if @writer) or an error pointer: -ENOENT when there is
 * no such machine, -EPERM when it belongs to another owner or process.
 */
static struct nvmm_machine *nvmm_machine_get(struct nvmm_owner *owner,
					     nvmm_machid_t machid, bool writer)
{
	struct nvmm_machine *mach;
	int err;

	if (machid >= NVMM_MAX_MACHINES)
		return ERR_PTR(-EINVAL);
	mach = &machines[array_index_nospec(machid, NVMM_MAX_MACHINES)];

	if (writer)
		down_write(&mach->lock);
	else
		down_read(&mach->lock);

	if (!mach->present)
		err = -ENOENT;
	else if (mach->owner != owner || mach->mm != current->mm)
		err = -EPERM;
	else
		return mach;

	if (writer)
		up_write(&mach->lock);
	else
		up_read(&mach->lock);
	return ERR_PTR(err);
}

static void nvmm_machine_put(struct nvmm_machine *mach, bool writer)
{
	if (writer)
		up_write(&mach->lock);
	else
		up_read(&mach->lock);
}

/* With the machine held: take a VCPU, its mutex held on success. */
static struct nvmm_cpu *nvmm_vcpu_get(struct nvmm_machine *mach,
				      nvmm_cpuid_t cpuid)
{
	struct nvmm_cpu *vcpu;

	if (cpuid >= NVMM_MAX_VCPUS)
		return ERR_PTR(-EINVAL);
	vcpu = &mach->cpus[array_index_nospec(cpuid, NVMM_MAX_VCPUS)];
	mutex_lock(&vcpu->lock);
	if (!vcpu->present) {
		mutex_unlock(&vcpu->lock);
		return ERR_PTR(-ENOENT);
	}
	return vcpu;
}

static void nvmm_vcpu_put(struct nvmm_cpu *vcpu)
{
	mutex_unlock(&vcpu->lock);
}

/* -------------------------------------------------------------------------- */
/* VCPUs. */

/*
 * nvmm_pub_lock guards what mmap(2) of a comm page looks at: a machine's
 * present/owner/mm and a VCPU's present/comm_page. mmap runs under the
 * mmap_lock, which the run path takes with machine->lock held, so mmap must
 * not take machine->lock itself. Writers hold both.
 */
static DEFINE_SPINLOCK(nvmm_pub_lock);

static int nvmm_vcpu_alloc(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct page *page;
	int ret;

	page = nvmm_alloc_page();
	if (!page)
		return -ENOMEM;
	vcpu->comm = page_address(page);

	ret = nvmm_impl->vcpu_create(mach, vcpu);
	if (ret) {
		vcpu->comm = NULL;
		nvmm_free_page(page);
		return ret;
	}
	vcpu->kick = false;
	vcpu->mode = NVMM_VCPU_OUTSIDE;
	spin_lock(&nvmm_pub_lock);
	vcpu->comm_page = page;
	vcpu->present = true;
	spin_unlock(&nvmm_pub_lock);
	atomic_inc(&mach->ncpus);
	atomic_long_inc(&nvmm_stats.vcpus);
	return 0;
}

/* With the VCPU's mutex held. */
static void nvmm_vcpu_free(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct page *page = vcpu->comm_page;

	spin_lock(&nvmm_pub_lock);
	vcpu->present = false;
	vcpu->comm_page = NULL;
	spin_unlock(&nvmm_pub_lock);

	nvmm_impl->vcpu_destroy(mach, vcpu);
	spin_lock(&vcpu->pid_lock);
	put_pid(vcpu->pid);
	vcpu->pid = NULL;
	spin_unlock(&vcpu->pid_lock);
	/* A process may still map the page: its mapping holds its own ref. */
	vcpu->comm = NULL;
	nvmm_free_page(page);
	atomic_dec(&mach->ncpus);
	atomic_long_dec(&nvmm_stats.vcpus);
}

static int nvmm_ioctl_vcpu_create(struct nvmm_owner *owner,
				  struct nvmm_ioc_vcpu_create *args)
{
	struct nvmm_machine *mach;
	struct nvmm_cpu *vcpu;
	int ret;

	mach = nvmm_machine_get(owner, args->machid, false);
	if (IS_ERR(mach))
		return PTR_ERR(mach);

	/* VCPU ids are 0..max_vcpus-1; NetBSD refuses others with EINVAL. */
	if (args->cpuid >= NVMM_MAX_VCPUS) {
		ret = -EINVAL;
		goto out;
	}
	vcpu = &mach->cpus[array_index_nospec(args->cpuid, NVMM_MAX_VCPUS)];
	mutex_lock(&vcpu->lock);
	if (vcpu->present)
		ret = -EBUSY;
	else
		ret = nvmm_vcpu_alloc(mach, vcpu);
	mutex_unlock(&vcpu->lock);
out:
	nvmm_machine_put(mach, false);
	return ret;
}

static int nvmm_ioctl_vcpu_destroy(struct nvmm_owner *owner,
				   struct nvmm_ioc_vcpu_destroy *args)
{
	struct nvmm_machine *mach;
	struct nvmm_cpu *vcpu;

	mach = nvmm_machine_get(owner, args->machid, false);
	if (IS_ERR(mach))
		return PTR_ERR(mach);
	if (args->cpuid < NVMM_MAX_VCPUS)
		nvmm_vcpu_kick(&mach->cpus[array_index_nospec(args->cpuid,
							      NVMM_MAX_VCPUS)]);
	vcpu = nvmm_vcpu_get(mach, args->cpuid);
	if (!IS_ERR(vcpu)) {
		nvmm_vcpu_free(mach, vcpu);
		nvmm_vcpu_put(vcpu);
	}
	nvmm_machine_put(mach, false);
	return PTR_ERR_OR_ZERO(vcpu);
}

/* -------------------------------------------------------------------------- */
/* Running. */

/* Make a VCPU return to userland: at once if it is in the guest. */
void nvmm_vcpu_kick(struct nvmm_cpu *vcpu)
{
	WRITE_ONCE(vcpu->kick, true);
	/* Pairs with the barrier in nvmm_vcpu_enter_check(). */
	smp_mb();
	if (READ_ONCE(vcpu->mode) == NVMM_VCPU_IN_GUEST)
		smp_send_reschedule(READ_ONCE(vcpu->hcpu));
}

/*
 * With IRQs off, right before entering the guest: returns true, with the
 * reason in *reason, if the VCPU must go back to userland instead.
 *
 * Work the host wants done before guest mode: a signal returns to
 * userland at once (EXIT_NONE); a reschedule is done here, as KVM does:
 * the VCPU thread yields just the same, and the emulator is not woken for
 * nothing (the guest FPU state follows the task). TIF_NOTIFY_RESUME (rseq
 * after every context switch, task work) waits for the next exit to
 * userland, which most often comes with the guest's next I/O, but at most
 * a jiffy or two: returning for it at once would cost a system call after
 * every context switch, and a VMM under ptrace, switched out at each
 * system call, would never get into its guest.
 */
bool nvmm_vcpu_enter_check_slow(struct nvmm_cpu *vcpu, u64 *reason)
{
	unsigned long work;

	lockdep_assert_irqs_disabled();
again:
	WRITE_ONCE(vcpu->hcpu, smp_processor_id());
	WRITE_ONCE(vcpu->mode, NVMM_VCPU_IN_GUEST);
	/*
	 * From here on, a remote flush or kick sees us in guest mode and
	 * interrupts us, or we see its request below.
	 */
	smp_mb();

	if (unlikely(READ_ONCE(vcpu->comm->stop))) {
		nvmm_vcpu_leave(vcpu);
		*reason = NVMM_VCPU_EXIT_STOPPED;
		return true;
	}
	if (unlikely(READ_ONCE(vcpu->kick) || READ_ONCE(vcpu->mach->dying)))
		goto out;

	work = read_thread_flags() & XFER_TO_GUEST_MODE_WORK;
	if (unlikely(work)) {
		if (work & (_TIF_SIGPENDING | _TIF_NOTIFY_SIGNAL))
			goto out;
		if (work & _TIF_NEED_RESCHED) {
			nvmm_vcpu_leave(vcpu);
			local_irq_enable();
			schedule();
			local_irq_disable();
			goto again;
		}
		if (!vcpu->resume_since)
			vcpu->resume_since = jiffies | 1;
		else if (time_after(jiffies, vcpu->resume_since + 1))
			goto out;
	}
	return false;

out:
	WRITE_ONCE(vcpu->kick, false);
	nvmm_vcpu_leave(vcpu);
	*reason = NVMM_VCPU_EXIT_NONE;
	return true;
}

/* With the VCPU's mutex held: this thread runs it now. */
static void nvmm_vcpu_set_pid(struct nvmm_cpu *vcpu)
{
	struct pid *old, *pid = task_pid(current);

	if (likely(READ_ONCE(vcpu->pid) == pid))
		return;
	get_pid(pid);
	spin_lock(&vcpu->pid_lock);
	old = vcpu->pid;
	vcpu->pid = pid;
	spin_unlock(&vcpu->pid_lock);
	put_pid(old);
}

/*
 * As KVM's kvm_vcpu_on_spin(): a guest that spins long enough to exit on
 * PAUSE most often waits for another of its VCPUs (a lock holder, the
 * target of an IPI). If that VCPU's thread waits for a host CPU, give it
 * ours; yield_to() only moves the caller's own share of the CPU. The scan
 * starts after the VCPU boosted last, so that each gets its turn.
 */
bool nvmm_vcpu_on_spin(struct nvmm_cpu *me)
{
	struct nvmm_machine *mach = me->mach;
	unsigned int i, n = NVMM_MAX_VCPUS;
	unsigned int start = READ_ONCE(mach->spin_last) + 1;

	for (i = 0; i < n; i++) {
		unsigned int id = (start + i) % n;
		struct nvmm_cpu *vcpu = &mach->cpus[id];
		struct task_struct *task;
		struct pid *pid;
		int ret;

		if (vcpu == me || !READ_ONCE(vcpu->present) ||
		    READ_ONCE(vcpu->mode) == NVMM_VCPU_IN_GUEST)
			continue;
		spin_lock(&vcpu->pid_lock);
		pid = get_pid(vcpu->pid);
		spin_unlock(&vcpu->pid_lock);
		if (!pid)
			continue;
		task = get_pid_task(pid, PIDTYPE_PID);
		put_pid(pid);
		if (!task)
			continue;
		ret = task == current ? 0 : yield_to(task, true);
		put_task_struct(task);
		if (ret > 0) {
			WRITE_ONCE(mach->spin_last, id);
			nvmm_count(NVMM_COUNT_YIELDS);
			return true;
		}
		if (ret < 0)	/* we are alone on our run queue */
			return false;
	}
	return false;
}

static int nvmm_ioctl_vcpu_run(struct nvmm_owner *owner,
			       struct nvmm_ioc_vcpu_run *args)
{
	struct nvmm_machine *mach;
	struct nvmm_cpu *vcpu;
	int ret;

	mach = nvmm_machine_get(owner, args->machid, false);
	if (IS_ERR(mach))
		return PTR_ERR(mach);
	vcpu = nvmm_vcpu_get(mach, args->cpuid);
	if (IS_ERR(vcpu)) {
		ret = PTR_ERR(vcpu);
		goto out;
	}
	vcpu->resume_since = 0;
	nvmm_vcpu_set_pid(vcpu);
	ret = nvmm_impl->vcpu_run(mach, vcpu);
	/* Whatever the reason of the return, a stop request is consumed. */
	WRITE_ONCE(vcpu->comm->stop, 0);
	nvmm_vcpu_put(vcpu);
out:
	nvmm_machine_put(mach, false);
	return ret;
}

static int nvmm_ioctl_vcpu_getstate(struct nvmm_owner *owner,
				    struct nvmm_ioc_vcpu_getstate *args)
{
	struct nvmm_machine *mach;
	struct nvmm_cpu *vcpu;
	int ret;

	mach = nvmm_machine_get(owner, args->machid, false);
	if (IS_ERR(mach))
		return PTR_ERR(mach);
	vcpu = nvmm_vcpu_get(mach, args->cpuid);
	if (IS_ERR(vcpu)) {
		ret = PTR_ERR(vcpu);
		goto out;
	}
	ret = nvmm_impl->vcpu_getstate(vcpu);
	nvmm_vcpu_put(vcpu);
out:
	nvmm_machine_put(mach, false);
	return ret;
}

static int nvmm_ioctl_vcpu_configure(struct nvmm_owner *owner,
				     struct nvmm_ioc_vcpu_configure *args)
{
	struct nvmm_machine *mach;
	struct nvmm_cpu *vcpu;
	int ret;

	mach = nvmm_machine_get(owner, args->machid, false);
	if (IS_ERR(mach))
		return PTR_ERR(mach);
	vcpu = nvmm_vcpu_get(mach, args->cpuid);
	if (IS_ERR(vcpu)) {
		ret = PTR_ERR(vcpu);
		goto out;
	}
	ret = nvmm_impl->vcpu_configure(vcpu, args->op,
					u64_to_user_ptr(args->conf));
	nvmm_vcpu_put(vcpu);
out:
	nvmm_machine_put(mach, false);
	return ret;
}

/* Guest memory operations: the machine held for reading. */
static int nvmm_mem_op(struct nvmm_owner *owner, unsigned int cmd,
		       union nvmm_ioc_args *args)
{
	struct nvmm_machine *mach;
	int ret;

	/* machid is the first member of every one of these. */
	mach = nvmm_machine_get(owner, args->hva_map.machid, false);
	if (IS_ERR(mach))
		return PTR_ERR(mach);
	switch (cmd) {
	case NVMM_IOC_HVA_MAP:
		ret = nvmm_mmu_hva_map(mach, &args->hva_map);
		break;
	case NVMM_IOC_HVA_UNMAP:
		ret = nvmm_mmu_hva_unmap(mach, &args->hva_unmap);
		break;
	case NVMM_IOC_GPA_MAP:
		ret = nvmm_mmu_gpa_map(mach, &args->gpa_map);
		break;
	default:
		ret = nvmm_mmu_gpa_unmap(mach, &args->gpa_unmap);
		break;
	}
	nvmm_machine_put(mach, false);
	return ret;
}

/* -------------------------------------------------------------------------- */
/* Machines. */

/* With the machine's lock held for writing. */
static void nvmm_machine_free(struct nvmm_machine *mach)
{
	unsigned int i;

	spin_lock(&nvmm_pub_lock);
	WRITE_ONCE(mach->present, false);
	spin_unlock(&nvmm_pub_lock);

	for (i = 0; i < NVMM_MAX_VCPUS; i++) {
		struct nvmm_cpu *vcpu = &mach->cpus[i];

		mutex_lock(&vcpu->lock);
		if (vcpu->present)
			nvmm_vcpu_free(mach, vcpu);
		mutex_unlock(&vcpu->lock);
		mutex_destroy(&vcpu->lock);
	}
	nvmm_impl->machine_destroy(mach);
	nvmm_mmu_fini(mach);
	kvfree(mach->cpus);
	mach->cpus = NULL;
	mmdrop(mach->mm);
	mach->mm = NULL;
	put_pid(mach->pid);
	mach->pid = NULL;
	WRITE_ONCE(mach->owner, NULL);
	atomic_long_dec(&nvmm_stats.machines);
}

static struct workqueue_struct *nvmm_reap_wq;

/*
 * A machine belongs to the process that created it, as on NetBSD: once
 * that process's address space is gone, the machine is destroyed, even
 * when another process (a parent that forked, or a program exec'd in its
 * place) still holds the descriptor. That process could not use it (EPERM)
 * and must not keep its slot and memory.
 */
static void nvmm_machine_reap(struct work_struct *work)
{
	struct nvmm_machine *mach = container_of(work, struct nvmm_machine,
						 reap_work);

	down_write(&mach->lock);
	if (mach->present && mach->orphan)
		nvmm_machine_free(mach);
	up_write(&mach->lock);
}

void nvmm_machine_orphan(struct nvmm_machine *mach)
{
	WRITE_ONCE(mach->orphan, true);
	queue_work(nvmm_reap_wq, &mach->reap_work);
}

/* With the machine's lock held for writing. */
static int nvmm_machine_setup(struct nvmm_machine *mach,
			      struct nvmm_owner *owner)
{
	unsigned int i;
	int ret;

	mach->cpus = kvcalloc(NVMM_MAX_VCPUS, sizeof(*mach->cpus),
			      GFP_KERNEL_ACCOUNT);
	if (!mach->cpus)
		return -ENOMEM;
	for (i = 0; i < NVMM_MAX_VCPUS; i++) {
		mutex_init(&mach->cpus[i].lock);
		spin_lock_init(&mach->cpus[i].pid_lock);
		mach->cpus[i].cpuid = i;
		mach->cpus[i].mach = mach;
	}
	atomic_set(&mach->ncpus, 0);
	spin_lock_init(&mach->tsc_lock);
	mach->tsc_valid = false;
	mach->nram = 0;
	mach->dying = false;
	mach->orphan = false;
	mach->machdata = NULL;
	mach->pid = get_pid(task_tgid(current));
	mach->time = ktime_get_real_seconds();
	mmgrab(current->mm);
	mach->mm = current->mm;

	ret = nvmm_mmu_init(mach);
	if (!ret) {
		ret = nvmm_impl->machine_create(mach);
		if (ret)
			nvmm_mmu_fini(mach);
	}
	if (ret) {
		mach->mm = NULL;
		mmdrop(current->mm);
		put_pid(mach->pid);
		mach->pid = NULL;
		for (i = 0; i < NVMM_MAX_VCPUS; i++)
			mutex_destroy(&mach->cpus[i].lock);
		kvfree(mach->cpus);
		mach->cpus = NULL;
		return ret;
	}

	spin_lock(&nvmm_pub_lock);
	WRITE_ONCE(mach->owner, owner);
	WRITE_ONCE(mach->present, true);
	spin_unlock(&nvmm_pub_lock);
	atomic_long_inc(&nvmm_stats.machines);
	return 0;
}

static int nvmm_ioctl_machine_create(struct nvmm_owner *owner,
				     struct nvmm_ioc_machine_create *args)
{
	unsigned int i;
	int ret;

	if (!current->mm)
		return -EINVAL;

	for (i = 0; i < NVMM_MAX_MACHINES; i++) {
		struct nvmm_machine *mach = &machines[i];

		/*
		 * Skip live machines without their lock: a running VCPU holds
		 * it for reading as long as the guest runs.
		 */
		if (READ_ONCE(mach->present))
			continue;
		down_write(&mach->lock);
		if (mach->present) {
			up_write(&mach->lock);
			continue;
		}
		ret = nvmm_machine_setup(mach, owner);
		up_write(&mach->lock);
		if (!ret)
			args->machid = i;
		return ret;
	}
	return -ENOBUFS;
}

static int nvmm_ioctl_machine_destroy(struct nvmm_owner *owner,
				      struct nvmm_ioc_machine_destroy *args)
{
	struct nvmm_machine *mach;
	unsigned int i;

	/* Make running VCPUs return, so that the lock can be had. */
	mach = nvmm_machine_get(owner, args->machid, false);
	if (IS_ERR(mach))
		return PTR_ERR(mach);
	WRITE_ONCE(mach->dying, true);
	for (i = 0; i < NVMM_MAX_VCPUS; i++)
		nvmm_vcpu_kick(&mach->cpus[i]);
	nvmm_machine_put(mach, false);

	mach = nvmm_machine_get(owner, args->machid, true);
	if (IS_ERR(mach))
		return PTR_ERR(mach);
	nvmm_machine_free(mach);
	nvmm_machine_put(mach, true);
	return 0;
}

/* No machine configuration exists (mach_conf_support is 0). */
static int nvmm_ioctl_machine_configure(struct nvmm_owner *owner,
					struct nvmm_ioc_machine_configure *args)
{
	struct nvmm_machine *mach;

	mach = nvmm_machine_get(owner, args->machid, false);
	if (IS_ERR(mach))
		return PTR_ERR(mach);
	nvmm_machine_put(mach, false);
	return -EINVAL;
}

/* -------------------------------------------------------------------------- */
/* Control operations. */

/*
 * The machine a control operation asks about, read-locked: any machine for
 * the root owner, else only the caller's own.
 */
static struct nvmm_machine *nvmm_ctl_machine(struct nvmm_owner *owner,
					     nvmm_machid_t machid)
{
	struct nvmm_machine *mach;

	if (machid >= NVMM_MAX_MACHINES)
		return ERR_PTR(-EINVAL);
	mach = &machines[array_index_nospec(machid, NVMM_MAX_MACHINES)];
	down_read(&mach->lock);
	if (!mach->present) {
		up_read(&mach->lock);
		return ERR_PTR(-ENOENT);
	}
	if (!owner->root &&
	    (mach->owner != owner || mach->mm != current->mm)) {
		up_read(&mach->lock);
		return ERR_PTR(-EPERM);
	}
	return mach;
}

static int nvmm_ctl_mach_info(struct nvmm_owner *owner, void __user *udata,
			      u64 size)
{
	struct nvmm_ctl_mach_info info;
	struct nvmm_machine *mach;

	if (size != sizeof(info))
		return -EINVAL;
	if (copy_from_user(&info, udata, sizeof(info)))
		return -EFAULT;
	mach = nvmm_ctl_machine(owner, info.machid);
	if (IS_ERR(mach))
		return PTR_ERR(mach);
	info.nvcpus = atomic_read(&mach->ncpus);
	info.nram = mach->nram;
	info.pid = pid_vnr(mach->pid);
	info.time = mach->time;
	up_read(&mach->lock);

	if (copy_to_user(udata, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static int nvmm_ctl_mach_mem(struct nvmm_owner *owner, void __user *udata,
			     u64 size)
{
	struct nvmm_ctl_mach_mem mem;
	struct nvmm_machine *mach;

	if (size != sizeof(mem))
		return -EINVAL;
	if (copy_from_user(&mem, udata, sizeof(mem)))
		return -EFAULT;
	if (mem.rsvd)
		return -EINVAL;
	mach = nvmm_ctl_machine(owner, mem.machid);
	if (IS_ERR(mach))
		return PTR_ERR(mach);
	spin_lock(&mach->mmu.lock);
	mem.mapped_pages = mach->mmu.leaves;
	mem.pt_pages = mach->mmu.tables;
	spin_unlock(&mach->mmu.lock);
	up_read(&mach->lock);

	if (copy_to_user(udata, &mem, sizeof(mem)))
		return -EFAULT;
	return 0;
}

static int nvmm_ctl(struct nvmm_owner *owner, struct nvmm_ioc_ctl *args)
{
	switch (args->op) {
	case NVMM_CTL_MACH_INFO:
		return nvmm_ctl_mach_info(owner, u64_to_user_ptr(args->data),
					  args->size);
	case NVMM_CTL_MACH_MEM:
		return nvmm_ctl_mach_mem(owner, u64_to_user_ptr(args->data),
					 args->size);
	default:
		return -EINVAL;
	}
}

static void nvmm_capability(struct nvmm_ioc_capability *args)
{
	struct nvmm_capability *cap = &args->cap;

	memset(cap, 0, sizeof(*cap));
	cap->version = NVMM_KERN_VERSION;
	cap->state_size = sizeof(struct nvmm_vcpu_state);
	cap->max_machines = NVMM_MAX_MACHINES;
	cap->max_vcpus = NVMM_MAX_VCPUS;
	cap->max_ram = NVMM_MAX_RAM;
	nvmm_impl->capability(cap);
}

/* -------------------------------------------------------------------------- */
/* The device. */

/*
 * Linux does not tell a driver whether open(2) had O_CLOEXEC. Machines must
 * not survive an exec, so the first ioctl checks that every descriptor of
 * the caller for this file is close-on-exec.
 */
struct nvmm_cloexec_scan {
	struct files_struct *files;
	struct file *filp;
	bool found;
	bool missing;
};

/* Called by iterate_fd() with files->file_lock held. */
static int nvmm_cloexec_one(const void *p, struct file *file, unsigned int fd)
{
	struct nvmm_cloexec_scan *scan = (struct nvmm_cloexec_scan *)p;

	if (file != scan->filp)
		return 0;
	scan->found = true;
	if (!close_on_exec(fd, files_fdtable(scan->files)))
		scan->missing = true;
	return 0;
}

static int nvmm_check_cloexec(struct file *filp)
{
	struct nvmm_cloexec_scan scan = {
		.files = current->files,
		.filp = filp,
	};

	if (!scan.files)
		return -EBADF;
	iterate_fd(scan.files, 0, nvmm_cloexec_one, &scan);
	if (!scan.found)
		return -EBADF;
	return scan.missing ? -EINVAL : 0;
}

static int nvmm_open(struct inode *inode, struct file *filp)
{
	struct nvmm_owner *owner;
	int ret;

	ret = nonseekable_open(inode, filp);
	if (ret)
		return ret;

	owner = kzalloc(sizeof(*owner), GFP_KERNEL_ACCOUNT);
	if (!owner)
		return -ENOMEM;

	switch (filp->f_flags & O_ACCMODE) {
	case O_WRONLY:
		/* The root owner: may inspect every machine, nothing more. */
		if (!capable(CAP_SYS_ADMIN)) {
			kfree(owner);
			return -EPERM;
		}
		owner->root = true;
		break;
	case O_RDWR:
		owner->can_write = true;
		break;
	default:
		break;
	}
	filp->private_data = owner;
	return 0;
}

static int nvmm_release(struct inode *inode, struct file *filp)
{
	struct nvmm_owner *owner = filp->private_data;
	unsigned int i;

	for (i = 0; i < NVMM_MAX_MACHINES; i++) {
		struct nvmm_machine *mach = &machines[i];

		/*
		 * No ioctl of this owner can run any more, so its machines
		 * cannot change under us; others' may be busy: skip them
		 * without waiting on their lock.
		 */
		if (READ_ONCE(mach->owner) != owner)
			continue;
		down_write(&mach->lock);
		if (mach->present && mach->owner == owner)
			nvmm_machine_free(mach);
		up_write(&mach->lock);
	}
	kfree(owner);
	return 0;
}

static int nvmm_comm_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct nvmm_owner *owner = filp->private_data;
	struct nvmm_machine *mach;
	struct page *page = NULL;
	unsigned int machid, cpuid;
	u64 off;
	int ret;

	if (!owner->can_write)
		return -EBADF;
	if (vma->vm_end - vma->vm_start != PAGE_SIZE)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED) || (vma->vm_flags & VM_EXEC))
		return -EINVAL;
	/* Each VCPU slot has an offset, and each offset's cpuid a slot. */
	BUILD_BUG_ON(NVMM_COMM_CPUID(~0ULL) + 1 != NVMM_MAX_VCPUS);
	BUILD_BUG_ON(NVMM_COMM_MACHID(~0ULL) + 1 < NVMM_MAX_MACHINES);
	off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	machid = NVMM_COMM_MACHID(off);
	cpuid = NVMM_COMM_CPUID(off);
	if (off != NVMM_COMM_OFF(machid, cpuid) || machid >= NVMM_MAX_MACHINES)
		return -EINVAL;

	mach = &machines[array_index_nospec(machid, NVMM_MAX_MACHINES)];
	ret = -ENOENT;
	spin_lock(&nvmm_pub_lock);
	if (mach->present) {
		if (mach->owner != owner || mach->mm != current->mm) {
			ret = -EPERM;
		} else {
			unsigned int i = array_index_nospec(cpuid,
							    NVMM_MAX_VCPUS);
			struct nvmm_cpu *vcpu = &mach->cpus[i];

			if (vcpu->present) {
				page = vcpu->comm_page;
				get_page(page);
			}
		}
	}
	spin_unlock(&nvmm_pub_lock);
	if (!page)
		return ret;

	/*
	 * Never inherited: a child must not write the parent's RIP or stop
	 * flag. VM_IO makes madvise(MADV_DOFORK) refuse to clear DONTCOPY
	 * (and keeps the page out of get_user_pages and /proc/pid/mem).
	 */
	vma->vm_flags &= ~VM_MAYEXEC;
	vma->vm_flags |= VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP | VM_IO;
	ret = vm_insert_page(vma, vma->vm_start, page);
	put_page(page);
	return ret;
}

/* The root owner inspects; only a writable handle changes things. */
static int nvmm_owner_may_change(const struct nvmm_owner *owner)
{
	if (owner->root)
		return -EPERM;
	if (!owner->can_write)
		return -EBADF;
	return 0;
}

static long nvmm_dispatch(struct nvmm_owner *owner, unsigned int cmd,
			  union nvmm_ioc_args *args)
{
	if (cmd != NVMM_IOC_CAPABILITY && cmd != NVMM_IOC_CTL) {
		int ret = nvmm_owner_may_change(owner);

		if (ret)
			return ret;
	}

	switch (cmd) {
	case NVMM_IOC_CAPABILITY:
		nvmm_capability(&args->capability);
		return 0;
	case NVMM_IOC_MACHINE_CREATE:
		return nvmm_ioctl_machine_create(owner, &args->machine_create);
	case NVMM_IOC_MACHINE_DESTROY:
		return nvmm_ioctl_machine_destroy(owner, &args->machine_destroy);
	case NVMM_IOC_VCPU_CREATE:
		return nvmm_ioctl_vcpu_create(owner, &args->vcpu_create);
	case NVMM_IOC_VCPU_DESTROY:
		return nvmm_ioctl_vcpu_destroy(owner, &args->vcpu_destroy);
	case NVMM_IOC_CTL:
		return nvmm_ctl(owner, &args->ctl);
	case NVMM_IOC_VCPU_RUN:
		return nvmm_ioctl_vcpu_run(owner, &args->vcpu_run);
	case NVMM_IOC_VCPU_GETSTATE:
		return nvmm_ioctl_vcpu_getstate(owner, &args->vcpu_getstate);
	case NVMM_IOC_VCPU_CONFIGURE:
		return nvmm_ioctl_vcpu_configure(owner, &args->vcpu_configure);
	case NVMM_IOC_MACHINE_CONFIGURE:
		return nvmm_ioctl_machine_configure(owner, &args->machine_configure);
	case NVMM_IOC_HVA_MAP:
	case NVMM_IOC_HVA_UNMAP:
	case NVMM_IOC_GPA_MAP:
	case NVMM_IOC_GPA_UNMAP:
		return nvmm_mem_op(owner, cmd, args);
	default:
		return -ENOTTY;
	}
}

static long nvmm_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct nvmm_owner *owner = filp->private_data;
	void __user *uarg = (void __user *)arg;
	union nvmm_ioc_args args;
	unsigned int size = _IOC_SIZE(cmd);
	long ret;

	if (_IOC_TYPE(cmd) != NVMM_IOC_MAGIC || size > sizeof(args))
		return -ENOTTY;

	if (!READ_ONCE(owner->cloexec_ok)) {
		ret = nvmm_check_cloexec(filp);
		if (ret)
			return ret;
		WRITE_ONCE(owner->cloexec_ok, true);
	}

	/*
	 * The run, once per exit that reaches userland: its two ids copied
	 * at a constant size (no object-size check, no union to clear), as
	 * nvmm_dispatch() would, with the same checks.
	 */
	if (cmd == NVMM_IOC_VCPU_RUN) {
		if (copy_from_user(&args.vcpu_run, uarg, sizeof(args.vcpu_run)))
			return -EFAULT;
		ret = nvmm_owner_may_change(owner);
		if (ret)
			return ret;
		return nvmm_ioctl_vcpu_run(owner, &args.vcpu_run);
	}

	memset(&args, 0, sizeof(args));
	if ((_IOC_DIR(cmd) & _IOC_WRITE) && copy_from_user(&args, uarg, size))
		return -EFAULT;

	ret = nvmm_dispatch(owner, cmd, &args);

	if (!ret && (_IOC_DIR(cmd) & _IOC_READ) &&
	    copy_to_user(uarg, &args, size)) {
		/* Nothing of a failed ioctl stays: not a machine nobody knows. */
		if (cmd == NVMM_IOC_MACHINE_CREATE) {
			struct nvmm_ioc_machine_destroy undo = {
				.machid = args.machine_create.machid,
			};

			nvmm_ioctl_machine_destroy(owner, &undo);
		}
		return -EFAULT;
	}
	return ret;
}

static const struct file_operations nvmm_fops = {
	.owner = THIS_MODULE,
	.open = nvmm_open,
	.release = nvmm_release,
	.unlocked_ioctl = nvmm_ioctl,
	.mmap = nvmm_comm_mmap,
	.llseek = no_llseek,
};

static struct miscdevice nvmm_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "nvmm",
	.fops = &nvmm_fops,
	.mode = 0600,
};

/* -------------------------------------------------------------------------- */
/* Module. */

/* The backends, each asked in turn whether the CPU is its kind. */
static const struct nvmm_impl *const nvmm_impl_list[] = {
#if defined(CONFIG_X86_64)
	&nvmm_x86_svm,		/* AMD SVM */
	&nvmm_x86_vmx,		/* Intel VMX */
#endif
};

static const struct nvmm_impl *nvmm_pick_backend(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nvmm_impl_list); i++) {
		if (nvmm_impl_list[i]->ident())
			return nvmm_impl_list[i];
	}
	return NULL;
}

static int __init nvmm_module_init(void)
{
	const struct nvmm_impl *impl;
	unsigned int i;
	int ret;

	impl = nvmm_pick_backend();
	if (!impl) {
		pr_err("cannot load: no backend for this CPU (nvmm has AMD SVM and Intel VMX)\n");
		return -ENODEV;
	}
	ret = impl->probe();
	if (ret)
		return ret;

	for (i = 0; i < NVMM_MAX_MACHINES; i++) {
		init_rwsem(&machines[i].lock);
		machines[i].machid = i;
		INIT_WORK(&machines[i].reap_work, nvmm_machine_reap);
	}

	nvmm_reap_wq = alloc_workqueue("nvmm_reap", 0, 0);
	if (!nvmm_reap_wq)
		return -ENOMEM;
	ret = impl->init();
	if (ret) {
		destroy_workqueue(nvmm_reap_wq);
		return ret;
	}
	nvmm_impl = impl;

	ret = nvmm_cpus_enable();
	if (ret)
		goto fail_fini;

	ret = misc_register(&nvmm_dev);
	if (ret) {
		pr_err("cannot load: misc_register failed (%d)\n", ret);
		goto fail_cpus;
	}
	nvmm_stats_init();
	pr_info("loaded, backend %s\n", impl->name);
	return 0;

fail_cpus:
	nvmm_cpus_disable();
fail_fini:
	impl->fini();
	nvmm_impl = NULL;
	destroy_workqueue(nvmm_reap_wq);
	return ret;
}

static void __exit nvmm_module_exit(void)
{
	nvmm_stats_fini();
	misc_deregister(&nvmm_dev);
	nvmm_cpus_disable();
	nvmm_impl->fini();
	nvmm_impl = NULL;
	/* Reaps queued for machines that an fd's release freed since. */
	destroy_workqueue(nvmm_reap_wq);
	pr_info("unloaded\n");
}

module_init(nvmm_module_init);
module_exit(nvmm_module_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("NetBSD Virtual Machine Monitor (NVMM) interface for Linux");
