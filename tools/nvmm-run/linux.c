/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Loading a Linux kernel (and an initramfs) into guest RAM, in one of two
 * ways:
 *   - a bzImage, for the 64-bit boot protocol: the protected-mode kernel
 *     (decompressor and payload) at its preferred address, the zero page;
 *     paging.c enters it at startup_64 with RSI = the zero page;
 *   - a vmlinux (ELF) with Linux's PVH entry: its segments at their
 *     physical addresses, PVH's start info (memory map, initramfs, command
 *     line, RSDP) where the zero page would be; paging.c enters it in
 *     32-bit protected mode with EBX = the start info. No decompression:
 *     on a slow emulated host that is a minute saved.
 * Both: the command line low, the initramfs as high as the kernel allows
 * below nvmm-run's boot area, an e820 map of RAM, ACPI and MP tables.
 *
 * Guest-physical layout (below 1 MiB as a PC has it):
 *   0x07000  zero page or PVH start info (with its memory map and
 *            module list)        0x20000  command line
 *   0x9FC00-0xFFFFF reserved: the ACPI tables (acpi.c) at 0xE0000, the MP
 *                   table (mptable.c) at 0xF0000, for a kernel without ACPI,
 *                   a reset at the reset vector (0xFFFF0)
 *   pref_address, or the vmlinux's own (16 MiB)  the kernel
 *   ... initramfs ... boot area (page tables, GDT): reserved
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "acpi.h"
#include "bytes.h"
#include "bzimage.h"
#include "mptable.h"
#include "nvmm-run.h"
#include "virtio_mmio.h"

#define ZERO_PAGE	0x7000ULL
#define CMDLINE		0x20000ULL
#define CMDLINE_END	0x90000ULL
#define LOW_RAM_END	0x9FC00ULL
#define ACPI		0xE0000ULL	/* the RSDP first: a BIOS area */
#define MPTABLE		0xF0000ULL	/* where a BIOS keeps it */
#define HIGH_RAM	0x100000ULL
#define RESET_VECTOR	0xFFFF0ULL	/* F000:FFF0, where a CPU resets to */

/*
 * What a BIOS's reset vector leads to, in 16 bytes: the reset. Linux
 * ends its reboot there when no other way worked (reboot=bios, or ACPI
 * and the keyboard controller skipped: HW-reduced ACPI without EFI
 * chooses EFI, then the BIOS).
 *   mov dx, 0xCF9; mov al, 6; out dx, al; cli; hlt; jmp $-2
 */
static const uint8_t reset_stub[] = {
	0xBA, 0xF9, 0x0C, 0xB0, 0x06, 0xEE, 0xFA, 0xF4, 0xEB, 0xFD,
};

/* The whole of path, or NULL with the reason reported. */
static uint8_t *read_file(const char *what, const char *path, size_t *len)
{
	struct stat sb;
	uint8_t *buf;
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &sb) == -1) {
		nr_errno("%s %s", what, path);
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size == 0) {
		nr_err("%s %s: not a regular, non-empty file", what, path);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)sb.st_size);
	if (buf == NULL) {
		nr_errno("%s %s", what, path);
		close(fd);
		return NULL;
	}
	while (got < (size_t)sb.st_size) {
		n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* shrank under us */
			nr_errno("%s %s", what, path);
			free(buf);
			close(fd);
			return NULL;
		}
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

/*
 * The TSC's frequency, measured against CLOCK_MONOTONIC_RAW over 50 ms:
 * the guest's TSC runs at the host's. Given to the kernel as tsc_early_khz
 * until nvmm-run presents it in CPUID, so that Linux neither calibrates
 * against a PIT nor gives up its TSC.
 */
static unsigned long tsc_khz(void)
{
	struct timespec a, b, nap = { 0, 50000000 };
	uint64_t t0, t1, ns;

	clock_gettime(CLOCK_MONOTONIC_RAW, &a);
	t0 = __rdtsc();
	nanosleep(&nap, NULL);
	clock_gettime(CLOCK_MONOTONIC_RAW, &b);
	t1 = __rdtsc();
	ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ULL +
	     (uint64_t)b.tv_nsec - (uint64_t)a.tv_nsec;
	return ns ? (unsigned long)((t1 - t0) * 1000000ULL / ns) : 0;
}

