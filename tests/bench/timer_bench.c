/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The cost in nvmm-run of one round trip of a Linux guest's local APIC
 * timer in TSC-deadline mode, on a mock VCPU (libvmm without the kernel),
 * with nvmm-run's own intr.c, lapic.c and ioapic.c:
 *
 *   arm    the WRMSR IA32_TSC_DEADLINE exit, as run.c handles it (the
 *          registers, the deadline into the APIC, RIP to npc), then the
 *          next entry's look at the APIC, which sets the POSIX timer that
 *          will kick the VCPU (timer_settime)
 *   fire   the entry after the kick: the timer expires in the APIC, its
 *          vector is injected (nvmm_vcpu_inject)
 *   eoi    the guest's EOI, a MOV to the APIC's MMIO page: the MEMORY
 *          exit through nvmm_assist_mem() to the APIC
 *
 * Each bench_* function is one call; main makes BENCH_N of each (in
 * about 3 s: each deadline is 2 ms away, and waited for), with
 * what the kernel would do between them (a new exit, the state it
 * provides) outside them. Run under callgrind (make bench-timer) for
 * instructions per call; the system calls' kernel side and the exits
 * themselves are not counted (vmbench and run-boot measure those).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nvmm.h>

#include "lapic.h"
#include "mock_device.h"
#include "nvmm-run.h"

#define BENCH_N		1000
#define MSR_TSC_DEADLINE	0x6E0
#define TIMER_VECTOR	0xEC
#define LAPIC_EOI	0xB0
#define LAPIC_SVR	0xF0
#define LAPIC_LVT_TIMER	0x320

void bench_arm(struct nr_vm *vm, uint64_t deadline);
void bench_fire(struct nr_vm *vm);
void bench_eoi(struct nr_vm *vm);

/* What intr.c needs from the rest of nvmm-run. */
void nr_err(const char *fmt, ...)
{
	(void)fmt;
	abort();
}

void nr_errno(const char *fmt, ...)
{
	(void)fmt;
	abort();
}

void nr_serial_flush(void) {}
bool nr_serial_may_interrupt(void) { return false; }
int nr_serial_set_irq(void (*irq)(void)) { (void)irq; return 0; }
void nr_smp_init(struct nr_vm *vm) { (void)vm; }
bool nr_smp_park(unsigned int cpu) { (void)cpu; return true; }
void nr_smp_send_init(unsigned int cpu) { (void)cpu; }
void nr_smp_send_sipi(unsigned int cpu, uint8_t vector)
{
	(void)cpu;
	(void)vector;
}
void nr_smp_send_nmi(unsigned int cpu) { (void)cpu; }
void nr_vcpu_kick(unsigned int cpu) { (void)cpu; }
bool nr_vm_ending(void) { return false; }

/* run.c's mem callback, for a machine whose only device is the APICs. */
static void mem_cb(struct nvmm_mem *mem)
{
	if (!nr_intr_mmio(mem))
		abort();
}

/*
 * What the kernel does at an exit: a new exit record, the registers it
 * provides with it, nothing committed yet. RFLAGS.IF set: the guest can
 * take an interrupt.
 */
static void kernel_exit(struct nr_vm *vm, uint64_t reason)
{
	struct nvmm_vcpu *vcpu = &vm->vcpu[0];
	struct nvmm_comm_page *comm = vm->mach.pages[0];

	comm->state_commit = 0;
	comm->event_commit = false;
	comm->state_cached = NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS |
			     NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS;
	memset(vcpu->exit, 0, sizeof(*vcpu->exit));
	vcpu->exit->reason = reason;
	vcpu->exit->exitstate.rflags = 0x202;
	vcpu->state->msrs[NVMM_X64_MSR_TSC] += 1000;
}

/* The guest's write of val to the APIC register at off (MOV [rbx],eax). */
static void apic_write_exit(struct nr_vm *vm, uint32_t off, uint32_t val)
{
	struct nvmm_vcpu *vcpu = &vm->vcpu[0];
	struct nvmm_x64_state *st = vcpu->state;

	kernel_exit(vm, NVMM_VCPU_EXIT_MEMORY);
	vcpu->exit->u.mem.prot = NVMM_PROT_WRITE;
	vcpu->exit->u.mem.gpa = NR_LAPIC_BASE + off;
	vcpu->exit->u.mem.inst_len = 2;
	vcpu->exit->u.mem.inst_bytes[0] = 0x89;	/* mov [rbx],eax */
	vcpu->exit->u.mem.inst_bytes[1] = 0x03;
	st->gprs[NVMM_X64_GPR_RBX] = NR_LAPIC_BASE + off;
	st->gprs[NVMM_X64_GPR_RAX] = val;
	st->gprs[NVMM_X64_GPR_RIP] = 0x100000;
}

