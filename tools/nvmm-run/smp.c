/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Bringing up a Linux guest's other VCPUs, as the MP protocol does on a
 * PC (Intel SDM vol. 3A, 9.4 and 11.6): the bootstrap VCPU (0) runs from
 * the start; every other one waits for an INIT and then a start-up IPI,
 * which starts it in real mode at vector * 4 KiB. An INIT puts a VCPU
 * back in that wait from anything it was doing; a start-up IPI to a VCPU
 * that is not waiting is ignored, as Linux's second one is.
 *
 * A VCPU that halts with interrupts off is parked: only an INIT or an NMI
 * wakes it. When no VCPU runs any more (each parked or waiting) nothing
 * can wake the machine, and it ends with status 0, as a single VCPU's
 * final HLT does.
 *
 * States and their changes are under one lock; a waiting VCPU's thread
 * sleeps on a condition variable that nr_smp_end() also wakes.
 */
#include <pthread.h>
#include <string.h>

#include "nvmm-run.h"

enum vcpu_mode { MODE_RUN, MODE_WAIT_SIPI, MODE_PARKED };

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	enum vcpu_mode mode[NR_MAX_VCPUS];
	bool start[NR_MAX_VCPUS];	/* a SIPI came: enter at sipi[] */
	uint8_t sipi[NR_MAX_VCPUS];
	unsigned int nvcpus, idle;	/* idle: not MODE_RUN */
	bool over;
} smp = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

void nr_smp_init(struct nr_vm *vm)
{
	unsigned int i;

	pthread_mutex_lock(&smp.lock);
	smp.nvcpus = vm->nvcpus;
	smp.idle = vm->nvcpus - 1;
	smp.over = false;
	for (i = 0; i < vm->nvcpus; i++) {
		smp.mode[i] = i == 0 ? MODE_RUN : MODE_WAIT_SIPI;
		smp.start[i] = false;
	}
	pthread_mutex_unlock(&smp.lock);
}

/* Under the lock: a VCPU stops running; the last one ends the machine. */
static void go_idle(unsigned int cpu, enum vcpu_mode mode)
{
	if (smp.mode[cpu] == MODE_RUN && ++smp.idle == smp.nvcpus) {
		smp.over = true;
		pthread_cond_broadcast(&smp.wake);
	}
	smp.mode[cpu] = mode;
}

static void go_run(unsigned int cpu)
{
	if (smp.mode[cpu] != MODE_RUN)
		smp.idle--;
	smp.mode[cpu] = MODE_RUN;
	pthread_cond_broadcast(&smp.wake);
}

void nr_smp_send_init(unsigned int cpu)
{
	if (cpu == 0 || cpu >= smp.nvcpus)
		return;		/* the bootstrap VCPU: not modelled */
	pthread_mutex_lock(&smp.lock);
	go_idle(cpu, MODE_WAIT_SIPI);
	smp.start[cpu] = false;
	pthread_mutex_unlock(&smp.lock);
	nr_vcpu_kick(cpu);
}

void nr_smp_send_sipi(unsigned int cpu, uint8_t vector)
{
	if (cpu >= smp.nvcpus)
		return;
	pthread_mutex_lock(&smp.lock);
	if (smp.mode[cpu] == MODE_WAIT_SIPI) {
		smp.sipi[cpu] = vector;
		smp.start[cpu] = true;
		go_run(cpu);
	}
	pthread_mutex_unlock(&smp.lock);
}

void nr_smp_send_nmi(unsigned int cpu)
{
	if (cpu >= smp.nvcpus)
		return;
	pthread_mutex_lock(&smp.lock);
	if (smp.mode[cpu] == MODE_PARKED)
		go_run(cpu);
	pthread_mutex_unlock(&smp.lock);
}

bool nr_smp_park(unsigned int cpu)
{
	bool over;

	pthread_mutex_lock(&smp.lock);
	go_idle(cpu, MODE_PARKED);
	over = smp.over;
	pthread_mutex_unlock(&smp.lock);
	return over;
}

void nr_smp_end(void)
{
	pthread_mutex_lock(&smp.lock);
	pthread_cond_broadcast(&smp.wake);
	pthread_mutex_unlock(&smp.lock);
}

/* The state INIT leaves, then CS:IP = vector * 256 : 0 (SDM Table 9-1). */
static int sipi_state(struct nr_vm *vm, struct nvmm_vcpu *vcpu,
		      uint8_t vector)
{
	struct nvmm_x64_state *st = vcpu->state;
	struct nvmm_x64_state_seg *s;
	unsigned int i;

	if (nvmm_vcpu_getstate(&vm->mach, vcpu, NVMM_X64_STATE_ALL) == -1)
		return -1;
	for (i = 0; i < NVMM_X64_NSEG; i++) {
		s = &st->segs[i];
		memset(s, 0, sizeof(*s));
		s->limit = 0xFFFF;
		s->attrib.p = 1;
		switch (i) {
		case NVMM_X64_SEG_CS:
			s->selector = (uint16_t)(vector << 8);
			s->base = (uint64_t)vector << 12;
			s->attrib.type = 0xB;	/* code, read, accessed */
			s->attrib.s = 1;
			break;
		case NVMM_X64_SEG_TR:
			s->attrib.type = 0xB;	/* busy TSS */
			break;
		case NVMM_X64_SEG_LDT:
			s->attrib.type = 0x2;
			break;
		case NVMM_X64_SEG_GDT:
		case NVMM_X64_SEG_IDT:
			s->attrib.p = 0;
			break;
		default:
			s->attrib.type = 0x3;	/* data, write, accessed */
			s->attrib.s = 1;
			break;
		}
	}
	memset(st->gprs, 0, sizeof(st->gprs));
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
	memset(st->crs, 0, sizeof(st->crs));
	st->crs[NVMM_X64_CR_CR0] = 0x60000010;	/* CD, NW, ET */
	st->crs[NVMM_X64_CR_XCR0] = 1;		/* x87 */
	st->drs[NVMM_X64_DR_DR6] = 0xFFFF0FF0;
	st->drs[NVMM_X64_DR_DR7] = 0x400;
	st->msrs[NVMM_X64_MSR_EFER] = 0;
	memset(&st->intr, 0, sizeof(st->intr));
	return nvmm_vcpu_setstate(&vm->mach, vcpu, NVMM_X64_STATE_SEGS |
				  NVMM_X64_STATE_GPRS | NVMM_X64_STATE_CRS |
				  NVMM_X64_STATE_DRS | NVMM_X64_STATE_MSRS |
				  NVMM_X64_STATE_INTR);
}

int nr_smp_wait(struct nr_vm *vm, struct nvmm_vcpu *vcpu)
{
	unsigned int cpu = vcpu->cpuid;
	bool start = false, over = false;
	uint8_t vector = 0;

	pthread_mutex_lock(&smp.lock);
	while (smp.mode[cpu] != MODE_RUN && !smp.over && !nr_vm_ending())
		pthread_cond_wait(&smp.wake, &smp.lock);
	if (smp.mode[cpu] == MODE_RUN && smp.start[cpu]) {
		start = true;
		vector = smp.sipi[cpu];
		smp.start[cpu] = false;
	}
	over = smp.over;
	pthread_mutex_unlock(&smp.lock);
	if (over)
		return 1;
	if (start && sipi_state(vm, vcpu, vector) == -1) {
		nr_errno("VCPU %u: the start-up state", cpu);
		return -1;
	}
	return 0;
}
