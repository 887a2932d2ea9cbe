/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Interrupts for Linux guests (--kernel): each VCPU's local APIC
 * (lapic.c) and the I/O APIC (ioapic.c) behind the MMIO assist, the
 * local APIC's timer, delivery with nvmm_vcpu_inject() or, when the
 * guest cannot take one yet, the interrupt-window exit, and HLT as sleep
 * until the next interrupt.
 *
 * Each VCPU thread runs its APIC, under a lock, as a device's thread may
 * raise an interrupt in it and kick the VCPU; its timer wakes it with
 * SIG_KICK (a POSIX timer aimed at the thread), which ends a running
 * nvmm_vcpu_run() or the sleep of a halted VCPU. An IPI a VCPU sends
 * (its APIC reports it after the ICR write) is routed here to the APICs
 * its destination names: fixed and lowest-priority vectors are raised
 * there, NMIs are injected ahead of any vector, INIT and start-up IPIs go
 * to smp.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "ioapic.h"
#include "lapic.h"
#include "nvmm-run.h"

#define RFLAGS_IF	0x200ULL

static struct nr_lapic lapic[NR_MAX_VCPUS];
/* The VCPU's thread, and devices' threads raising interrupts (the UART). */
static pthread_mutex_t lapic_lock[NR_MAX_VCPUS];
static timer_t kick[NR_MAX_VCPUS];
static int kick_sig;
static unsigned int nvcpus;
static bool nmi_pending[NR_MAX_VCPUS];	/* under lapic_lock[] */
static struct nr_ioapic ioapic;		/* one, shared by the VCPUs */
static pthread_mutex_t ioapic_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct timespec ts_of(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ULL),
		.tv_nsec = (long)(ns % 1000000000ULL),
	};

	return ts;
}

/*
 * Whether APIC cpu is in destination dest (SDM vol. 3A, 11.6.2): its ID,
 * or 0xFF for all, in physical mode; in logical mode a bit of its LDR, in
 * the flat model, or its cluster and a bit, in the cluster model. Under
 * lapic_lock[cpu].
 */
static bool is_dest(unsigned int cpu, uint8_t dest, bool logical)
{
	const struct nr_lapic *a = &lapic[cpu];
	uint8_t ldr = (uint8_t)(a->ldr >> 24);

	if (dest == 0xFF)
		return true;
	if (!logical)
		return dest == (uint8_t)(a->id >> 24);
	if ((a->dfr >> 28) == 0xF)
		return (ldr & dest) != 0;
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xF) != 0;
}

/* A vector into cpu's APIC (or an NMI), and the VCPU kicked to take it. */
static void raise_on(unsigned int cpu, uint8_t vector, bool nmi)
{
	pthread_mutex_lock(&lapic_lock[cpu]);
	if (nmi)
		nmi_pending[cpu] = true;
	else
		nr_lapic_raise(&lapic[cpu], vector, false);
	pthread_mutex_unlock(&lapic_lock[cpu]);
	if (nmi)
		nr_smp_send_nmi(cpu);
	nr_vcpu_kick(cpu);
}

/*
 * An edge on an I/O APIC input: to its destination's local APIC, whose
 * VCPU is kicked to take it. From any thread.
 */
void nr_intr_edge(unsigned int gsi)
{
	uint8_t vector, dest;
	bool on, logical, match;
	unsigned int i;

	pthread_mutex_lock(&ioapic_lock);
	on = nr_ioapic_route(&ioapic, gsi, &vector, &dest, &logical);
	pthread_mutex_unlock(&ioapic_lock);
	if (!on)
		return;
	for (i = 0; i < nvcpus; i++) {
		pthread_mutex_lock(&lapic_lock[i]);
		match = is_dest(i, dest, logical);
		pthread_mutex_unlock(&lapic_lock[i]);
		if (match) {
			raise_on(i, vector, false);
			break;	/* lowest priority: the first */
		}
	}
}

