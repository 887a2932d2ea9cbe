/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lapic.c: a local APIC (xAPIC register page) as the SDM vol. 3 ch. 11
 * describes it, one per VCPU. A model with no threads and no clock of its
 * own: the VMM passes the time in nanoseconds, delivers what
 * nr_lapic_pending() returns, and routes the IPIs it reports.
 */
#ifndef NR_LAPIC_H
#define NR_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define NR_LAPIC_BASE		0xFEE00000ULL
#define NR_LAPIC_SIZE		0x1000
#define NR_LAPIC_TIMER_HZ	1000000000ULL	/* the timer's clock, /1 */

/* Register offsets in the 4 KiB page. */
#define NR_LAPIC_ID		0x020
#define NR_LAPIC_VERSION	0x030
#define NR_LAPIC_TPR		0x080
#define NR_LAPIC_APR		0x090
#define NR_LAPIC_PPR		0x0A0
#define NR_LAPIC_EOI		0x0B0
#define NR_LAPIC_LDR		0x0D0
#define NR_LAPIC_DFR		0x0E0
#define NR_LAPIC_SVR		0x0F0
#define NR_LAPIC_ISR		0x100	/* 8 registers, 0x10 apart */
#define NR_LAPIC_TMR		0x180
#define NR_LAPIC_IRR		0x200
#define NR_LAPIC_ESR		0x280
#define NR_LAPIC_ICR_LO		0x300
#define NR_LAPIC_ICR_HI		0x310
#define NR_LAPIC_LVT_TIMER	0x320
#define NR_LAPIC_LVT_THERMAL	0x330
#define NR_LAPIC_LVT_PERF	0x340
#define NR_LAPIC_LVT_LINT0	0x350
#define NR_LAPIC_LVT_LINT1	0x360
#define NR_LAPIC_LVT_ERROR	0x370
#define NR_LAPIC_TIMER_INIT	0x380
#define NR_LAPIC_TIMER_CUR	0x390
#define NR_LAPIC_TIMER_DIV	0x3E0

#define NR_LAPIC_LVT_MASKED	0x10000U
#define NR_LAPIC_SVR_ENABLE	0x100U
#define NR_LAPIC_ESR_ILLEGAL_VECTOR_RX	0x40U
#define NR_LAPIC_ESR_ILLEGAL_VECTOR_TX	0x20U
#define NR_LAPIC_ESR_ILLEGAL_REG	0x80U

#define NR_LAPIC_NLVT		6	/* timer .. error, 0x320 .. 0x370 */

/* An interprocessor interrupt the VMM is to route (not to this APIC). */
struct nr_lapic_ipi {
	uint32_t icr_lo;	/* vector, delivery mode, shorthand... */
	uint8_t dest;		/* destination field (ICR bits 63:56) */
};

struct nr_lapic {
	uint32_t id;			/* APIC ID, bits 31:24 */
	uint32_t tpr, ldr, dfr, svr, esr, esr_pending;
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[NR_LAPIC_NLVT];
	uint32_t isr[8], tmr[8], irr[8];
	uint32_t timer_init, timer_div;
	uint64_t timer_start;		/* ns, when the count was loaded */
	bool timer_armed;		/* one-shot: until it fires */
	uint64_t deadline;		/* ns; TSC-deadline mode, 0 = off */
	bool ipi_pending;		/* ipi holds one for the VMM */
	struct nr_lapic_ipi ipi;
};

/* The state after RESET (or INIT): software-disabled, every LVT masked. */
void nr_lapic_reset(struct nr_lapic *a, uint8_t apic_id);

/* A 32-bit access at off (aligned to 16; others read 0, ignore writes). */
uint32_t nr_lapic_read(struct nr_lapic *a, uint32_t off, uint64_t now);
void nr_lapic_write(struct nr_lapic *a, uint32_t off, uint32_t val,
		    uint64_t now);

/* An interrupt for this APIC (edge, or level with TMR set). */
void nr_lapic_raise(struct nr_lapic *a, uint8_t vector, bool level);

/*
 * The vector to deliver now (IRR above the processor priority), or -1.
 * nr_lapic_accept() is the CPU taking it: IRR to ISR.
 */
int nr_lapic_pending(const struct nr_lapic *a);
void nr_lapic_accept(struct nr_lapic *a, uint8_t vector);

/* TSC-deadline mode: arm (ns, 0 disarms) as a WRMSR IA32_TSC_DEADLINE. */
void nr_lapic_set_deadline(struct nr_lapic *a, uint64_t when);

/*
 * The timer at time now: raises its vector if it expired (reloading a
 * periodic count), and returns when it next expires (0: not armed).
 */
uint64_t nr_lapic_timer(struct nr_lapic *a, uint64_t now);

#endif /* NR_LAPIC_H */
