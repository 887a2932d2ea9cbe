/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Loading a Linux bzImage (and an initramfs) into guest RAM for the
 * 64-bit boot protocol: the protected-mode kernel at its preferred
 * address, the command line and the zero page low, the initramfs as high
 * as the kernel allows below nvmm-run's boot area, and an e820 map of RAM.
 * paging.c then enters the kernel at startup_64 with RSI = the zero page.
 *
 * Guest-physical layout (below 1 MiB as a PC has it):
 *   0x07000  zero page          0x20000  command line
 *   0x9FC00-0xFFFFF reserved: the ACPI tables (acpi.c) at 0xE0000, the MP
 *                   table (mptable.c) at 0xF0000, for a kernel without ACPI,
 *                   a reset at the reset vector (0xFFFF0)
 *   pref_address (16 MiB)  the kernel
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
#include "bzimage.h"
#include "mptable.h"
#include "nvmm-run.h"

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

int nr_linux_load(struct nr_vm *vm, const char *kernel, const char *initrd,
		  const char *given)
{
	char cmdline[CMDLINE_END - CMDLINE];
	unsigned long khz = tsc_khz();

	uint64_t top = vm->ram_size - nr_boot_size(vm->ram_size);
	uint64_t kend, rd = 0, rd_max;
	struct nr_e820 map[4];
	struct nr_boot_addrs a;
	struct nr_bzimage bz;
	uint8_t *img, *rdbuf = NULL;
	size_t len, rdlen = 0, clen;
	const char *why;
	int ret = -1;

	if (khz == 0) {
		nr_err("the TSC does not advance: no clock for a Linux guest");
		return -1;
	}
	vm->tsc_khz = khz;
	if (!strstr(given, "tsc_early_khz="))
		snprintf(cmdline, sizeof(cmdline), "%s%stsc_early_khz=%lu",
			 given, *given ? " " : "", khz);
	else
		snprintf(cmdline, sizeof(cmdline), "%s", given);
	clen = strlen(cmdline);

	img = read_file("kernel", kernel, &len);
	if (img == NULL)
		return -1;
	why = nr_bzimage_parse(img, len, &bz);
	if (why != NULL) {
		nr_err("kernel %s: %s", kernel, why);
		goto out;
	}
	if (clen > bz.cmdline_size || CMDLINE + clen + 1 > CMDLINE_END) {
		nr_err("the command line is %zu bytes; this kernel takes %u",
		       clen, bz.cmdline_size);
		goto out;
	}
	/* Where the kernel asks to be; it relocates itself from there. */
	kend = bz.pref_address + bz.init_size;
	if (kend > top) {
		nr_err("kernel %s needs RAM up to %" PRIu64 " MiB (init_size "
		       "%u from %#" PRIx64 "); --mem gives %zu MiB", kernel,
		       (kend + nr_boot_size(vm->ram_size) + (1 << 20) - 1) >> 20,
		       bz.init_size, bz.pref_address, vm->ram_size >> 20);
		goto out;
	}
	memcpy(vm->ram + bz.pref_address, img + bz.setup_len, bz.kernel_len);

	if (initrd != NULL) {
		rdbuf = read_file("initrd", initrd, &rdlen);
		if (rdbuf == NULL)
			goto out;
		rd_max = (uint64_t)bz.initrd_addr_max + 1;
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
			   (uint8_t)vm->nvcpus) == 0 ||
	    nr_mptable(vm->ram + MPTABLE, HIGH_RAM - MPTABLE, MPTABLE,
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
	nr_zero_page(vm->ram + ZERO_PAGE, img, &bz, &a);
	vm->entry = bz.pref_address + 0x200;	/* startup_64 */
	vm->zero_page = ZERO_PAGE;
	vm->linux_boot = true;
	if (vm->verbose)
		fprintf(stderr, "nvmm-run: Linux boot protocol %x.%02x, kernel "
			"%zu bytes at %#" PRIx64 " (init_size %u), initrd %zu "
			"bytes at %#" PRIx64 "\n", bz.version >> 8,
			bz.version & 0xFF, bz.kernel_len, bz.pref_address,
			bz.init_size, rdlen, rd);
	ret = 0;
out:
	free(rdbuf);
	free(img);
	return ret;
}
