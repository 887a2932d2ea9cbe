/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the benchmark's guest (vmbench_guest.S) and its two VMMs agree on:
 * items, ports and the guest-physical layout. Plain #defines: included by
 * the assembly too.
 */
#ifndef VMBENCH_DEFS_H
#define VMBENCH_DEFS_H

#define VMB_ITEM_IO		1
#define VMB_ITEM_CPUID		2
#define VMB_ITEM_TOUCH		3
#define VMB_ITEM_SETUP		4	/* the first instruction OUTs */
#define VMB_SETUP_DONE		0x5E7
#define VMB_SETUP_SIZE		(64 << 20)	/* RAM of the setup item */

#define VMB_PORT_IO		0x10	/* the measured OUTs */
#define VMB_PORT_DONE		0x11	/* one OUT of a check value at the end */
#define VMB_DONE_BAD		0xBAD0BAD0

/* Guest-physical layout of the base RAM (VMB_RAM_SIZE at GPA 0). */
#define VMB_RAM_SIZE		0x200000	/* 2 MiB */
#define VMB_CODE		0x1000		/* entry point */
#define VMB_STACK		0x8000		/* initial RSP */
#define VMB_PML4		0x10000		/* PML4, PDPT, 4 PDs */
#define VMB_GDT			0x16000
#define VMB_PT_MAPPED		0x100000000	/* identity, 2 MiB pages */

/* The fresh region the touch item writes to. */
#define VMB_TOUCH_GPA		0x40000000	/* 1 GiB */
#define VMB_TOUCH_SIZE		(64 << 20)

/* The GDT: 0x08 64-bit code, 0x10 data. */
#define VMB_SEL_CODE		0x08
#define VMB_SEL_DATA		0x10

/* Control registers of the long mode both VMMs set. */
#define VMB_CR0			0x80010033	/* PG WP NE ET MP PE */
#define VMB_CR4			0x00000620	/* OSXMMEXCPT OSFXSR PAE */
#define VMB_EFER		0x00000500	/* LMA LME */

#endif /* VMBENCH_DEFS_H */
