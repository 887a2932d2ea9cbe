/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The demo guest: a tiny 64-bit kernel for nvmm-run. VCPU 0 prints a
 * banner, what CPUID says about the CPU and the hypervisor, the VCPUs that
 * came up, a computation with a known answer, and "demo guest done", then
 * writes 0 (or 1 if the answer was wrong) to the debug-exit port. The other
 * VCPUs check in and halt. With "wait" on the command line, VCPU 0 first
 * reads a line from the serial port.
 */
#include <stdbool.h>

#include "io.h"

#define DEBUG_EXIT	0x501
#define MAX_CPUS	64
#define SIEVE_N		100000
#define PRIMES_N	9592		/* primes below 100000 */
#define PRIMES_SUM	454396537ULL	/* and their sum */

void kmain(uint64_t id, uint64_t ncpus, const char *cmdline, uint64_t top);
extern char _start[];

static volatile unsigned int aps_up;
static volatile uint8_t apic_id[MAX_CPUS];
static uint8_t composite[SIEVE_N];

static void ap_main(uint64_t id)
{
	uint32_t r[4];

	cpuid(1, r);
	apic_id[id] = (uint8_t)(r[1] >> 24);
	__atomic_fetch_add(&aps_up, 1, __ATOMIC_RELEASE);
}

static void show_cpu(void)
{
	uint32_t r[4], brand[12];
	char vendor[13], hv[13];
	const char *b = (const char *)brand;
	unsigned int i;

	cpuid(0, r);
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = '\0';
	kprintf("  CPU vendor      %s (max basic leaf %#x)\n", vendor, r[0]);

	cpuid(0x80000000, r);
	if (r[0] >= 0x80000004) {
		for (i = 0; i < 3; i++)
			cpuid(0x80000002 + i, &brand[i * 4]);
		brand[11] &= 0x00FFFFFF;	/* NUL-ended, whatever it says */
		while (*b == ' ')
			b++;
		kprintf("  CPU model       %s\n", b);
	}

	cpuid(1, r);
	kprintf("  hypervisor bit  %s (CPUID 1 ECX bit 31)\n",
		(r[2] >> 31) ? "set" : "clear");
	cpuid(0x40000000, r);
	memcpy(hv, &r[1], 4);
	memcpy(hv + 4, &r[2], 4);
	memcpy(hv + 8, &r[3], 4);
	hv[12] = '\0';
	for (i = 0; i < 12; i++)
		if (hv[i] < 0x20 || hv[i] > 0x7E)
			hv[i] = '.';
	kprintf("  hypervisor      \"%s\" (CPUID 0x40000000, max leaf %#x)\n",
		hv, r[0]);
}

static void show_vcpus(uint64_t ncpus)
{
	unsigned long spins = 0;
	unsigned int i;

	if (ncpus > MAX_CPUS)
		ncpus = MAX_CPUS;
	while (__atomic_load_n(&aps_up, __ATOMIC_ACQUIRE) < ncpus - 1 &&
	       spins++ < 200000000UL)
		cpu_relax();
	kprintf("  VCPUs           %u of %lu up, APIC IDs:",
		__atomic_load_n(&aps_up, __ATOMIC_ACQUIRE) + 1,
		(unsigned long)ncpus);
	{
		uint32_t r[4];

		cpuid(1, r);
		kprintf(" %u", r[1] >> 24);
	}
	for (i = 1; i < ncpus; i++)
		kprintf(" %u", apic_id[i]);
	kprintf("\n");
}

/* The sieve of Eratosthenes; true when the count and sum are right. */
static bool compute(void)
{
	unsigned long long sum = 0;
	unsigned int i, j, count = 0;

	for (i = 2; i * i < SIEVE_N; i++)
		if (!composite[i])
			for (j = i * i; j < SIEVE_N; j += i)
				composite[j] = 1;
	kprintf("  first primes   ");
	for (i = 2; i < SIEVE_N; i++) {
		if (composite[i])
			continue;
		if (count < 15)
			kprintf(" %u", i);
		count++;
		sum += i;
	}
	kprintf("\n  primes < %u  %u, sum %llu: %s\n", SIEVE_N, count, sum,
		count == PRIMES_N && sum == PRIMES_SUM ? "correct" : "WRONG");
	return count == PRIMES_N && sum == PRIMES_SUM;
}

static bool has_word(const char *s, const char *w)
{
	size_t n = strlen(w);

	while (*s) {
		while (*s == ' ')
			s++;
		if (memcmp(s, w, n) == 0 && (s[n] == ' ' || s[n] == '\0'))
			return true;
		while (*s && *s != ' ')
			s++;
	}
	return false;
}

static void read_line(void)
{
	char line[80];
	size_t n = 0;
	int c;

	kprintf("  waiting for a line on the serial port...\n");
	while ((c = uart_getc()) != '\n' && c != '\r')
		if (n < sizeof(line) - 1)
			line[n++] = (char)c;
	line[n] = '\0';
	kprintf("  serial input    \"%s\"\n", line);
}

void kmain(uint64_t id, uint64_t ncpus, const char *cmdline, uint64_t top)
{
	bool ok;

	if (id != 0) {
		ap_main(id);
		return;
	}
	uart_init();
	kprintf("\nnvmm demo guest: a 64-bit kernel on a 16550 at 0x3F8\n");
	kprintf("  entered at      %p in long mode, stack at %p\n",
		(void *)_start, __builtin_frame_address(0));
	kprintf("  free RAM below  %#lx\n", (unsigned long)top);
	kprintf("  command line    \"%s\"\n", cmdline);
	show_cpu();
	show_vcpus(ncpus);
	ok = compute();
	if (has_word(cmdline, "wait"))
		read_line();
	kprintf("demo guest done\n");
	outb(DEBUG_EXIT, ok ? 0 : 1);
}
