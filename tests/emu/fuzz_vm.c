/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Random hostile input for nvmm.ko and libvmm, run inside an emulated host:
 *
 *   states  valid states with random fields changed (bits flipped, values
 *           replaced), committed in random groups, each followed by a run;
 *   code    random instruction bytes run at CPL 3 in 32-bit (PAE),
 *           virtual-8086 and 64-bit mode, and on a real CPU also at CPL 0
 *           in real, 32-bit and 64-bit mode, every MEMORY and I/O exit
 *           through libvmm's assists;
 *   races   a VCPU thread running while the main thread unmaps and remaps
 *           guest RAM, takes its protection away, stops the VCPU, forks a
 *           child that tries the parent's machine, and finally destroys the
 *           machine under the running VCPU.
 *
 * usage: fuzz_vm [-s SEED] [-n STATES] [-c CODE] [-r RACES] [-t SECONDS]
 *
 * -t: a time limit, shared evenly by the modes with a count; a mode ends
 * at its count or its time, whichever comes first, and reports what ran.
 *
 * Prints TAP, one result per mode with its counts. A mode fails on what no
 * input may cause: a run or getstate failing with another errno than a
 * refusal (EINVAL for a refused state), a machine that cannot be destroyed,
 * a child that reaches the parent's machine. The emulated-host runner
 * fails the boot on any kernel oops, BUG or WARN, and libvmm crashing
 * kills this program (which the runner reports).
 *
 * Random code runs at CPL 3 with IOPL 0 in an emulated host (user_state():
 * PAE paging, virtual-8086 and long mode, the system tables on supervisor
 * pages, a TSS whose I/O bitmap lets every port exit): CLI faults and POPF
 * leaves IF alone, so an emulator that stops a looping guest only while
 * it has IF=1 (Bochs' VMX) can stop it, and every exception goes
 * through sound tables to a HLT at CPL 0, so no triple fault (Bochs' SVM
 * panics on one; it still did, twice in about 3,000 iterations, "3rd (14)
 * exception with no resolution", and the replayed iteration passed: make
 * check runs no code there). There a SHUTDOWN or INVALID exit fails the
 * mode. On a
 * real CPU (no NVMM_LANE) the code also runs at CPL 0 in real, protected
 * and long mode.
 *
 * Emulator limits (tools/emuhost/README.md): Bochs' SVM (svm-bochs) panics
 * on a guest triple fault, so there the states mode leaves segments,
 * descriptor tables and control registers alone; its VMRUN panics on a
 * virtual-8086 guest ("VM is set in long mode", the host's mode): no
 * virtual-8086 code there. QEMU 7.2's SVM freezes on EFER.LME=1 with
 * CR4.PAE=0 and CR0.PG=0: never committed; its TCG aborts on an event at
 * CPL > 0 through a busy 32-bit TSS (TR type 0xB), so the 32-bit user
 * modes there get TR type 0x9, which AMD's VMRUN does not check; states
 * keep CPL 0 on that lane and use the protected and long modes only (a
 * real-mode guest froze that emulated host at random). A long states run
 * there froze the emulated host when earlier states had made the guest's
 * low memory a loop that writes its own code page: the host's timer
 * interrupt stayed pending and deliverable in its local APIC, with INTR
 * intercepted, and QEMU never took the #VMEXIT (twice: a loop in the IVT
 * that wrote its own code page, and 16-bit code running through zeroed
 * RAM, wrapping IP). On that lane each state starts from fresh tables and
 * RAM filled with HLT, so stray code exits at once. QEMU 7.2's TCG also
 * sets the accessed bit (5) in legacy PAE PDPTEs, a bit the SDM reserves
 * there: once it has walked them, libvmm's walk finds a reserved bit, and
 * the assists of PAE and virtual-8086 code fail with EFAULT (counted by
 * mode in the report; FUZZ_EFAULT=1 shows each). Bochs 2.7's
 * VMX dies with SIGSEGV on random states, at random: make check does not
 * run the states mode on the vmx lane (run-suite).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_vm.h"

uint64_t rng;
bool lane_svm_bochs, lane_svm_qemu, lane_vmx, lane_known;

uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

unsigned int rndn(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

/* The emulated host's CPU vendor and emulator, for their limits. */
static void lane_detect(void)
{
	const char *lane = getenv("NVMM_LANE");

	lane_svm_bochs = lane && strcmp(lane, "svm-bochs") == 0;
	lane_svm_qemu = lane && strcmp(lane, "svm") == 0;
	lane_vmx = lane && strcmp(lane, "vmx") == 0;
	lane_known = lane_svm_bochs || lane_svm_qemu || lane_vmx;
}

struct nvmm_vcpu *watch_vcpu;
atomic_ulong watch_gen;
static atomic_bool watch_quit;

/* Stops a run that takes more than 20 ms (a guest looping without exits). */
static void *watchdog(void *arg)
{
	unsigned long seen = 0;

	(void)arg;
	while (!atomic_load(&watch_quit)) {
		unsigned long gen = atomic_load(&watch_gen);

		usleep(20000);
		if (gen == seen && gen == atomic_load(&watch_gen) &&
		    watch_vcpu != NULL)
			nvmm_vcpu_stop(watch_vcpu);
		seen = gen;
	}
	return NULL;
}

void unexpected(struct counts *c, const char *fmt, int err)
{
	if (!c->unexpected)
		snprintf(c->what, sizeof(c->what), fmt,
			 err ? strerror(err) : "");
	c->unexpected++;
}

unsigned int exit_slot(uint64_t reason)
{
	switch (reason) {
	case NVMM_VCPU_EXIT_MEMORY: return 0;
	case NVMM_VCPU_EXIT_IO: return 1;
	case NVMM_VCPU_EXIT_HALTED: return 2;
	case NVMM_VCPU_EXIT_SHUTDOWN: return 3;
	case NVMM_VCPU_EXIT_INVALID: return 4;
	case NVMM_VCPU_EXIT_NONE: return 5;
	default: return 6;
	}
}

/* FUZZ_TRACE[=N]: print each state from iteration N (0) on. */
bool trace;
unsigned long trace_from;
/* FUZZ_FROM=N: draw the states before iteration N, but run none of them. */
unsigned long run_from;
/* FUZZ_PROGRESS=K: a line every K iterations, to find where a host hangs. */
unsigned long progress;

void trace_state(unsigned long i, uint64_t flags,
			const struct nvmm_x64_state *st)
{
	uint64_t intr;
	unsigned int k;

	memcpy(&intr, &st->intr, sizeof(intr));
	printf("# %lu: flags %#" PRIx64 " rip %#" PRIx64 " rsp %#" PRIx64
	       " rfl %#" PRIx64 " cr0 %#" PRIx64 " cr3 %#" PRIx64 " cr4 %#"
	       PRIx64 " xcr0 %#" PRIx64 " efer %#" PRIx64 " pat %#" PRIx64
	       " intr %#" PRIx64 " dr7 %#" PRIx64 "\n", i, flags,
	       st->gprs[NVMM_X64_GPR_RIP], st->gprs[NVMM_X64_GPR_RSP],
	       st->gprs[NVMM_X64_GPR_RFLAGS], st->crs[NVMM_X64_CR_CR0],
	       st->crs[NVMM_X64_CR_CR3], st->crs[NVMM_X64_CR_CR4],
	       st->crs[NVMM_X64_CR_XCR0], st->msrs[NVMM_X64_MSR_EFER],
	       st->msrs[NVMM_X64_MSR_PAT], intr,
	       st->drs[NVMM_X64_DR_DR7]);
	printf("#   drs");
	for (k = 0; k < NVMM_X64_NDR; k++)
		printf(" %#" PRIx64, st->drs[k]);
	printf("\n#   msrs");
	for (k = 0; k < NVMM_X64_NMSR; k++)
		printf(" %#" PRIx64, st->msrs[k]);
	printf("\n#   gprs");
	for (k = 0; k < 16; k++)
		printf(" %#" PRIx64, st->gprs[k]);
	printf("\n");
	for (k = 0; k < NVMM_X64_NSEG; k++)
		printf("#   seg %u: sel %#x base %#" PRIx64 " limit %#x type %u "
		       "s %u dpl %u p %u avl %u l %u def %u g %u\n", k,
		       st->segs[k].selector, st->segs[k].base,
		       st->segs[k].limit, st->segs[k].attrib.type,
		       st->segs[k].attrib.s, st->segs[k].attrib.dpl,
		       st->segs[k].attrib.p, st->segs[k].attrib.avl,
		       st->segs[k].attrib.l, st->segs[k].attrib.def,
		       st->segs[k].attrib.g);
	fflush(stdout);
}

/* -t SECONDS: each mode also stops when its share of the time is over. */
static double mode_secs;
static struct timespec mode_start;

static void mode_begin(void)
{
	clock_gettime(CLOCK_MONOTONIC, &mode_start);
}

/* Whether iteration i may run; counts it in c->done if so. */
bool more(unsigned long i, unsigned long n, struct counts *c)
{
	struct timespec now;

	if (i >= n)
		return false;
	if (mode_secs > 0 && i % 16 == 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((double)(now.tv_sec - mode_start.tv_sec) +
		    (double)(now.tv_nsec - mode_start.tv_nsec) / 1e9 >=
		    mode_secs)
			return false;
	}
	c->done = i + 1;
	return true;
}

static int report(unsigned int no, const char *name, const struct counts *c)
{
	printf("# %s: %lu iterations, %lu runs, %lu refused (EINVAL); exits "
	       "MEMORY %lu IO %lu HALTED %lu SHUTDOWN %lu INVALID %lu NONE "
	       "%lu other %lu; assists %lu ok, %lu errno\n", name, c->done,
	       c->runs,
	       c->refused, c->exits[0], c->exits[1], c->exits[2], c->exits[3],
	       c->exits[4], c->exits[5], c->exits[6], c->assists_ok,
	       c->assists_err);
	if (c->modes[0] + c->modes[1] + c->modes[2] + c->modes[3] +
	    c->modes[4] + c->modes[5])
		printf("# %s: CPL 0 real %lu, protected %lu, long %lu; CPL 3 "
		       "PAE %lu, virtual-8086 %lu, long %lu\n", name,
		       c->modes[0], c->modes[1], c->modes[2], c->modes[3],
		       c->modes[4], c->modes[5]);
	if (c->assists_err)
		printf("# %s: the assists refused with EINVAL %lu, ENODEV %lu, "
		       "EFAULT %lu, other %lu\n", name, c->einval, c->enodev,
		       c->efault, c->assists_err - c->einval - c->enodev -
		       c->efault);
	if (c->efault)
		printf("# %s: EFAULT by mode: %lu %lu %lu %lu %lu %lu\n", name,
		       c->efault_mode[0], c->efault_mode[1], c->efault_mode[2],
		       c->efault_mode[3], c->efault_mode[4], c->efault_mode[5]);
	if (c->unexpected) {
		printf("not ok %u %s\n# %lu unexpected, the first: %s\n", no,
		       name, c->unexpected, c->what);
		return 1;
	}
	printf("ok %u %s\n", no, name);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long nstates = 2000, ncode = 2000, nraces = 20;
	struct counts cs = { 0 }, cc = { 0 }, cr = { 0 };
	int opt, nmodes, fail = 0;
	pthread_t tid;

	rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL | 1;
	while ((opt = getopt(argc, argv, "s:n:c:r:t:")) != -1) {
		switch (opt) {
		case 's':
			rng = strtoull(optarg, NULL, 0) | 1;
			break;
		case 'n':
			nstates = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			ncode = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			nraces = strtoul(optarg, NULL, 0);
			break;
		case 't':
			mode_secs = strtod(optarg, NULL);
			break;
		default:
			fprintf(stderr, "usage: fuzz_vm [-s SEED] [-n STATES] "
				"[-c CODE] [-r RACES] [-t SECONDS]\n");
			return 2;
		}
	}
	/* The time, shared by the modes that run. */
	nmodes = (nstates > 0) + (ncode > 0) + (nraces > 0);
	if (nmodes)
		mode_secs /= nmodes;
	printf("TAP version 13\n");
	if (access("/dev/nvmm", F_OK) != 0 || nvmm_init() != 0) {
		printf("1..0 # SKIP /dev/nvmm is absent\n");
		return 4;
	}
	lane_detect();
	trace = getenv("FUZZ_TRACE") != NULL;
	if (trace)
		trace_from = strtoul(getenv("FUZZ_TRACE"), NULL, 0);
	if (getenv("FUZZ_FROM"))
		run_from = strtoul(getenv("FUZZ_FROM"), NULL, 0);
	if (getenv("FUZZ_PROGRESS"))
		progress = strtoul(getenv("FUZZ_PROGRESS"), NULL, 0);
	printf("1..3\n# seed %#" PRIx64 " (-s to replay)\n", rng);
	fflush(stdout);
	if (getenv("FUZZ_NO_WATCHDOG") == NULL)
		pthread_create(&tid, NULL, watchdog, NULL);
	else
		atomic_store(&watch_quit, true);
	mode_begin();
	fuzz_states(nstates, &cs);
	fail |= report(1, "states", &cs);
	fflush(stdout);
	{
		mode_begin();
		fuzz_code(ncode, &cc);
		fail |= report(2, "code", &cc);
	}
	fflush(stdout);
	mode_begin();
	fuzz_races(nraces, &cr);
	fail |= report(3, "races", &cr);
	if (!atomic_load(&watch_quit)) {
		atomic_store(&watch_quit, true);
		pthread_join(tid, NULL);
	}
	return fail;
}