/* PVH's struct hvm_start_info (version 1) and its tables, in the zero page. */
#define PVH_MAGIC		0x336EC578U
#define PVH_MODLIST		(ZERO_PAGE + 0x100)	/* one module */
#define PVH_MEMMAP		(ZERO_PAGE + 0x200)	/* 24-byte entries */

static void pvh_start_info(uint8_t *ram, const struct nr_boot_addrs *a)
{
	uint8_t *si = ram + ZERO_PAGE, *e;
	unsigned int i;

	memset(si, 0, NR_ZERO_PAGE_SIZE);
	put32(si, PVH_MAGIC);
	put32(si + 4, 1);				/* version */
	put32(si + 12, a->initrd_len ? 1 : 0);		/* nr_modules */
	put64(si + 16, PVH_MODLIST);
	put64(si + 24, a->cmdline);
	put64(si + 32, a->rsdp);
	put64(si + 40, PVH_MEMMAP);
	put32(si + 48, a->e820_n);
	put64(ram + PVH_MODLIST, a->initrd);
	put64(ram + PVH_MODLIST + 8, a->initrd_len);
	for (i = 0; i < a->e820_n; i++) {
		e = ram + PVH_MEMMAP + 24 * i;
		put64(e, a->e820[i].addr);
		put64(e + 8, a->e820[i].size);
		put32(e + 16, a->e820[i].type);
	}
}

/* The command line as given, with what nvmm-run's machine needs. */
static int make_cmdline(char *cmdline, size_t size, const char *given,
			unsigned long khz)
{
	size_t clen;

	/*
	 * No PCI here: without pci=off, Linux's early quirks read every
	 * function of every bus through ports 0xCF8/0xCFC, about 260,000
	 * port exits, before it finds there is no PCI.
	 */
	snprintf(cmdline, size, "%s", given);
	clen = strlen(cmdline);
	if (!strstr(given, "tsc_early_khz="))
		clen += (size_t)snprintf(cmdline + clen, size - clen,
					 "%stsc_early_khz=%lu",
					 clen ? " " : "", khz);
	if (!strstr(given, "pci=") && clen < size)
		clen += (size_t)snprintf(cmdline + clen, size - clen,
					 "%spci=off", clen ? " " : "");
	if (clen >= size) {
		nr_err("the command line is too long");
		return -1;
	}
	return 0;
}

/*
 * A bzImage where it asks to be. Sets *kend (the end of what it needs)
 * and what the initrd and the command line may use.
 */
static int load_bzimage(struct nr_vm *vm, const char *kernel, uint8_t *img,
			size_t len, struct nr_bzimage *bz, uint64_t top,
			uint64_t *kend, uint64_t *rd_max, size_t *cmdline_max)
{
	const char *why = nr_bzimage_parse(img, len, bz);

	if (why != NULL) {
		nr_err("kernel %s: %s", kernel, why);
		return -1;
	}
	/* Where the kernel asks to be; it relocates itself from there. */
	*kend = bz->pref_address + bz->init_size;
	if (*kend > top) {
		nr_err("kernel %s needs RAM up to %" PRIu64 " MiB (init_size "
		       "%u from %#" PRIx64 "); --mem gives %zu MiB", kernel,
		       (*kend + nr_boot_size(vm->ram_size) + (1 << 20) - 1) >> 20,
		       bz->init_size, bz->pref_address, vm->ram_size >> 20);
		return -1;
	}
	memcpy(vm->ram + bz->pref_address, img + bz->setup_len,
	       bz->kernel_len);
	*rd_max = (uint64_t)bz->initrd_addr_max + 1;
	*cmdline_max = bz->cmdline_size;
	vm->entry = bz->pref_address + 0x200;	/* startup_64 */
	return 0;
}

