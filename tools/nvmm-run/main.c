/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-run: run a 64-bit ELF guest, or a Linux kernel, on nvmm.
 *
 *   nvmm-run [--mem MIB] [--vcpus N] [--verbose] [--stats] GUEST.elf
 *            [ARGS...]
 *   nvmm-run [--mem MIB] [--vcpus N] [--verbose] [--stats] --kernel KERNEL
 *            [--initrd FILE] [--append LINE] [--disk FILE]
 *
 * A Linux kernel is loaded as its 64-bit boot protocol says (linux.c),
 * with ACPI tables (acpi.c) and an MP table (mptable.c), a reset at the
 * reset vector, a local APIC with a TSC-deadline timer and
 * an I/O APIC (intr.c), and the UART's interrupts (stdin is its input).
 * VCPU 0 enters the kernel; Linux starts the others with INIT and
 * start-up IPIs (smp.c). A raw image file is its virtio disk
 * (virtio_blk.c, on virtio-mmio: virtio_mmio.c).
 *
 * The guest gets MIB of RAM at guest-physical 0 (default 64), N VCPUs
 * (default 1) all entered at the ELF entry point in long mode (paging.c
 * has the registers), ARGS joined by spaces as its command line, a 16550
 * UART at 0x3F8 on stdin/stdout and a debug-exit port at 0x501.
 *
 * Exit status: the byte the guest wrote to 0x501; 0 when every VCPU
 * halted, or a Linux guest powered off (ACPI S5); 1 on a
 * VMM error, an unexpected exit or an access to memory without RAM; 2
 * usage; 3 the guest shut down (triple fault); 4 a Linux guest reset the
 * machine (its reboot); 128+N on signal N.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "nvmm-run.h"

#define DEFAULT_MEM_MIB	64

void nr_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("nvmm-run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void nr_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fflush(stdout);
	fputs("nvmm-run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nvmm-run [--mem MIB] [--vcpus N] [--verbose] [--stats] "
		"GUEST.elf [ARGS...]\n"
		"       nvmm-run [--mem MIB] [--vcpus N] [--verbose] [--stats] "
		"--kernel KERNEL\n"
		"                [--initrd FILE] [--append CMDLINE] "
		"[--disk FILE]\n"
		"  --mem MIB    guest RAM at guest-physical 0 (default %d)\n"
		"  --kernel F   a Linux bzImage (its 64-bit entry point) or "
		"vmlinux (PVH)\n"
		"  --initrd F   its initramfs\n"
		"  --append S   its command line\n"
		"  --disk F     a raw disk image, a virtio disk for Linux "
		"(read-only\n"
		"               if the file is)\n"
		"  --vcpus N    VCPUs, all entered at the ELF entry point "
		"(default 1)\n"
		"  --verbose    report segments, exits to unknown ports, MSRs\n"
		"  --stats      at the end, the exits to the VMM by kind, and "
		"their rates\n"
		"The guest's serial port (16550, 0x3F8) is stdin/stdout; it "
		"ends the VMM\nby writing the exit status to port 0x501.\n",
		DEFAULT_MEM_MIB);
}

static unsigned long parse_num(const char *what, const char *s,
			       unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max) {
		nr_err("%s must be a number from %lu to %lu, not '%s'", what,
		       min, max, s);
		exit(NR_EXIT_USAGE);
	}
	return v;
}

