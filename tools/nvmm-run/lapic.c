/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A local APIC in xAPIC mode (Intel SDM vol. 3A, chapter 11), as a model:
 * registers, priorities (TPR, PPR, ISR, IRR), EOI, the error register, the
 * LVTs, the ICR, and the timer in one-shot, periodic and TSC-deadline
 * modes. What a hostile guest writes is masked to the bits the SDM
 * defines; a vector below 16 is refused as the hardware refuses it (ESR).
 * Like KVM's, a software-disabled APIC takes no fixed interrupt.
 *
 * No clock and no threads: every call gets the time (ns), the VMM asks
 * nr_lapic_timer() when the timer expires next, delivers
 * nr_lapic_pending() with nvmm_vcpu_inject(), and routes IPIs for other
 * APICs from a->ipi.
 */
#include <string.h>

#include "lapic.h"

#define VERSION		0x00050014U	/* 6 LVTs, integrated APIC */
#define TIMER_MODE(lvt)	(((lvt) >> 17) & 3)
#define MODE_ONESHOT	0
#define MODE_PERIODIC	1
#define MODE_DEADLINE	2
#define ICR_SEND_MASK	0x000CCFFFU	/* what the guest can write */
#define DM_FIXED	0

/* Writable bits of each LVT (delivery status and remote IRR excluded). */
static const uint32_t lvt_mask[NR_LAPIC_NLVT] = {
	0x000700FF,	/* timer: vector, mask, mode */
	0x000107FF,	/* thermal: vector, delivery mode, mask */
	0x000107FF,	/* performance counters */
	0x0001A7FF,	/* LINT0: + polarity, trigger */
	0x0001A7FF,	/* LINT1 */
	0x000100FF,	/* error: vector, mask */
};

static int highest(const uint32_t bits[8])
{
	int i;

	for (i = 7; i >= 0; i--)
		if (bits[i])
			return 32 * i + 31 - __builtin_clz(bits[i]);
	return -1;
}

static void set_bit(uint32_t bits[8], unsigned int v, bool on)
{
	if (on)
		bits[v / 32] |= 1U << (v % 32);
	else
		bits[v / 32] &= ~(1U << (v % 32));
}

