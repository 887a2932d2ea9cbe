// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host CPU enabling: virtualization is on, on every online CPU, from module
 * load to unload. CPUs that come online later are enabled before they run
 * anything; CPUs going offline, the system suspending and the system
 * rebooting disable it, and resume enables it again.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/percpu.h>
#include <linux/reboot.h>
#include <linux/syscore_ops.h>

#include "nvmm_internal.h"

bool nvmm_rebooting;
static DEFINE_PER_CPU(bool, nvmm_cpu_on);
static enum cpuhp_state nvmm_hp_state;
static bool nvmm_hp_registered;

/* The first CPU that refused, while loading. */
static int nvmm_fail_cpu = -1;
static int nvmm_fail_err;

/* On the current CPU, IRQs off. */
static int nvmm_cpu_enable_local(void)
{
	int ret;

	if (__this_cpu_read(nvmm_cpu_on))
		return 0;
	ret = nvmm_impl->cpu_enable();
	if (!ret)
		__this_cpu_write(nvmm_cpu_on, true);
	return ret;
}

static void nvmm_cpu_disable_local(void)
{
	if (!__this_cpu_read(nvmm_cpu_on))
		return;
	nvmm_impl->cpu_disable();
	__this_cpu_write(nvmm_cpu_on, false);
}

static int nvmm_cpu_online(unsigned int cpu)
{
	unsigned long flags;
	int ret;

	local_irq_save(flags);
	ret = nvmm_cpu_enable_local();
	local_irq_restore(flags);
	if (!ret)
		return 0;
	if (nvmm_hp_registered)
		pr_warn("CPU %u: cannot enable %s (error %d): it stays offline\n",
			cpu, nvmm_impl->hw, ret);
	else if (nvmm_fail_cpu < 0) {
		nvmm_fail_cpu = cpu;
		nvmm_fail_err = ret;
	}
	return ret;
}

static int nvmm_cpu_offline(unsigned int cpu)
{
	unsigned long flags;

	local_irq_save(flags);
	nvmm_cpu_disable_local();
	local_irq_restore(flags);
	return 0;
}

/* Suspend and resume run on the boot CPU with the others offline. */
static int nvmm_suspend(void)
{
	nvmm_cpu_disable_local();
	return 0;
}

static void nvmm_resume(void)
{
	if (nvmm_cpu_enable_local())
		pr_warn("could not enable virtualization again after resume\n");
}

static struct syscore_ops nvmm_syscore_ops = {
	.suspend = nvmm_suspend,
	.resume = nvmm_resume,
};

static void nvmm_cpu_disable_ipi(void *unused)
{
	nvmm_cpu_disable_local();
}

/* Leave no CPU in VMX operation or with GIF clear across a reboot. */
static int nvmm_reboot(struct notifier_block *nb, unsigned long code,
		       void *unused)
{
	WRITE_ONCE(nvmm_rebooting, true);
	on_each_cpu(nvmm_cpu_disable_ipi, NULL, 1);
	return NOTIFY_OK;
}

static struct notifier_block nvmm_reboot_nb = {
	.notifier_call = nvmm_reboot,
};

int nvmm_cpus_enable(void)
{
	int ret;

	/*
	 * The online callback runs now on every online CPU and later on each
	 * CPU coming up; if it fails anywhere, the setup is undone.
	 */
	nvmm_fail_cpu = -1;
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "nvmm:online",
				nvmm_cpu_online, nvmm_cpu_offline);
	if (ret < 0) {
		if (nvmm_fail_cpu < 0)
			pr_err("cannot load: CPU hotplug setup failed (error %d)\n",
			       ret);
		else if (nvmm_fail_err == -EBUSY)
			pr_err("cannot load: %s is already in use on CPU %d (another hypervisor is loaded)\n",
			       nvmm_impl->hw, nvmm_fail_cpu);
		else
			pr_err("cannot load: enabling %s failed on CPU %d (error %d)\n",
			       nvmm_impl->hw, nvmm_fail_cpu, nvmm_fail_err);
		return ret;
	}
	nvmm_hp_state = ret;
	nvmm_hp_registered = true;
	register_syscore_ops(&nvmm_syscore_ops);
	register_reboot_notifier(&nvmm_reboot_nb);
	return 0;
}

void nvmm_cpus_disable(void)
{
	if (!nvmm_hp_registered)
		return;
	unregister_reboot_notifier(&nvmm_reboot_nb);
	unregister_syscore_ops(&nvmm_syscore_ops);
	cpuhp_remove_state(nvmm_hp_state);
	nvmm_hp_registered = false;
}