int nr_linux_load(struct nr_vm *vm, const char *kernel, const char *initrd,
		  const char *given)
{
	char cmdline[CMDLINE_END - CMDLINE];
	unsigned long khz = tsc_khz();
	uint64_t top = vm->ram_size - nr_boot_size(vm->ram_size);
	uint64_t kend, rd = 0, rd_max = top;
	size_t len, rdlen = 0, clen, cmdline_max = sizeof(cmdline) - 1;
	const struct nr_acpi_mmio disk = {
		NR_DISK_BASE, NR_VIRTIO_MMIO_SIZE, NR_DISK_GSI,
	};
	uint8_t *img, *rdbuf = NULL;
	struct nr_e820 map[4];
	struct nr_boot_addrs a;
	struct nr_bzimage bz;
	int ret = -1;

	if (khz == 0) {
		nr_err("the TSC does not advance: no clock for a Linux guest");
		return -1;
	}
	vm->tsc_khz = khz;
	if (make_cmdline(cmdline, sizeof(cmdline), given, khz) == -1)
		return -1;
	clen = strlen(cmdline);

	img = read_file("kernel", kernel, &len);
	if (img == NULL)
		return -1;
	if (len >= 4 && !memcmp(img, "\177ELF", 4)) {
		/* A vmlinux: no decompressor, entered through PVH. */
		if (nr_elf_load_pvh(vm, kernel, top) == -1)
			goto out;
		vm->pvh = true;
		kend = vm->load_end;
	} else if (load_bzimage(vm, kernel, img, len, &bz, top, &kend,
				&rd_max, &cmdline_max) == -1) {
		goto out;
	}
	if (clen > cmdline_max) {
		nr_err("the command line is %zu bytes; this kernel takes %zu",
		       clen, cmdline_max);
		goto out;
	}

	if (initrd != NULL) {
		rdbuf = read_file("initrd", initrd, &rdlen);
		if (rdbuf == NULL)
			goto out;
		if (rd_max > top)
			rd_max = top;
		if (rdlen > rd_max - kend ||
		    ((rd_max - rdlen) & ~0xFFFULL) < kend) {
			nr_err("initrd %s (%zu MiB) does not fit between the "
			       "kernel and %#" PRIx64 ": give more --mem",
			       initrd, rdlen >> 20, rd_max);
			goto out;
		}
		rd = (rd_max - rdlen) & ~0xFFFULL;
		memcpy(vm->ram + rd, rdbuf, rdlen);
	}

	memcpy(vm->ram + CMDLINE, cmdline, clen + 1);
	if (nr_acpi_tables(vm->ram + ACPI, MPTABLE - ACPI, ACPI, vm->nvcpus,
			   (uint8_t)vm->nvcpus, &disk, vm->disk ? 1 : 0) == 0) {
		nr_err("%u VCPUs: the ACPI tables take %d at most", vm->nvcpus,
		       NR_ACPI_MAX_CPUS);
		goto out;
	}
	if (nr_mptable(vm->ram + MPTABLE, HIGH_RAM - MPTABLE, MPTABLE,
		       vm->nvcpus) == 0) {
		nr_err("%u VCPUs: the MP table takes %d at most", vm->nvcpus,
		       NR_MP_MAX_CPUS);
		goto out;
	}
	memcpy(vm->ram + RESET_VECTOR, reset_stub, sizeof(reset_stub));
	map[0] = (struct nr_e820){ 0, LOW_RAM_END, NR_E820_RAM };
	map[1] = (struct nr_e820){ LOW_RAM_END, HIGH_RAM - LOW_RAM_END,
				   NR_E820_RESERVED };
	map[2] = (struct nr_e820){ HIGH_RAM, top - HIGH_RAM, NR_E820_RAM };
	map[3] = (struct nr_e820){ top, vm->ram_size - top,
				   NR_E820_RESERVED };
	a = (struct nr_boot_addrs){
		.cmdline = CMDLINE,
		.initrd = rd,
		.initrd_len = rdlen,
		.e820 = map,
		.e820_n = 4,
		.rsdp = ACPI,
	};
	if (vm->pvh)
		pvh_start_info(vm->ram, &a);
	else
		nr_zero_page(vm->ram + ZERO_PAGE, img, &bz, &a);
	vm->zero_page = ZERO_PAGE;
	vm->linux_boot = true;
	if (vm->verbose)
		fprintf(stderr, "nvmm-run: Linux %s at %#" PRIx64 ", kernel "
			"end %#" PRIx64 ", initrd %zu bytes at %#" PRIx64 "\n",
			vm->pvh ? "vmlinux, PVH entry" : "bzImage, entry",
			vm->entry, kend, rdlen, rd);
	ret = 0;
out:
	free(rdbuf);
	free(img);
	return ret;
}