static uint32_t ppr(const struct nr_lapic *a)
{
	int isrv = highest(a->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xF0;

	return (a->tpr & 0xF0) >= isr_class ? a->tpr & 0xFF : isr_class;
}

static bool sw_enabled(const struct nr_lapic *a)
{
	return a->svr & NR_LAPIC_SVR_ENABLE;
}

static uint64_t divide_by(const struct nr_lapic *a)
{
	unsigned int v = ((a->timer_div & 8) >> 1) | (a->timer_div & 3);

	return v == 7 ? 1 : 2ULL << v;
}

/* The timer's period in ns (its count times the divided clock). */
static uint64_t period(const struct nr_lapic *a)
{
	return (uint64_t)a->timer_init * divide_by(a) *
	       (1000000000ULL / NR_LAPIC_TIMER_HZ);
}

void nr_lapic_reset(struct nr_lapic *a, uint8_t apic_id)
{
	unsigned int i;

	memset(a, 0, sizeof(*a));
	a->id = (uint32_t)apic_id << 24;
	a->dfr = 0xFFFFFFFF;
	a->svr = 0xFF;
	for (i = 0; i < NR_LAPIC_NLVT; i++)
		a->lvt[i] = NR_LAPIC_LVT_MASKED;
}

void nr_lapic_raise(struct nr_lapic *a, uint8_t vector, bool level)
{
	if (vector < 16) {
		a->esr_pending |= NR_LAPIC_ESR_ILLEGAL_VECTOR_RX;
		return;
	}
	if (!sw_enabled(a))
		return;
	set_bit(a->irr, vector, true);
	set_bit(a->tmr, vector, level);
}

int nr_lapic_pending(const struct nr_lapic *a)
{
	int v = highest(a->irr);

	if (v < 0 || !sw_enabled(a) ||
	    ((uint32_t)v & 0xF0) <= (ppr(a) & 0xF0))
		return -1;
	return v;
}

void nr_lapic_accept(struct nr_lapic *a, uint8_t vector)
{
	set_bit(a->irr, vector, false);
	set_bit(a->isr, vector, true);
}

static uint32_t timer_current(const struct nr_lapic *a, uint64_t now)
{
	uint64_t ticks;

	if (a->timer_init == 0 || !a->timer_armed ||
	    TIMER_MODE(a->lvt[0]) == MODE_DEADLINE)
		return 0;
	ticks = (now - a->timer_start) * NR_LAPIC_TIMER_HZ / 1000000000ULL /
		divide_by(a);
	if (TIMER_MODE(a->lvt[0]) == MODE_PERIODIC)
		return a->timer_init - (uint32_t)(ticks % a->timer_init);
	return ticks >= a->timer_init ? 0 : a->timer_init - (uint32_t)ticks;
}

uint32_t nr_lapic_read(struct nr_lapic *a, uint32_t off, uint64_t now)
{
	if (off & 0xF)
		return 0;
	switch (off) {
	case NR_LAPIC_ID: return a->id;
	case NR_LAPIC_VERSION: return VERSION;
	case NR_LAPIC_TPR: return a->tpr;
	case NR_LAPIC_APR: return 0;
	case NR_LAPIC_PPR: return ppr(a);
	case NR_LAPIC_EOI: return 0;
	case NR_LAPIC_LDR: return a->ldr;
	case NR_LAPIC_DFR: return a->dfr;
	case NR_LAPIC_SVR: return a->svr;
	case NR_LAPIC_ESR: return a->esr;
	case NR_LAPIC_ICR_LO: return a->icr_lo;	/* delivery: idle */
	case NR_LAPIC_ICR_HI: return a->icr_hi;
	case NR_LAPIC_TIMER_INIT: return a->timer_init;
	case NR_LAPIC_TIMER_CUR: return timer_current(a, now);
	case NR_LAPIC_TIMER_DIV: return a->timer_div;
	}
	if (off >= NR_LAPIC_ISR && off < NR_LAPIC_ISR + 0x80)
		return a->isr[(off - NR_LAPIC_ISR) / 16];
	if (off >= NR_LAPIC_TMR && off < NR_LAPIC_TMR + 0x80)
		return a->tmr[(off - NR_LAPIC_TMR) / 16];
	if (off >= NR_LAPIC_IRR && off < NR_LAPIC_IRR + 0x80)
		return a->irr[(off - NR_LAPIC_IRR) / 16];
	if (off >= NR_LAPIC_LVT_TIMER && off <= NR_LAPIC_LVT_ERROR)
		return a->lvt[(off - NR_LAPIC_LVT_TIMER) / 16];
	a->esr_pending |= NR_LAPIC_ESR_ILLEGAL_REG;
	return 0;
}

static void eoi(struct nr_lapic *a)
{
	int v = highest(a->isr);

	if (v < 0)
		return;
	set_bit(a->isr, (unsigned int)v, false);
	set_bit(a->tmr, (unsigned int)v, false);
}

static void send_ipi(struct nr_lapic *a)
{
	unsigned int vector = a->icr_lo & 0xFF;
	unsigned int mode = (a->icr_lo >> 8) & 7;
	unsigned int shorthand = (a->icr_lo >> 18) & 3;
	uint8_t dest = (uint8_t)(a->icr_hi >> 24);
	bool physical = !(a->icr_lo & 0x800);
	bool self = shorthand == 1 || shorthand == 2 ||
		    (shorthand == 0 && physical && dest == a->id >> 24);

	if (mode == DM_FIXED && vector < 16) {
		a->esr_pending |= NR_LAPIC_ESR_ILLEGAL_VECTOR_TX;
		return;
	}
	if (self && mode == DM_FIXED)
		nr_lapic_raise(a, (uint8_t)vector, false);
	/* Others' part, even of a fixed self IPI sent to all: the VMM's. */
	if (shorthand == 2 || shorthand == 3 ||
	    (shorthand == 0 && !(physical && dest == a->id >> 24))) {
		a->ipi.icr_lo = a->icr_lo;
		a->ipi.dest = dest;
		a->ipi_pending = true;
	}
}

void nr_lapic_write(struct nr_lapic *a, uint32_t off, uint32_t val,
		    uint64_t now)
{
	unsigned int i;

	if (off & 0xF)
		return;
	switch (off) {
	case NR_LAPIC_TPR:
		a->tpr = val & 0xFF;
		return;
	case NR_LAPIC_EOI:
		eoi(a);
		return;
	case NR_LAPIC_LDR:
		a->ldr = val & 0xFF000000U;
		return;
	case NR_LAPIC_DFR:
		a->dfr = val | 0x0FFFFFFFU;
		return;
	case NR_LAPIC_SVR:
		a->svr = val & 0x3FF;
		if (!sw_enabled(a))
			for (i = 0; i < NR_LAPIC_NLVT; i++)
				a->lvt[i] |= NR_LAPIC_LVT_MASKED;
		return;
	case NR_LAPIC_ESR:
		a->esr = a->esr_pending;
		a->esr_pending = 0;
		return;
	case NR_LAPIC_ICR_HI:
		a->icr_hi = val & 0xFF000000U;
		return;
	case NR_LAPIC_ICR_LO:
		a->icr_lo = val & ICR_SEND_MASK;
		send_ipi(a);
		return;
	case NR_LAPIC_TIMER_INIT:
		if (TIMER_MODE(a->lvt[0]) == MODE_DEADLINE)
			return;
		a->timer_init = val;
		a->timer_start = now;
		a->timer_armed = val != 0;
		return;
	case NR_LAPIC_TIMER_DIV:
		a->timer_div = val & 0xB;
		return;
	case NR_LAPIC_ID:
	case NR_LAPIC_VERSION:
	case NR_LAPIC_APR:
	case NR_LAPIC_PPR:
	case NR_LAPIC_TIMER_CUR:
		return;		/* read-only */
	}
	if (off >= NR_LAPIC_LVT_TIMER && off <= NR_LAPIC_LVT_ERROR) {
		uint32_t old, *lvt;

		i = (off - NR_LAPIC_LVT_TIMER) / 16;
		lvt = &a->lvt[i];
		old = *lvt;
		*lvt = val & lvt_mask[i];
		if (!sw_enabled(a))
			*lvt |= NR_LAPIC_LVT_MASKED;
		/* A new timer mode starts from a stopped timer. */
		if (i == 0 && TIMER_MODE(old) != TIMER_MODE(*lvt)) {
			a->timer_init = 0;
			a->timer_armed = false;
			a->deadline = 0;
		}
		return;
	}
	if (off >= NR_LAPIC_ISR && off < NR_LAPIC_IRR + 0x80)
		return;		/* ISR, TMR, IRR: read-only */
	a->esr_pending |= NR_LAPIC_ESR_ILLEGAL_REG;
}

void nr_lapic_set_deadline(struct nr_lapic *a, uint64_t when)
{
	if (TIMER_MODE(a->lvt[0]) == MODE_DEADLINE)
		a->deadline = when;
}

static void timer_fire(struct nr_lapic *a)
{
	if (!(a->lvt[0] & NR_LAPIC_LVT_MASKED))
		nr_lapic_raise(a, (uint8_t)(a->lvt[0] & 0xFF), false);
}

uint64_t nr_lapic_timer(struct nr_lapic *a, uint64_t now)
{
	uint64_t p, due;

	if (TIMER_MODE(a->lvt[0]) == MODE_DEADLINE) {
		if (a->deadline && now >= a->deadline) {
			a->deadline = 0;
			timer_fire(a);
		}
		return a->deadline;
	}
	if (!a->timer_armed)
		return 0;
	p = period(a);
	due = a->timer_start + p;
	if (now < due)
		return due;
	timer_fire(a);
	if (TIMER_MODE(a->lvt[0]) != MODE_PERIODIC) {
		a->timer_armed = false;
		return 0;
	}
	/* Periods missed while nobody looked fire once, as on a busy CPU. */
	a->timer_start += p * ((now - a->timer_start) / p);
	return a->timer_start + p;
}
