/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-run: one thread per VCPU, each running its VCPU until the machine
 * ends, and what each exit means:
 *   IO        the UART, the debug-exit port (the VMM ends with the value
 *             written); for Linux the CMOS clock (rtc.c), the timer's
 *             channel 2 (pit.c), the reset
 *             ports (NR_EXIT_RESET) and ACPI's sleep control register
 *             (S5: power-off, status 0);
 *             any other port: reads all ones, writes ignored,
 *             counted; through nvmm_assist_io and the io callback
 *   MEMORY    nvmm_assist_mem: for Linux the local and I/O APICs and the
 *             virtio disk; any other access is reported and the VMM
 *             ends with NR_EXIT_ERROR
 *   RDMSR     0 (counted); WRMSR ignored (counted); RIP moves to npc
 *   HALTED    no interrupt can come: the VCPU is done; when every VCPU is
 *             done the VMM ends with 0
 *   SHUTDOWN  reported with the registers, NR_EXIT_SHUTDOWN
 * The machine ends at the first debug-exit write, shutdown, error or
 * signal (SIGINT, SIGTERM, SIGHUP: 128 + its number): the other VCPUs are
 * stopped with nvmm_vcpu_stop() and a SIGUSR1 that kicks them out of the
 * guest.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "acpi.h"
#include "nvmm-run.h"
#include "pit.h"
#include "rtc.h"

#define SIG_KICK	SIGUSR1
#define MSR_APIC_BASE	0x1B
#define MSR_TSC_DEADLINE	0x6E0
#define SIG_DONE	SIGUSR2
#define ACPI_SLP_EN	0x20	/* sleep control register: go to SLP_TYP */

static struct nr_vm *vm;
static pthread_t threads[NR_MAX_VCPUS];
static atomic_bool created[NR_MAX_VCPUS];
static pthread_t main_thread;
static atomic_bool ending;
static atomic_int end_status;
static atomic_uint running;

static struct {
	pthread_mutex_t lock;
	unsigned long unknown_io, rdmsr, wrmsr;
	uint16_t first_port;
	bool first_in;
} stats = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*
 * The CMOS clock (rtc.c) and the timer's channel 2 (pit.c), shared by the
 * VCPUs; each one's reset state is all zeroes (nr_pit_reset() at start).
 */
static struct {
	pthread_mutex_t lock;
	struct nr_rtc rtc;
	struct nr_pit pit;
} clocks = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The first caller decides the status; every VCPU is then stopped. */
static void vm_end(int status)
{
	bool no = false;
	unsigned int i;

	if (!atomic_compare_exchange_strong(&ending, &no, true))
		return;
	atomic_store(&end_status, status);
	if (vm->linux_boot)
		nr_smp_end();
	/* 'ending' first: a VCPU that misses the stop sees it next. */
	for (i = 0; i < vm->nvcpus; i++) {
		nvmm_vcpu_stop(&vm->vcpu[i]);
		if (atomic_load(&created[i]))
			pthread_kill(threads[i], SIG_KICK);
	}
}

/* The VCPU this thread runs, for the kick. */
static _Thread_local struct nvmm_vcpu *kick_vcpu;

void nr_vcpu_kick(unsigned int cpu)
{
	if (cpu >= vm->nvcpus || kick_vcpu == &vm->vcpu[cpu])
		return;		/* our own VCPU is not in the guest */
	nvmm_vcpu_stop(&vm->vcpu[cpu]);
	if (atomic_load(&created[cpu]))
		pthread_kill(threads[cpu], SIG_KICK);
}

/*
 * A kick (vm_end(), a Linux guest's APIC timer): the signal ends a run in
 * progress; the stop request also covers a kick that lands just before
 * the thread enters nvmm_vcpu_run(). Both are async-signal-safe.
 */
static void on_kick(int sig)
{
	(void)sig;
	if (kick_vcpu != NULL)
		nvmm_vcpu_stop(kick_vcpu);
}

