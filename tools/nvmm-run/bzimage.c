/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Linux x86 boot protocol, for a 64-bit entry: checking a bzImage's
 * setup header, and filling the zero page (struct boot_params) a kernel
 * entered at startup_64 reads. Pure functions on buffers, no guest and no
 * I/O: the unit tests run them on the build machine's own kernel.
 *
 * Offsets are those of Documentation/arch/x86/boot.rst and zero-page.rst.
 */
#include <string.h>

#include "bytes.h"
#include "bzimage.h"

/* The setup header's fields, as offsets in the image and the zero page. */
#define HDR_SETUP_SECTS		0x1F1	/* u8: 512-byte sectors, 0 = 4 */
#define HDR_BOOT_FLAG		0x1FE	/* u16 0xAA55 */
#define HDR_JUMP		0x200	/* u16: a short jump over the header */
#define HDR_MAGIC		0x202	/* "HdrS" */
#define HDR_VERSION		0x206	/* u16 */
#define HDR_TYPE_OF_LOADER	0x210	/* u8 */
#define HDR_LOADFLAGS		0x211	/* u8 */
#define HDR_RAMDISK_IMAGE	0x218	/* u32 */
#define HDR_RAMDISK_SIZE	0x21C	/* u32 */
#define HDR_CMD_LINE_PTR	0x228	/* u32 */
#define HDR_INITRD_ADDR_MAX	0x22C	/* u32 */
#define HDR_KERNEL_ALIGNMENT	0x230	/* u32 */
#define HDR_RELOCATABLE		0x234	/* u8 */
#define HDR_XLOADFLAGS		0x236	/* u16 */
#define HDR_CMDLINE_SIZE	0x238	/* u32 */
#define HDR_PREF_ADDRESS	0x258	/* u64 */
#define HDR_INIT_SIZE		0x260	/* u32 */
#define HDR_MIN_END		0x264	/* the fields above, version 2.12 on */

/* struct boot_params outside the setup header. */
#define ZP_ACPI_RSDP_ADDR	0x070	/* u64 */
#define ZP_EXT_RAMDISK_IMAGE	0x0C0	/* u32: bits 63:32 */
#define ZP_EXT_RAMDISK_SIZE	0x0C4
#define ZP_EXT_CMD_LINE_PTR	0x0C8
#define ZP_E820_ENTRIES		0x1E8	/* u8 */
#define ZP_E820_TABLE		0x2D0	/* 20-byte entries */
#define ZP_E820_MAX		128

#define HDRS_MAGIC		0x53726448U	/* "HdrS" */
#define LOADED_HIGH		0x01
#define XLF_KERNEL_64		0x0001
#define LOADER_UNDEFINED	0xFF	/* a boot loader without an ID */

static uint16_t get16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	return (uint32_t)get16(p, off) | (uint32_t)get16(p, off + 2) << 16;
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	return (uint64_t)get32(p, off) | (uint64_t)get32(p, off + 4) << 32;
}

const char *nr_bzimage_parse(const uint8_t *img, size_t len,
			     struct nr_bzimage *bz)
{
	unsigned int sects;

	memset(bz, 0, sizeof(*bz));
	if (len < HDR_MIN_END)
		return "too short for a Linux kernel";
	if (get16(img, HDR_BOOT_FLAG) != 0xAA55 ||
	    get32(img, HDR_MAGIC) != HDRS_MAGIC)
		return "not a Linux kernel image (no boot sector or setup "
		       "header)";
	bz->version = get16(img, HDR_VERSION);
	if (bz->version < 0x020C)
		return "boot protocol older than 2.12 (no 64-bit entry)";
	bz->header_end = (size_t)HDR_MAGIC + img[HDR_JUMP + 1];
	if (img[HDR_JUMP] != 0xEB || bz->header_end < HDR_MIN_END ||
	    bz->header_end > len)
		return "a corrupt setup header";
	if (!(img[HDR_LOADFLAGS] & LOADED_HIGH))
		return "a zImage (loaded low), not a bzImage";
	if (!(get16(img, HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return "not a 64-bit kernel (no 64-bit entry point)";
	sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	bz->setup_len = (size_t)(sects + 1) * 512;
	if (bz->setup_len >= len)
		return "truncated: no protected-mode kernel after the setup";
	bz->kernel_len = len - bz->setup_len;
	bz->pref_address = get64(img, HDR_PREF_ADDRESS);
	bz->init_size = get32(img, HDR_INIT_SIZE);
	bz->alignment = get32(img, HDR_KERNEL_ALIGNMENT);
	bz->relocatable = img[HDR_RELOCATABLE] != 0;
	bz->initrd_addr_max = get32(img, HDR_INITRD_ADDR_MAX);
	bz->cmdline_size = get32(img, HDR_CMDLINE_SIZE);
	if (bz->init_size < bz->kernel_len)
		return "a corrupt setup header (init_size below the kernel's "
		       "size)";
	if (bz->pref_address < 0x100000 || (bz->pref_address & 0xFFF))
		return "a corrupt setup header (pref_address)";
	return NULL;
}

void nr_zero_page(uint8_t *zp, const uint8_t *img,
		  const struct nr_bzimage *bz, const struct nr_boot_addrs *a)
{
	const struct nr_e820 *e;
	unsigned int i, n = a->e820_n;

	memset(zp, 0, NR_ZERO_PAGE_SIZE);
	memcpy(zp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS,
	       bz->header_end - HDR_SETUP_SECTS);
	zp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	put32(zp + HDR_CMD_LINE_PTR, (uint32_t)a->cmdline);
	put32(zp + ZP_EXT_CMD_LINE_PTR, (uint32_t)(a->cmdline >> 32));
	put32(zp + HDR_RAMDISK_IMAGE, (uint32_t)a->initrd);
	put32(zp + ZP_EXT_RAMDISK_IMAGE, (uint32_t)(a->initrd >> 32));
	put32(zp + HDR_RAMDISK_SIZE, (uint32_t)a->initrd_len);
	put32(zp + ZP_EXT_RAMDISK_SIZE, (uint32_t)(a->initrd_len >> 32));
	put64(zp + ZP_ACPI_RSDP_ADDR, a->rsdp);
	if (n > ZP_E820_MAX)
		n = ZP_E820_MAX;
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
	for (i = 0; i < n; i++) {
		e = &a->e820[i];
		put64(zp + ZP_E820_TABLE + 20 * i, e->addr);
		put64(zp + ZP_E820_TABLE + 20 * i + 8, e->size);
		put32(zp + ZP_E820_TABLE + 20 * i + 16, e->type);
	}
}