/* ICR delivery modes (bits 10:8). */
#define DM_FIXED	0
#define DM_LOWEST	1
#define DM_NMI		4
#define DM_INIT		5
#define DM_STARTUP	6

/* An INIT: the APIC back to its reset state, then the VCPU waits. */
static void init_cpu(unsigned int cpu)
{
	if (cpu == 0)
		return;		/* smp.c does not reset the bootstrap VCPU */
	pthread_mutex_lock(&lapic_lock[cpu]);
	nr_lapic_reset(&lapic[cpu], (uint8_t)(lapic[cpu].id >> 24));
	nmi_pending[cpu] = false;
	pthread_mutex_unlock(&lapic_lock[cpu]);
	nr_smp_send_init(cpu);
}

/*
 * The IPI VCPU from sent, to the others it names: the sender's own part
 * of a fixed IPI its APIC has taken already (lapic.c).
 */
static void route_ipi(unsigned int from, const struct nr_lapic_ipi *ipi)
{
	unsigned int vector = ipi->icr_lo & 0xFF;
	unsigned int mode = (ipi->icr_lo >> 8) & 7;
	unsigned int shorthand = (ipi->icr_lo >> 18) & 3;
	bool logical = ipi->icr_lo & 0x800, level = ipi->icr_lo & 0x4000;
	bool trigger_level = ipi->icr_lo & 0x8000, match;
	unsigned int i;

	/* An INIT level de-assert (INIT, level-triggered, level 0): none. */
	if (mode == DM_INIT && trigger_level && !level)
		return;
	for (i = 0; i < nvcpus; i++) {
		/*
		 * Self: not in "all but self", nor in "all" for a fixed
		 * vector, which lapic.c has raised already.
		 */
		if (i == from && (shorthand == 3 ||
				  (shorthand == 2 && mode == DM_FIXED)))
			continue;
		if (shorthand == 0) {
			pthread_mutex_lock(&lapic_lock[i]);
			match = is_dest(i, ipi->dest, logical);
			pthread_mutex_unlock(&lapic_lock[i]);
			if (!match)
				continue;
		}
		switch (mode) {
		case DM_FIXED:
		case DM_LOWEST:
			raise_on(i, (uint8_t)vector, false);
			break;
		case DM_NMI:
			raise_on(i, 2, true);
			break;
		case DM_INIT:
			if (i != from)
				init_cpu(i);
			break;
		case DM_STARTUP:
			nr_smp_send_sipi(i, (uint8_t)vector);
			break;
		default:
			break;	/* SMI and the reserved modes: nothing */
		}
		if (mode == DM_LOWEST)
			break;	/* lowest priority: the first */
	}
}

/* ISA IRQ 4, on input 4 as the MP table and the DSDT say. */
static void com1_irq(void)
{
	nr_intr_edge(4);
}

/*
 * CPUID for Linux: the local APIC timer's TSC-deadline mode (leaf 1 ECX
 * bit 24) and an always-running APIC timer (leaf 6 EAX bit 2, ARAT).
 * With those, and the TSC's frequency (tsc_early_khz, linux.c), Linux
 * needs no PIT: it neither calibrates nor checks its timers against one.
 */
static int cpuid_timers(struct nr_vm *vm, struct nvmm_vcpu *vcpu)
{
	struct nvmm_vcpu_conf_cpuid c;

	memset(&c, 0, sizeof(c));
	c.mask = 1;
	c.leaf = 0x00000001;
	c.u.mask.set.ecx = 1U << 24;
	if (nvmm_vcpu_configure(&vm->mach, vcpu, NVMM_VCPU_CONF_CPUID,
				&c) == -1)
		return -1;
	memset(&c, 0, sizeof(c));
	c.mask = 1;
	c.leaf = 0x00000006;
	c.u.mask.set.eax = 1U << 2;
	return nvmm_vcpu_configure(&vm->mach, vcpu, NVMM_VCPU_CONF_CPUID, &c);
}

