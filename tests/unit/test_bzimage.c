/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-run's Linux boot protocol code (tools/nvmm-run/bzimage.c): the
 * check of a bzImage's setup header, on Debian's own kernel and on images
 * broken one field at a time, and the zero page it fills.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/nvmm-run/bzimage.h"
#include "ksft.h"

#define IMG_LEN		(64 * 1024)

static uint8_t img[IMG_LEN];

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	put16(p, off, (uint16_t)v);
	put16(p, off + 2, (uint16_t)(v >> 16));
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	return (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 |
	       (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
}

/* A minimal valid bzImage: protocol 2.15, 4 setup sectors, 64-bit. */
static void good_image(void)
{
	memset(img, 0, sizeof(img));
	img[0x1F1] = 4;				/* setup_sects */
	put16(img, 0x1FE, 0xAA55);		/* boot_flag */
	img[0x200] = 0xEB;			/* jmp over the header */
	img[0x201] = 0x6A;			/* header ends at 0x26C */
	put32(img, 0x202, 0x53726448);		/* "HdrS" */
	put16(img, 0x206, 0x020F);		/* version */
	img[0x211] = 0x01;			/* LOADED_HIGH */
	put32(img, 0x22C, 0x7FFFFFFF);		/* initrd_addr_max */
	put32(img, 0x230, 0x200000);		/* kernel_alignment */
	img[0x234] = 1;				/* relocatable */
	put16(img, 0x236, 0x0003);		/* XLF_KERNEL_64 | above 4G */
	put32(img, 0x238, 2047);		/* cmdline_size */
	put32(img, 0x258, 0x1000000);		/* pref_address */
	put32(img, 0x260, 0x100000);		/* init_size */
}

START_TEST(a_synthetic_image_parses)
{
	struct nr_bzimage bz;

	good_image();
	ck_assert_ptr_null(nr_bzimage_parse(img, sizeof(img), &bz));
	ck_assert_uint_eq(bz.version, 0x020F);
	ck_assert_uint_eq(bz.setup_len, 5 * 512);
	ck_assert_uint_eq(bz.kernel_len, sizeof(img) - 5 * 512);
	ck_assert_uint_eq(bz.header_end, 0x26C);
	ck_assert_uint_eq(bz.pref_address, 0x1000000);
	ck_assert_uint_eq(bz.init_size, 0x100000);
	ck_assert_uint_eq(bz.cmdline_size, 2047);
	ck_assert(bz.relocatable);
	/* setup_sects 0 means 4. */
	img[0x1F1] = 0;
	ck_assert_ptr_null(nr_bzimage_parse(img, sizeof(img), &bz));
	ck_assert_uint_eq(bz.setup_len, 5 * 512);
}
END_TEST

/* Each broken field is refused, with a reason naming it. */
START_TEST(broken_images_are_refused)
{
	static const struct {
		size_t off;
		uint8_t val;
		const char *why;
	} cases[] = {
		{ 0x1FE, 0x00, "not a Linux kernel" },	/* boot flag */
		{ 0x202, 'X', "not a Linux kernel" },	/* HdrS */
		{ 0x206, 0x0B, "older than 2.12" },	/* version 2.11 */
		{ 0x211, 0x00, "zImage" },		/* loadflags */
		{ 0x236, 0x02, "not a 64-bit kernel" },	/* xloadflags */
		{ 0x200, 0x90, "corrupt setup header" },	/* no jump */
		{ 0x201, 0x10, "corrupt setup header" },	/* short header */
		{ 0x1F1, 200, "truncated" },		/* setup > file */
		{ 0x262, 0x00, "init_size" },		/* 0x100000 -> 0 */
		{ 0x259, 0x01, "pref_address" },	/* unaligned */
	};
	struct nr_bzimage bz;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		good_image();
		img[cases[i].off] = cases[i].val;
		if (cases[i].off == 0x206)
			img[0x207] = 0x02;
		why = nr_bzimage_parse(img, sizeof(img), &bz);
		ck_assert_msg(why != NULL && strstr(why, cases[i].why),
			      "byte %#zx = %#x: got \"%s\", want \"%s\"",
			      cases[i].off, cases[i].val, why ? why : "(ok)",
			      cases[i].why);
	}
	good_image();
	why = nr_bzimage_parse(img, 0x200, &bz);
	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_nonnull(strstr(why, "too short"));
	why = nr_bzimage_parse(img, 0, &bz);
	ck_assert_ptr_nonnull(why);
	/* An ELF file, as the demo guest is. */
	memset(img, 0, sizeof(img));
	memcpy(img, "\177ELF\2\1\1", 7);
	ck_assert_ptr_nonnull(nr_bzimage_parse(img, sizeof(img), &bz));
}
END_TEST