__attribute__((noinline)) void bench_arm(struct nr_vm *vm, uint64_t deadline)
{
	struct nvmm_vcpu *vcpu = &vm->vcpu[0];

	/* run.c's exit_msr() for this MSR. */
	if (nvmm_vcpu_getstate(&vm->mach, vcpu, NVMM_X64_STATE_GPRS) == -1 ||
	    nr_intr_tsc_deadline(vm, vcpu, deadline) == -1)
		abort();
	vcpu->state->gprs[NVMM_X64_GPR_RIP] = vcpu->exit->u.wrmsr.npc;
	if (nvmm_vcpu_setstate(&vm->mach, vcpu, NVMM_X64_STATE_GPRS) == -1 ||
	    nr_intr_before_run(vm, vcpu) == -1)
		abort();
}

__attribute__((noinline)) void bench_fire(struct nr_vm *vm)
{
	if (nr_intr_before_run(vm, &vm->vcpu[0]) == -1)
		abort();
}

__attribute__((noinline)) void bench_eoi(struct nr_vm *vm)
{
	if (nvmm_assist_mem(&vm->mach, &vm->vcpu[0]) == -1)
		abort();
}

static void long_mode(struct nvmm_x64_state *st)
{
	int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < 6; i++) {
		st->segs[i].attrib.type = i == NVMM_X64_SEG_CS ? 0xB : 0x3;
		st->segs[i].attrib.s = 1;
		st->segs[i].attrib.p = 1;
		st->segs[i].limit = 0xFFFFFFFF;
	}
	st->segs[NVMM_X64_SEG_CS].attrib.l = 1;
	st->crs[NVMM_X64_CR_CR0] = 0x80010011;
	st->crs[NVMM_X64_CR_CR4] = 0x20;
	st->crs[NVMM_X64_CR_CR3] = 0x1000;
	st->msrs[NVMM_X64_MSR_EFER] = 0xD00;
	st->msrs[NVMM_X64_MSR_TSC] = 1000000;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x202;
}

/* Sleep ns, whatever signals come. */
static void wait_past(long ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += ns;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
		;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(void)
{
	static struct nr_vm vm;
	struct nvmm_assist_callbacks cbs = { .io = NULL, .mem = mem_cb };
	struct nvmm_vcpu *vcpu = &vm.vcpu[0];
	double t[3] = { 0, 0, 0 }, t0;
	uint64_t tsc;
	int i;

	signal(SIGUSR1, SIG_IGN);	/* the kick; no timer expires here */
	mock_reset();
	if (mock_machine(&vm.mach) != 0 ||
	    mock_vcpu(&vm.mach, 0, vcpu) != 0 ||
	    nvmm_vcpu_configure(&vm.mach, vcpu, NVMM_VCPU_CONF_CALLBACKS,
				&cbs) != 0)
		return 1;
	vm.nvcpus = 1;
	vm.linux_boot = true;
	vm.tsc_khz = 2000000;
	long_mode(vcpu->state);
	if (nr_intr_init(&vm) != 0 ||
	    nr_intr_vcpu_start(&vm, vcpu, SIGUSR1) != 0)
		return 1;
	/* Linux's setup: APIC on, the timer in TSC-deadline mode. */
	apic_write_exit(&vm, LAPIC_SVR, 0x1FF);
	if (nvmm_assist_mem(&vm.mach, vcpu) == -1)
		return 1;
	apic_write_exit(&vm, LAPIC_LVT_TIMER, (2U << 17) | TIMER_VECTOR);
	if (nvmm_assist_mem(&vm.mach, vcpu) == -1)
		return 1;

	for (i = 0; i < BENCH_N; i++) {
		/* A deadline 2 ms away (past valgrind's slow arming). */
		kernel_exit(&vm, NVMM_VCPU_EXIT_WRMSR);
		tsc = vcpu->state->msrs[NVMM_X64_MSR_TSC];
		vcpu->exit->u.wrmsr.msr = MSR_TSC_DEADLINE;
		vcpu->exit->u.wrmsr.npc = 0x100004;
		t0 = now();
		bench_arm(&vm, tsc + 2 * vm.tsc_khz);
		t[0] += now() - t0;

		/* Its kick (ignored here) ends the run: the next entry. */
		wait_past(3000000);
		kernel_exit(&vm, NVMM_VCPU_EXIT_STOPPED);
		t0 = now();
		bench_fire(&vm);
		t[1] += now() - t0;
		if (!vm.mach.pages[0]->event_commit ||
		    vcpu->event->vector != TIMER_VECTOR)
			abort();

		apic_write_exit(&vm, LAPIC_EOI, 0);
		t0 = now();
		bench_eoi(&vm);
		t[2] += now() - t0;
	}
	printf("arm (WRMSR exit, POSIX timer set): %.0f ns/call\n",
	       t[0] / BENCH_N);
	printf("fire (expiry, inject):             %.0f ns/call\n",
	       t[1] / BENCH_N);
	printf("eoi (MMIO write to the APIC):      %.0f ns/call\n",
	       t[2] / BENCH_N);
	nr_intr_vcpu_end(vcpu);
	mock_machine_free(&vm.mach);
	return 0;
}
