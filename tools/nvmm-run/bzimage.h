/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bzimage.c: the Linux x86 boot protocol's image check and zero page.
 * No guest, no I/O: nvmm-run's Linux loader and the unit tests use it.
 */
#ifndef NR_BZIMAGE_H
#define NR_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NR_ZERO_PAGE_SIZE	4096
#define NR_E820_RAM		1
#define NR_E820_RESERVED	2

/* What nvmm-run needs from a bzImage's setup header. */
struct nr_bzimage {
	uint16_t version;		/* boot protocol, 0x020C = 2.12 */
	size_t header_end;		/* end of the setup header */
	size_t setup_len;		/* real-mode part: boot sector + setup */
	size_t kernel_len;		/* the protected-mode kernel after it */
	uint64_t pref_address;		/* where it prefers to be loaded */
	uint32_t init_size;		/* memory it needs from there */
	uint32_t alignment;		/* kernel_alignment */
	bool relocatable;
	uint32_t initrd_addr_max;	/* highest byte an initrd may use */
	uint32_t cmdline_size;		/* longest command line, no NUL */
};

struct nr_e820 {
	uint64_t addr, size;
	uint32_t type;			/* NR_E820_* */
};

/* Where the loader put things, for the zero page. */
struct nr_boot_addrs {
	uint64_t cmdline;
	uint64_t initrd, initrd_len;	/* 0, 0: none */
	const struct nr_e820 *e820;
	unsigned int e820_n;		/* at most 128 are passed */
	uint64_t rsdp;			/* the ACPI RSDP, 0: none */
};

/*
 * Check img (len bytes, a whole bzImage file) and describe it in *bz.
 * Returns NULL, or why it cannot be booted with the 64-bit protocol.
 */
const char *nr_bzimage_parse(const uint8_t *img, size_t len,
			     struct nr_bzimage *bz);

/* The zero page (NR_ZERO_PAGE_SIZE bytes) for a checked image. */
void nr_zero_page(uint8_t *zp, const uint8_t *img,
		  const struct nr_bzimage *bz, const struct nr_boot_addrs *a);

#endif /* NR_BZIMAGE_H */