int nr_intr_init(struct nr_vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nvcpus; i++) {
		if (cpuid_timers(vm, &vm->vcpu[i]) == -1) {
			nr_errno("VCPU %u: CPUID configuration", i);
			return -1;
		}
	}
	nvcpus = vm->nvcpus;
	for (i = 0; i < vm->nvcpus; i++) {
		pthread_mutex_init(&lapic_lock[i], NULL);
		nr_lapic_reset(&lapic[i], (uint8_t)i);
	}
	nr_smp_init(vm);
	/* Its ID follows the CPUs', as the MP table says (mptable.c). */
	nr_ioapic_reset(&ioapic, (uint8_t)vm->nvcpus);
	return nr_serial_set_irq(com1_irq);
}

int nr_intr_tsc_deadline(struct nr_vm *vm, struct nvmm_vcpu *vcpu,
			 uint64_t deadline)
{
	struct nvmm_x64_state *st = vcpu->state;
	uint64_t now = now_ns(), tsc, when = 0;

	if (deadline != 0) {
		if (nvmm_vcpu_getstate(&vm->mach, vcpu,
				       NVMM_X64_STATE_MSRS) == -1)
			return -1;
		tsc = st->msrs[NVMM_X64_MSR_TSC];
		/* The guest's TSC now, and the time to its deadline. */
		when = now + (deadline <= tsc ? 0 :
			      (uint64_t)((deadline - tsc) * 1000000.0 /
					 vm->tsc_khz));
		if (when == 0)
			when = 1;
	}
	pthread_mutex_lock(&lapic_lock[vcpu->cpuid]);
	nr_lapic_set_deadline(&lapic[vcpu->cpuid], when);
	pthread_mutex_unlock(&lapic_lock[vcpu->cpuid]);
	return 0;
}

/* The I/O APIC's page: 32-bit accesses at IOREGSEL and IOWIN. */
static bool ioapic_mmio(struct nvmm_mem *mem)
{
	uint64_t off = mem->gpa - NR_IOAPIC_BASE;
	uint32_t v = 0;

	if (mem->gpa < NR_IOAPIC_BASE || off >= NR_IOAPIC_SIZE)
		return false;
	pthread_mutex_lock(&ioapic_lock);
	if (mem->write && mem->size == 4) {
		memcpy(&v, mem->data, 4);
		nr_ioapic_write(&ioapic, (uint32_t)off, v);
	} else if (!mem->write) {
		v = mem->size == 4 ? nr_ioapic_read(&ioapic, (uint32_t)off) :
			0;
		memset(mem->data, 0, mem->size);
		memcpy(mem->data, &v, mem->size < 4 ? mem->size : 4);
	}
	pthread_mutex_unlock(&ioapic_lock);
	return true;
}

int nr_intr_vcpu_start(struct nr_vm *vm, struct nvmm_vcpu *vcpu, int sig)
{
	struct sigevent sev;

	(void)vm;
	kick_sig = sig;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = sig;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &kick[vcpu->cpuid]) == -1) {
		nr_errno("VCPU %u: timer_create", vcpu->cpuid);
		return -1;
	}
	return 0;
}

void nr_intr_vcpu_end(struct nvmm_vcpu *vcpu)
{
	timer_delete(kick[vcpu->cpuid]);
}