static void io_callback(struct nvmm_io *io)
{
	size_t i;

	if (io->port >= NR_PORT_COM1 && io->port < NR_PORT_COM1 + 8) {
		/* A wide access covers the next registers, as on a bus. */
		for (i = 0; i < io->size; i++)
			if (io->port + i < NR_PORT_COM1 + 8)
				nr_serial_io((uint16_t)(io->port + i -
							NR_PORT_COM1),
					     io->in, &io->data[i]);
			else if (io->in)
				io->data[i] = 0xFF;
		return;
	}
	/* Linux's reboot: the keyboard controller's pulse, or 0xCF9. */
	if (vm->linux_boot && !io->in && io->size == 1 &&
	    ((io->port == 0x64 && io->data[0] == 0xFE) ||
	     (io->port == 0xCF9 && (io->data[0] & 0x04)))) {
		nr_serial_flush();
		fprintf(stderr, "nvmm-run: the guest resets the machine "
			"(port %#x)\n", io->port);
		vm_end(NR_EXIT_RESET);
		return;
	}
	if (vm->linux_boot && io->size == 1 &&
	    (io->port == NR_RTC_PORT_INDEX || io->port == NR_RTC_PORT_DATA)) {
		pthread_mutex_lock(&clocks.lock);
		nr_rtc_io(&clocks.rtc, io->port, io->in, io->data, time(NULL));
		pthread_mutex_unlock(&clocks.lock);
		return;
	}
	if (vm->linux_boot && io->size == 1 &&
	    (io->port == NR_PIT_PORT_CH2 || io->port == NR_PIT_PORT_CTRL ||
	     io->port == NR_PIT_PORT_B)) {
		pthread_mutex_lock(&clocks.lock);
		nr_pit_io(&clocks.pit, io->port, io->in, io->data,
			  monotonic_ns());
		pthread_mutex_unlock(&clocks.lock);
		return;
	}
	/* ACPI's S5: SLP_EN with SLP_TYP 5 (acpi.c's _S5 object). */
	if (vm->linux_boot && io->port == NR_ACPI_SLEEP_PORT &&
	    io->size == 1) {
		if (io->in) {
			io->data[0] = 0;	/* WAK_STS clear */
		} else if ((io->data[0] & ACPI_SLP_EN) &&
			   ((io->data[0] >> 2) & 7) == NR_ACPI_S5) {
			nr_serial_flush();
			fprintf(stderr, "nvmm-run: the guest powers off\n");
			vm_end(0);
		}
		return;
	}
	if (io->port == NR_PORT_DEBUG_EXIT && !io->in) {
		nr_serial_flush();
		vm_end(io->data[0]);
		return;
	}
	if (io->in)
		memset(io->data, 0xFF, io->size);
	pthread_mutex_lock(&stats.lock);
	if (stats.unknown_io++ == 0) {
		stats.first_port = io->port;
		stats.first_in = io->in;
	}
	pthread_mutex_unlock(&stats.lock);
	if (vm->verbose)
		fprintf(stderr, "nvmm-run: %s of %zu byte(s) at port %#x: no "
			"device\n", io->in ? "read" : "write", io->size,
			io->port);
}

/* The VCPU's last MMIO access hit no device (its thread's own flag). */
static _Thread_local bool mmio_fault;

bool nr_vm_ending(void)
{
	return atomic_load(&ending);
}

static void mem_callback(struct nvmm_mem *mem)
{
	if (vm->linux_boot && (nr_intr_mmio(mem) || nr_disk_mmio(mem)))
		return;
	mmio_fault = true;
	nr_err("VCPU %u: %s of %zu byte(s) at guest-physical %#" PRIx64
	       ": no RAM and no device there", mem->vcpu->cpuid,
	       mem->write ? "write" : "read", mem->size, mem->gpa);
	if (!mem->write)
		memset(mem->data, 0xFF, mem->size);
}

