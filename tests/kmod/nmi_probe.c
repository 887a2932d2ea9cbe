// SPDX-License-Identifier: GPL-2.0-only
/*
 * nmi_probe: a helper of the emulated-host tests, not part of nvmm.
 *
 * It sends NMIs to one CPU and counts those the CPU's NMI handlers saw, so
 * that a test can show that NMIs arriving while a guest runs reach the
 * host, none lost.
 *
 * Writing "CPU COUNT LO HI" to /proc/nmi_probe sends COUNT NMIs to CPU, one
 * at a time: each is sent once the one before was handled, or once at least
 * 100 ms passed without it (then it is lost); after 3 lost in a row it
 * stops sending. Reading gives "sent received lost in_range": in_range
 * counts the NMIs that interrupted code at addresses [LO, HI) (the test
 * passes nvmm.ko's).
 */
#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <asm/apic.h>
#include <asm/irq_vectors.h>
#include <asm/nmi.h>

#define PROBE_WAIT_US	100000
#define PROBE_GIVE_UP	3

static DEFINE_MUTEX(probe_lock);
static int probe_cpu = -1;
static atomic_t probe_pending;
static unsigned long probe_lo, probe_hi;
static unsigned long n_sent, n_lost;
static atomic_long_t n_received, n_in_range;

static int probe_nmi(unsigned int type, struct pt_regs *regs)
{
	if (smp_processor_id() != READ_ONCE(probe_cpu))
		return NMI_DONE;
	if (!atomic_xchg(&probe_pending, 0))
		return NMI_DONE;
	atomic_long_inc(&n_received);
	if (regs->ip >= READ_ONCE(probe_lo) && regs->ip < READ_ONCE(probe_hi))
		atomic_long_inc(&n_in_range);
	return NMI_HANDLED;
}

static void probe_send(int cpu, unsigned long count)
{
	unsigned long i, us, lost_in_a_row = 0;

	WRITE_ONCE(probe_cpu, cpu);
	/* The CPU takes none any more: no use waiting for the rest. */
	for (i = 0; i < count && lost_in_a_row < PROBE_GIVE_UP; i++) {
		atomic_set(&probe_pending, 1);
		n_sent++;
		apic->send_IPI(cpu, NMI_VECTOR);
		for (us = 0; us < PROBE_WAIT_US; us += 10) {
			if (!atomic_read(&probe_pending))
				break;
			usleep_range(10, 20);
		}
		/* Withdrawn if still pending: if it comes later, not ours. */
		if (atomic_xchg(&probe_pending, 0)) {
			n_lost++;
			lost_in_a_row++;
		} else {
			lost_in_a_row = 0;
		}
	}
	WRITE_ONCE(probe_cpu, -1);
}

static ssize_t probe_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *off)
{
	unsigned long count, lo, hi;
	char buf[96];
	int cpu;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%d %lu %lx %lx", &cpu, &count, &lo, &hi) != 4)
		return -EINVAL;
	if (cpu < 0 || cpu >= nr_cpu_ids || !cpu_online(cpu) ||
	    count > 100000)
		return -EINVAL;

	mutex_lock(&probe_lock);
	WRITE_ONCE(probe_lo, lo);
	WRITE_ONCE(probe_hi, hi);
	n_sent = 0;
	n_lost = 0;
	atomic_long_set(&n_received, 0);
	atomic_long_set(&n_in_range, 0);
	/* On this CPU to the end: the target must not be this one. */
	migrate_disable();
	if (cpu == smp_processor_id())
		len = -EINVAL;
	else
		probe_send(cpu, count);
	migrate_enable();
	mutex_unlock(&probe_lock);
	return len;
}

static ssize_t probe_read(struct file *file, char __user *ubuf, size_t len,
			  loff_t *off)
{
	char buf[96];
	int n;

	mutex_lock(&probe_lock);
	n = scnprintf(buf, sizeof(buf), "%lu %ld %lu %ld\n", n_sent,
		      atomic_long_read(&n_received), n_lost,
		      atomic_long_read(&n_in_range));
	mutex_unlock(&probe_lock);
	return simple_read_from_buffer(ubuf, len, off, buf, n);
}

static const struct proc_ops probe_ops = {
	.proc_read = probe_read,
	.proc_write = probe_write,
	.proc_lseek = default_llseek,
};

static int __init probe_init(void)
{
	int err;

	err = register_nmi_handler(NMI_LOCAL, probe_nmi, 0, "nmi_probe");
	if (err)
		return err;
	if (!proc_create("nmi_probe", 0600, NULL, &probe_ops)) {
		unregister_nmi_handler(NMI_LOCAL, "nmi_probe");
		return -ENOMEM;
	}
	return 0;
}

static void __exit probe_exit(void)
{
	remove_proc_entry("nmi_probe", NULL);
	unregister_nmi_handler(NMI_LOCAL, "nmi_probe");
}

module_init(probe_init);
module_exit(probe_exit);
MODULE_DESCRIPTION("nvmm tests: NMIs sent to a CPU, and counted");
MODULE_LICENSE("GPL");