bool nr_intr_mmio(struct nvmm_mem *mem)
{
	unsigned int cpu = mem->vcpu->cpuid;
	struct nr_lapic *a = &lapic[cpu];
	uint64_t off = mem->gpa - NR_LAPIC_BASE;
	struct nr_lapic_ipi ipi;
	bool send = false;
	uint32_t v;

	if (mem->gpa < NR_LAPIC_BASE || off >= NR_LAPIC_SIZE)
		return ioapic_mmio(mem);
	/* 32-bit registers: other sizes read part of one, write nothing. */
	if (mem->write) {
		if (mem->size == 4 && !(off & 3)) {
			memcpy(&v, mem->data, 4);
			pthread_mutex_lock(&lapic_lock[cpu]);
			nr_lapic_write(a, (uint32_t)off, v, now_ns());
			if (a->ipi_pending) {
				ipi = a->ipi;
				a->ipi_pending = false;
				send = true;
			}
			pthread_mutex_unlock(&lapic_lock[cpu]);
			if (send)
				route_ipi(cpu, &ipi);
		}
		return true;
	}
	pthread_mutex_lock(&lapic_lock[mem->vcpu->cpuid]);
	v = nr_lapic_read(a, (uint32_t)(off & ~3ULL), now_ns());
	pthread_mutex_unlock(&lapic_lock[mem->vcpu->cpuid]);
	memset(mem->data, 0, mem->size);
	memcpy(mem->data, (uint8_t *)&v + (off & 3),
	       mem->size < 4 - (off & 3) ? mem->size : 4 - (off & 3));
	return true;
}

/*
 * The kick timer at the APIC timer's next expiry (0: disarmed); a system
 * call only when that changed, as this runs before every entry, and not
 * to disarm a timer that went off already (one-shot: it is off).
 */
static void arm(unsigned int cpu, uint64_t when, uint64_t now)
{
	static uint64_t armed[NR_MAX_VCPUS];
	struct itimerspec its;

	if (armed[cpu] == when)
		return;
	if (when == 0 && armed[cpu] <= now) {
		armed[cpu] = 0;
		return;
	}
	armed[cpu] = when;
	memset(&its, 0, sizeof(its));
	if (when)
		its.it_value = ts_of(when);
	timer_settime(kick[cpu], TIMER_ABSTIME, &its, NULL);
}

/* Not now: exit when the guest can take an interrupt (INT_READY). */
static int want_window(struct nr_vm *vm, struct nvmm_vcpu *vcpu)
{
	struct nvmm_x64_state *st = vcpu->state;

	if (vcpu->exit->exitstate.int_window_exiting)
		return 0;
	if (nvmm_vcpu_getstate(&vm->mach, vcpu, NVMM_X64_STATE_INTR) == -1)
		return -1;
	st->intr.int_window_exiting = 1;
	return nvmm_vcpu_setstate(&vm->mach, vcpu, NVMM_X64_STATE_INTR);
}

int nr_intr_before_run(struct nr_vm *vm, struct nvmm_vcpu *vcpu)
{
	const struct nvmm_vcpu_exit *x = vcpu->exit;
	struct nr_lapic *a = &lapic[vcpu->cpuid];
	uint64_t next, now = now_ns();
	bool nmi;
	int v;

	pthread_mutex_lock(&lapic_lock[vcpu->cpuid]);
	next = nr_lapic_timer(a, now);
	v = nr_lapic_pending(a);
	nmi = nmi_pending[vcpu->cpuid];
	pthread_mutex_unlock(&lapic_lock[vcpu->cpuid]);
	arm(vcpu->cpuid, next, now);
	/* An NMI first, once the last one's handler is done (NMI_READY). */
	if (nmi && !x->exitstate.nmi_window_exiting &&
	    !x->exitstate.evt_pending) {
		vcpu->event->type = NVMM_VCPU_EVENT_INTR;
		vcpu->event->vector = 2;
		if (nvmm_vcpu_inject(&vm->mach, vcpu) == 0) {
			pthread_mutex_lock(&lapic_lock[vcpu->cpuid]);
			nmi_pending[vcpu->cpuid] = false;
			pthread_mutex_unlock(&lapic_lock[vcpu->cpuid]);
			return v < 0 ? 0 : want_window(vm, vcpu);
		}
		if (errno != EAGAIN && errno != EBUSY) {
			nr_errno("VCPU %u: nvmm_vcpu_inject(NMI)",
				 vcpu->cpuid);
			return -1;
		}
	}
	if (v < 0)
		return 0;
	if ((x->exitstate.rflags & RFLAGS_IF) && !x->exitstate.int_shadow &&
	    !x->exitstate.evt_pending) {
		vcpu->event->type = NVMM_VCPU_EVENT_INTR;
		vcpu->event->vector = (uint8_t)v;
		if (nvmm_vcpu_inject(&vm->mach, vcpu) == 0) {
			pthread_mutex_lock(&lapic_lock[vcpu->cpuid]);
			nr_lapic_accept(a, (uint8_t)v);
			pthread_mutex_unlock(&lapic_lock[vcpu->cpuid]);
			return 0;
		}
		if (errno != EAGAIN && errno != EBUSY) {
			nr_errno("VCPU %u: nvmm_vcpu_inject(%#x)",
				 vcpu->cpuid, v);
			return -1;
		}
	}
	return want_window(vm, vcpu);
}