/* Debian's own kernel: what `make demo` is to boot. */
START_TEST(the_hosts_kernel_parses)
{
	struct nr_bzimage bz;
	const char *why;
	glob_t g;
	uint8_t *buf;
	long len;
	FILE *f;

	if (glob("/boot/vmlinuz-*", 0, NULL, &g) != 0 || g.gl_pathc == 0)
		ksft_skip("no /boot/vmlinuz-* here");
	f = fopen(g.gl_pathv[0], "rb");
	if (f == NULL)
		ksft_skip("%s: not readable", g.gl_pathv[0]);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	ck_assert_int_gt(len, 1 << 20);
	rewind(f);
	buf = malloc((size_t)len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	why = nr_bzimage_parse(buf, (size_t)len, &bz);
	ck_assert_msg(why == NULL, "%s: %s", g.gl_pathv[0], why);
	ksft_print("%s: protocol %x.%02x, setup %zu, kernel %zu, init_size "
		   "%u, pref_address %#llx", g.gl_pathv[0], bz.version >> 8,
		   bz.version & 0xFF, bz.setup_len, bz.kernel_len,
		   bz.init_size, (unsigned long long)bz.pref_address);
	ck_assert_uint_ge(bz.version, 0x020C);
	ck_assert_uint_ge(bz.init_size, bz.kernel_len);
	ck_assert_uint_ge(bz.cmdline_size, 255);
	/* Cut anywhere in the setup, it is refused. */
	ck_assert_ptr_nonnull(nr_bzimage_parse(buf, bz.setup_len, &bz));
	free(buf);
	globfree(&g);
}
END_TEST

START_TEST(the_zero_page_has_what_the_loader_placed)
{
	static const struct nr_e820 map[] = {
		{ 0, 0x9FC00, NR_E820_RAM },
		{ 0x100000, 0x7F00000, NR_E820_RAM },
		{ 0x8000000, 0x10000, NR_E820_RESERVED },
	};
	struct nr_boot_addrs a = {
		.cmdline = 0x20000,
		.initrd = 0x123456000ULL,	/* above 4 GiB: ext_ fields */
		.initrd_len = 0x200000,
		.e820 = map,
		.e820_n = 3,
	};
	static uint8_t zp[NR_ZERO_PAGE_SIZE];
	struct nr_bzimage bz;

	good_image();
	ck_assert_ptr_null(nr_bzimage_parse(img, sizeof(img), &bz));
	memset(zp, 0xCC, sizeof(zp));
	nr_zero_page(zp, img, &bz, &a);
	/* The header is copied; the rest is zero but what we set. */
	ck_assert_uint_eq(get32(zp, 0x202), 0x53726448);
	ck_assert_uint_eq(zp[0x206], 0x0F);
	ck_assert_uint_eq(zp[0x210], 0xFF);		/* type_of_loader */
	ck_assert_uint_eq(get32(zp, 0x228), 0x20000);	/* cmd_line_ptr */
	ck_assert_uint_eq(get32(zp, 0x0C8), 0);
	ck_assert_uint_eq(get32(zp, 0x218), 0x23456000);
	ck_assert_uint_eq(get32(zp, 0x0C0), 0x1);
	ck_assert_uint_eq(get32(zp, 0x21C), 0x200000);
	ck_assert_uint_eq(zp[0x1E8], 3);
	ck_assert_uint_eq(get32(zp, 0x2D0 + 20 + 0), 0x100000);
	ck_assert_uint_eq(get32(zp, 0x2D0 + 20 + 8), 0x7F00000);
	ck_assert_uint_eq(get32(zp, 0x2D0 + 20 + 16), NR_E820_RAM);
	ck_assert_uint_eq(get32(zp, 0x2D0 + 40 + 16), NR_E820_RESERVED);
	ck_assert_uint_eq(zp[0x2D0 + 60], 0);		/* no 4th entry */
	ck_assert_uint_eq(zp[0x000], 0);
	ck_assert_uint_eq(zp[0x26C], 0);		/* past the header */
	ck_assert_uint_eq(zp[NR_ZERO_PAGE_SIZE - 1], 0);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(a_synthetic_image_parses),
		KSFT_TEST(broken_images_are_refused),
		KSFT_TEST(the_hosts_kernel_parses),
		KSFT_TEST(the_zero_page_has_what_the_loader_placed),
	};

	return ksft_run("bzimage", tests, sizeof(tests) / sizeof(tests[0]),
			30);
}