static int exit_memory(struct nvmm_vcpu *vcpu)
{
	const struct nvmm_x86_exit_memory *m = &vcpu->exit->u.mem;

	if (nvmm_assist_mem(&vm->mach, vcpu) == -1) {
		int e = errno;
		char bytes[3 * sizeof(m->inst_bytes) + 1] = "";
		unsigned int i;

		for (i = 0; i < m->inst_len && i < sizeof(m->inst_bytes); i++)
			snprintf(bytes + 3 * i, 4, " %02x", m->inst_bytes[i]);
		nr_serial_flush();
		nr_err("VCPU %u: %s at guest-physical %#" PRIx64 ": "
		       "nvmm_assist_mem: %s%s%s", vcpu->cpuid,
		       m->prot == NVMM_PROT_EXEC ? "instruction fetch" :
		       m->prot == NVMM_PROT_WRITE ? "write" : "read",
		       m->gpa, strerror(e),
		       e == ENODEV ? " (an instruction the MMIO assist does "
		       "not emulate)" : e == EFAULT ? " (the guest's page "
		       "tables or instruction out of reach)" : "",
		       *bytes ? ", instruction bytes:" : "");
		if (*bytes)
			fprintf(stderr, "nvmm-run:%s\n", bytes);
		nvmm_vcpu_dump(&vm->mach, vcpu);
		return -1;
	}
	/* The callback reported it; a device-less MMIO access is fatal. */
	if (mmio_fault)
		vm_end(NR_EXIT_ERROR);
	mmio_fault = false;
	return 0;
}

/* RDMSR gives 0, WRMSR is ignored: what a guest probing MSRs should see. */
static int exit_msr(struct nvmm_vcpu *vcpu, bool write)
{
	const struct nvmm_vcpu_exit *exit = vcpu->exit;
	struct nvmm_x64_state *st = vcpu->state;
	uint32_t msr = write ? exit->u.wrmsr.msr : exit->u.rdmsr.msr;

	if (nvmm_vcpu_getstate(&vm->mach, vcpu, NVMM_X64_STATE_GPRS) == -1) {
		nr_errno("VCPU %u: nvmm_vcpu_getstate", vcpu->cpuid);
		return -1;
	}
	if (write) {
		if (vm->linux_boot && msr == MSR_TSC_DEADLINE &&
		    nr_intr_tsc_deadline(vm, vcpu, exit->u.wrmsr.val) == -1)
			return -1;
		st->gprs[NVMM_X64_GPR_RIP] = exit->u.wrmsr.npc;
	} else {
		uint64_t val = 0;

		if (vm->linux_boot && msr == MSR_APIC_BASE)
			val = nr_intr_apic_base(vcpu->cpuid);
		st->gprs[NVMM_X64_GPR_RAX] = (uint32_t)val;
		st->gprs[NVMM_X64_GPR_RDX] = val >> 32;
		st->gprs[NVMM_X64_GPR_RIP] = exit->u.rdmsr.npc;
	}
	if (nvmm_vcpu_setstate(&vm->mach, vcpu, NVMM_X64_STATE_GPRS) == -1) {
		nr_errno("VCPU %u: nvmm_vcpu_setstate", vcpu->cpuid);
		return -1;
	}
	pthread_mutex_lock(&stats.lock);
	if (write)
		stats.wrmsr++;
	else
		stats.rdmsr++;
	pthread_mutex_unlock(&stats.lock);
	if (vm->verbose)
		fprintf(stderr, "nvmm-run: VCPU %u: %s MSR %#x%s\n",
			vcpu->cpuid, write ? "WRMSR" : "RDMSR", msr,
			write ? " ignored" : ": 0");
	return 0;
}

static const char *exit_name(uint64_t reason)
{
	switch (reason) {
	case NVMM_VCPU_EXIT_INT_READY: return "INT_READY";
	case NVMM_VCPU_EXIT_NMI_READY: return "NMI_READY";
	case NVMM_VCPU_EXIT_TPR_CHANGED: return "TPR_CHANGED";
	case NVMM_VCPU_EXIT_MONITOR: return "MONITOR";
	case NVMM_VCPU_EXIT_MWAIT: return "MWAIT";
	case NVMM_VCPU_EXIT_CPUID: return "CPUID";
	case NVMM_VCPU_EXIT_INVALID: return "INVALID";
	default: return "unknown";
	}
}