static bool nmi_waiting(unsigned int cpu)
{
	bool nmi;

	pthread_mutex_lock(&lapic_lock[cpu]);
	nmi = nmi_pending[cpu];
	pthread_mutex_unlock(&lapic_lock[cpu]);
	return nmi;
}

/*
 * A HLT with IF=0: the end on a lone VCPU; with others, the VCPU parks
 * (smp.c) until an INIT or an NMI.
 * A HLT with IF=1: sleep until the APIC has an interrupt to deliver (its
 * timer, an IPI, or a device's thread that raises one and kicks us). The kick is
 * blocked while we look, and ppoll() unblocks it as it starts to wait,
 * so none is lost between the look and the sleep.
 */
bool nr_intr_halt(struct nr_vm *vm, struct nvmm_vcpu *vcpu)
{
	struct nr_lapic *a = &lapic[vcpu->cpuid];
	sigset_t kickset, waitmask;
	bool pending = false;
	struct timespec ts;
	uint64_t next, now;

	if (!(vcpu->exit->exitstate.rflags & RFLAGS_IF)) {
		if (vm->nvcpus == 1)
			return false;	/* halted for good */
		/* Until an INIT or an NMI; the last to park ends it all. */
		if (nmi_waiting(vcpu->cpuid))
			return true;
		if (nr_smp_park(vcpu->cpuid))
			return false;
		if (nmi_waiting(vcpu->cpuid))	/* came as we parked */
			nr_smp_send_nmi(vcpu->cpuid);
		return true;
	}
	/* An idle guest has said all it had to: a prompt without its EOL. */
	nr_serial_flush();
	sigemptyset(&kickset);
	sigaddset(&kickset, kick_sig);
	pthread_sigmask(SIG_BLOCK, &kickset, &waitmask);
	sigdelset(&waitmask, kick_sig);
	while (!nr_vm_ending()) {
		pthread_mutex_lock(&lapic_lock[vcpu->cpuid]);
		now = now_ns();
		next = nr_lapic_timer(a, now);
		pending = nr_lapic_pending(a) >= 0 ||
			  nmi_pending[vcpu->cpuid];
		pthread_mutex_unlock(&lapic_lock[vcpu->cpuid]);
		if (pending)
			break;
		/* Another VCPU may send an IPI: only a lone one can tell. */
		if (next == 0 && vm->nvcpus == 1 &&
		    !nr_serial_may_interrupt()) {
			nr_err("VCPU %u: halted with nothing to wake it",
			       vcpu->cpuid);
			break;
		}
		ts = ts_of(next > now ? next - now : 0);
		ppoll(NULL, 0, next ? &ts : NULL, &waitmask);
	}
	pthread_sigmask(SIG_UNBLOCK, &kickset, NULL);
	return pending || nr_vm_ending();
}

uint64_t nr_intr_apic_base(unsigned int cpu)
{
	return NR_LAPIC_BASE | 0x800 | (cpu == 0 ? 0x100 : 0);
}
