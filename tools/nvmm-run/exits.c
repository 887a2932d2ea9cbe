/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * --stats: the exits that reached nvmm-run, by kind (the exit reason, and
 * for IO and MEMORY the device addressed), counted by every VCPU thread
 * and reported with their rates when the machine ends. The exits the
 * kernel handles itself (CPUID, nested page faults of RAM, host
 * interrupts) are in nvmm.ko's /sys/kernel/debug/nvmm/stats.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "acpi.h"
#include "ioapic.h"
#include "lapic.h"
#include "nvmm-run.h"
#include "pit.h"
#include "rtc.h"

#define MSR_TSC_DEADLINE	0x6E0

enum exit_kind {
	K_IO_UART, K_IO_CLOCKS, K_IO_POWER, K_IO_OTHER,
	K_MMIO_LAPIC, K_MMIO_IOAPIC, K_MMIO_DISK, K_MMIO_OTHER,
	K_RDMSR, K_WRMSR_DEADLINE, K_WRMSR_OTHER,
	K_INT_READY, K_NMI_READY, K_HALTED, K_STOPPED, K_OTHER,
	K_MAX,
};

static const char *const kind_name[K_MAX] = {
	[K_IO_UART] = "IO: UART",
	[K_IO_CLOCKS] = "IO: CMOS clock, PIT",
	[K_IO_POWER] = "IO: ACPI sleep, reset",
	[K_IO_OTHER] = "IO: no device",
	[K_MMIO_LAPIC] = "MEMORY: local APIC",
	[K_MMIO_IOAPIC] = "MEMORY: I/O APIC",
	[K_MMIO_DISK] = "MEMORY: virtio disk",
	[K_MMIO_OTHER] = "MEMORY: no device",
	[K_RDMSR] = "RDMSR",
	[K_WRMSR_DEADLINE] = "WRMSR: TSC deadline",
	[K_WRMSR_OTHER] = "WRMSR: other",
	[K_INT_READY] = "INT_READY",
	[K_NMI_READY] = "NMI_READY",
	[K_HALTED] = "HALTED",
	[K_STOPPED] = "STOPPED, NONE (kicks)",
	[K_OTHER] = "other",
};

static atomic_ulong counts[K_MAX];
static struct timespec start;

static bool in(uint64_t x, uint64_t base, uint64_t size)
{
	return x >= base && x - base < size;
}

static enum exit_kind kind_io(uint16_t port)
{
	if (in(port, NR_PORT_COM1, 8))
		return K_IO_UART;
	if (port == NR_RTC_PORT_INDEX || port == NR_RTC_PORT_DATA ||
	    port == NR_PIT_PORT_CH2 || port == NR_PIT_PORT_CTRL ||
	    port == NR_PIT_PORT_B)
		return K_IO_CLOCKS;
	if (port == NR_ACPI_SLEEP_PORT || port == NR_ACPI_RESET_PORT ||
	    port == 0x64)
		return K_IO_POWER;
	return K_IO_OTHER;
}

static enum exit_kind kind_mem(uint64_t gpa)
{
	if (in(gpa, NR_LAPIC_BASE, NR_LAPIC_SIZE))
		return K_MMIO_LAPIC;
	if (in(gpa, NR_IOAPIC_BASE, NR_IOAPIC_SIZE))
		return K_MMIO_IOAPIC;
	if (in(gpa, NR_DISK_BASE, 0x1000))
		return K_MMIO_DISK;
	return K_MMIO_OTHER;
}

static enum exit_kind kind(const struct nvmm_vcpu_exit *exit)
{
	switch (exit->reason) {
	case NVMM_VCPU_EXIT_IO:
		return kind_io(exit->u.io.port);
	case NVMM_VCPU_EXIT_MEMORY:
		return kind_mem(exit->u.mem.gpa);
	case NVMM_VCPU_EXIT_RDMSR:
		return K_RDMSR;
	case NVMM_VCPU_EXIT_WRMSR:
		return exit->u.wrmsr.msr == MSR_TSC_DEADLINE ?
		       K_WRMSR_DEADLINE : K_WRMSR_OTHER;
	case NVMM_VCPU_EXIT_INT_READY:
		return K_INT_READY;
	case NVMM_VCPU_EXIT_NMI_READY:
		return K_NMI_READY;
	case NVMM_VCPU_EXIT_HALTED:
		return K_HALTED;
	case NVMM_VCPU_EXIT_NONE:
	case NVMM_VCPU_EXIT_STOPPED:
		return K_STOPPED;
	default:
		return K_OTHER;
	}
}

void nr_exits_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &start);
}

void nr_exits_count(const struct nvmm_vcpu_exit *exit)
{
	atomic_fetch_add_explicit(&counts[kind(exit)], 1,
				  memory_order_relaxed);
}

void nr_exits_report(void)
{
	struct timespec now;
	unsigned long total = 0, n;
	double s;
	int k;

	clock_gettime(CLOCK_MONOTONIC, &now);
	s = (double)(now.tv_sec - start.tv_sec) +
	    (double)(now.tv_nsec - start.tv_nsec) / 1e9;
	if (s <= 0)
		s = 1e-9;
	for (k = 0; k < K_MAX; k++)
		total += atomic_load(&counts[k]);
	fprintf(stderr, "nvmm-run: %lu exits to the VMM in %.2f s "
		"(%.0f/s)\n", total, s, (double)total / s);
	for (k = 0; k < K_MAX; k++) {
		n = atomic_load(&counts[k]);
		if (n)
			fprintf(stderr, "nvmm-run:   %-24s %9lu %9.0f/s\n",
				kind_name[k], n, (double)n / s);
	}
}