/* One exit; false when this VCPU is done. */
static bool vcpu_exit(struct nvmm_vcpu *vcpu)
{
	const struct nvmm_vcpu_exit *exit = vcpu->exit;

	if (vm->stats)
		nr_exits_count(exit);
	switch (exit->reason) {
	case NVMM_VCPU_EXIT_NONE:
	case NVMM_VCPU_EXIT_STOPPED:
		return true;	/* the loop looks at 'ending' */
	case NVMM_VCPU_EXIT_IO:
		if (nvmm_assist_io(&vm->mach, vcpu) == -1) {
			nr_errno("VCPU %u: port %#x: nvmm_assist_io",
				 vcpu->cpuid, exit->u.io.port);
			vm_end(NR_EXIT_ERROR);
		}
		return true;
	case NVMM_VCPU_EXIT_MEMORY:
		if (exit_memory(vcpu) == -1)
			vm_end(NR_EXIT_ERROR);
		return true;
	case NVMM_VCPU_EXIT_RDMSR:
	case NVMM_VCPU_EXIT_WRMSR:
		if (exit_msr(vcpu, exit->reason == NVMM_VCPU_EXIT_WRMSR) == -1)
			vm_end(NR_EXIT_ERROR);
		return true;
	case NVMM_VCPU_EXIT_INT_READY:
	case NVMM_VCPU_EXIT_NMI_READY:
		if (!vm->linux_boot)
			goto unexpected;
		return true;	/* nr_intr_before_run() delivers */
	case NVMM_VCPU_EXIT_HALTED:
		if (vm->linux_boot)
			return nr_intr_halt(vm, vcpu);
		if (vm->verbose)
			fprintf(stderr, "nvmm-run: VCPU %u halted\n",
				vcpu->cpuid);
		return false;
	case NVMM_VCPU_EXIT_SHUTDOWN:
		nr_serial_flush();
		nr_err("VCPU %u: the guest shut down (triple fault)",
		       vcpu->cpuid);
		nvmm_vcpu_dump(&vm->mach, vcpu);
		vm_end(NR_EXIT_SHUTDOWN);
		return false;
	default:
unexpected:
		nr_serial_flush();
		nr_err("VCPU %u: unexpected exit %#" PRIx64 " (%s)%s",
		       vcpu->cpuid, exit->reason, exit_name(exit->reason),
		       exit->reason == NVMM_VCPU_EXIT_INVALID ?
		       ": the CPU refused the state" : "");
		if (exit->reason == NVMM_VCPU_EXIT_INVALID)
			nr_err("hardware code %#" PRIx64, exit->u.inv.hwcode);
		nvmm_vcpu_dump(&vm->mach, vcpu);
		vm_end(NR_EXIT_ERROR);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct nvmm_vcpu *vcpu = arg;
	bool timers = false;

	kick_vcpu = vcpu;
	if (vm->linux_boot) {
		timers = nr_intr_vcpu_start(vm, vcpu, SIG_KICK) == 0;
		if (!timers)
			vm_end(NR_EXIT_ERROR);
	}
	while (!atomic_load(&ending)) {
		if (vm->linux_boot) {
			int w = nr_smp_wait(vm, vcpu);

			if (w == -1)
				vm_end(NR_EXIT_ERROR);
			if (w != 0 || atomic_load(&ending))
				break;
		}
		if (vm->linux_boot && nr_intr_before_run(vm, vcpu) == -1) {
			nr_errno("VCPU %u: interrupt delivery", vcpu->cpuid);
			vm_end(NR_EXIT_ERROR);
			break;
		}
		if (nvmm_vcpu_run(&vm->mach, vcpu) == -1) {
			if (errno == EINTR)
				continue;
			nr_errno("VCPU %u: nvmm_vcpu_run", vcpu->cpuid);
			vm_end(NR_EXIT_ERROR);
			break;
		}
		if (!vcpu_exit(vcpu))
			break;
	}
	if (timers)
		nr_intr_vcpu_end(vcpu);
	if (atomic_fetch_sub(&running, 1) == 1)
		pthread_kill(main_thread, SIG_DONE);
	return NULL;
}

static void report(void)
{
	if (stats.unknown_io)
		fprintf(stderr, "nvmm-run: %lu access(es) to ports without a "
			"device (first: %s port %#x)\n", stats.unknown_io,
			stats.first_in ? "read of" : "write to",
			stats.first_port);
	if (vm->verbose && (stats.rdmsr || stats.wrmsr))
		fprintf(stderr, "nvmm-run: %lu RDMSR and %lu WRMSR emulated\n",
			stats.rdmsr, stats.wrmsr);
}

int nr_run(struct nr_vm *the_vm)
{
	struct nvmm_assist_callbacks cbs = {
		.io = io_callback,
		.mem = mem_callback,
	};
	struct sigaction sa;
	sigset_t waitset, old;
	unsigned int i, started = 0;
	int sig, err;

	vm = the_vm;
	main_thread = pthread_self();
	nr_pit_reset(&clocks.pit);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick;	/* no SA_RESTART: runs return */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIG_KICK, &sa, NULL) == -1) {
		nr_errno("sigaction");
		return NR_EXIT_ERROR;
	}
	/* The VCPU threads inherit this mask: only the main thread waits. */
	sigemptyset(&waitset);
	sigaddset(&waitset, SIGINT);
	sigaddset(&waitset, SIGTERM);
	sigaddset(&waitset, SIGHUP);
	sigaddset(&waitset, SIG_DONE);
	pthread_sigmask(SIG_BLOCK, &waitset, &old);

	for (i = 0; i < vm->nvcpus; i++) {
		if (nvmm_vcpu_configure(&vm->mach, &vm->vcpu[i],
					NVMM_VCPU_CONF_CALLBACKS, &cbs) == -1) {
			nr_errno("VCPU %u: nvmm_vcpu_configure", i);
			vm_end(NR_EXIT_ERROR);
			break;
		}
	}
	if (vm->linux_boot && nr_intr_init(vm) == -1)
		return NR_EXIT_ERROR;
	atomic_store(&running, vm->nvcpus);
	nr_exits_start();
	for (i = 0; i < vm->nvcpus && !atomic_load(&ending); i++) {
		err = pthread_create(&threads[i], NULL, vcpu_thread,
				     &vm->vcpu[i]);
		if (err != 0) {
			errno = err;
			nr_errno("pthread_create");
			vm_end(NR_EXIT_ERROR);
			break;
		}
		atomic_store(&created[i], true);
		started++;
	}
	/* Threads that never started are done already. */
	if (started < vm->nvcpus &&
	    atomic_fetch_sub(&running, vm->nvcpus - started) ==
	    vm->nvcpus - started)
		pthread_kill(main_thread, SIG_DONE);

	for (;;) {
		if (sigwait(&waitset, &sig) != 0)
			continue;
		if (sig == SIG_DONE && atomic_load(&running) == 0)
			break;
		if (sig != SIG_DONE) {
			nr_serial_flush();
			nr_err("signal %d: stopping the guest", sig);
			vm_end(128 + sig);
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	nr_serial_flush();
	/* Stopped by a signal (a hung guest?): where each VCPU was. */
	if (vm->verbose && atomic_load(&end_status) > 128)
		for (i = 0; i < started; i++)
			nvmm_vcpu_dump(&vm->mach, &vm->vcpu[i]);
	report();
	if (vm->stats)
		nr_exits_report();
	return atomic_load(&ending) ? atomic_load(&end_status) : 0;
}