/* ARGS joined by spaces. */
static char *join_args(int argc, char **argv)
{
	size_t len = 1;
	char *s;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	if (s == NULL)
		return NULL;
	for (i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static int vm_create(struct nr_vm *vm, unsigned long mem_mib)
{
	struct nvmm_capability cap;
	unsigned int i;

	if (nvmm_init() == -1) {
		nr_errno("nvmm_init: cannot use /dev/nvmm%s",
			 errno == ENOENT ? " (is nvmm.ko loaded?)" : "");
		return -1;
	}
	if (nvmm_capability(&cap) == -1) {
		nr_errno("nvmm_capability");
		return -1;
	}
	if (vm->nvcpus > cap.max_vcpus) {
		nr_err("%u VCPUs asked, nvmm offers %u per machine",
		       vm->nvcpus, cap.max_vcpus);
		return -1;
	}
	vm->ram_size = (size_t)mem_mib << 20;
	if (vm->ram_size > cap.max_ram) {
		nr_err("%lu MiB of RAM asked, nvmm offers %llu MiB per machine",
		       mem_mib, (unsigned long long)(cap.max_ram >> 20));
		return -1;
	}
	vm->ram = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		nr_errno("%lu MiB of guest RAM", mem_mib);
		return -1;
	}
	if (nvmm_machine_create(&vm->mach) == -1) {
		nr_errno("nvmm_machine_create");
		return -1;
	}
	vm->mach_created = true;
	if (nvmm_hva_map(&vm->mach, (uintptr_t)vm->ram, vm->ram_size) == -1) {
		nr_errno("nvmm_hva_map");
		return -1;
	}
	if (nvmm_gpa_map(&vm->mach, (uintptr_t)vm->ram, 0, vm->ram_size,
			 PROT_READ | PROT_WRITE | PROT_EXEC) == -1) {
		nr_errno("nvmm_gpa_map");
		return -1;
	}
	for (i = 0; i < vm->nvcpus; i++) {
		if (nvmm_vcpu_create(&vm->mach, i, &vm->vcpu[i]) == -1) {
			nr_errno("nvmm_vcpu_create(%u)", i);
			return -1;
		}
	}
	return 0;
}

/* The machine takes its VCPUs and mappings with it. */
static void vm_destroy(struct nr_vm *vm)
{
	if (vm->mach_created && nvmm_machine_destroy(&vm->mach) == -1)
		nr_errno("nvmm_machine_destroy");
	if (vm->ram != NULL)
		munmap(vm->ram, vm->ram_size);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "vcpus", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "stats", no_argument, NULL, 's' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "append", required_argument, NULL, 'a' },
		{ "disk", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct nr_vm vm;
	unsigned long mem_mib = DEFAULT_MEM_MIB;
	const char *kernel = NULL, *initrd = NULL, *append = NULL;
	const char *disk = NULL;
	char *cmdline = NULL;
	unsigned int i;
	int c, status = NR_EXIT_ERROR;

	vm.nvcpus = 1;
	while ((c = getopt_long(argc, argv, "+m:c:vshk:i:a:d:", opts,
				NULL)) != -1) {
		switch (c) {
		case 'm':
			mem_mib = parse_num("--mem", optarg, 1, 1UL << 20);
			break;
		case 'c':
			vm.nvcpus = (unsigned int)parse_num("--vcpus", optarg,
							    1, NR_MAX_VCPUS);
			break;
		case 'v':
			vm.verbose = true;
			break;
		case 's':
			vm.stats = true;
			break;
		case 'k':
			kernel = optarg;
			break;
		case 'i':
			initrd = optarg;
			break;
		case 'a':
			append = optarg;
			break;
		case 'd':
			disk = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return NR_EXIT_USAGE;
		}
	}
	if (kernel == NULL &&
	    (initrd != NULL || append != NULL || disk != NULL)) {
		nr_err("--initrd, --append and --disk go with --kernel");
		return NR_EXIT_USAGE;
	}
	/* Above it: the devices' MMIO (the disk's, the APICs'). */
	if (kernel != NULL && mem_mib > NR_LINUX_MAX_RAM_MIB) {
		nr_err("--mem %lu: a Linux guest gets %d MiB at most (no RAM "
		       "above 4 GiB yet)", mem_mib, NR_LINUX_MAX_RAM_MIB);
		return NR_EXIT_USAGE;
	}
	if ((kernel == NULL) == (optind >= argc)) {
		usage(stderr);
		return NR_EXIT_USAGE;
	}
	if (((uint64_t)mem_mib << 20) < 2 * nr_boot_size(mem_mib << 20)) {
		nr_err("--mem %lu: too small", mem_mib);
		return NR_EXIT_USAGE;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (kernel != NULL)
		cmdline = strdup(append != NULL ? append : "");
	else
		cmdline = join_args(argc - optind - 1, argv + optind + 1);
	if (cmdline == NULL) {
		nr_errno("command line");
		return NR_EXIT_ERROR;
	}
	nr_serial_init();

	if (vm_create(&vm, mem_mib) == -1)
		goto out;
	if (kernel != NULL) {
		if (disk != NULL) {
			if (nr_disk_open(&vm, disk) == -1)
				goto out;
			vm.disk = true;
		}
		if (nr_linux_load(&vm, kernel, initrd, cmdline) == -1)
			goto out;
	} else if (nr_elf_load(&vm, argv[optind],
			       vm.ram_size - nr_boot_size(vm.ram_size)) == -1) {
		goto out;
	}
	if (nr_boot_setup(&vm, cmdline) == -1)
		goto out;
	/* Linux starts its other VCPUs itself (smp.c). */
	for (i = 0; i < (kernel != NULL ? 1 : vm.nvcpus); i++)
		if (nr_vcpu_boot(&vm, i) == -1)
			goto out;
	status = nr_run(&vm);
out:
	nr_disk_close();
	vm_destroy(&vm);
	free(cmdline);
	return status;
}
