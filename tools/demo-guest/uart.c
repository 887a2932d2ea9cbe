/* SPDX-License-Identifier: BSD-2-Clause */
/* The demo guest: a polled 16550 driver on COM1, 115200 8N1, no IRQs. */
#include "io.h"

#define COM1		0x3F8
#define THR		0	/* RBR on reads; DLL with DLAB */
#define IER		1	/* DLM with DLAB */
#define FCR		2
#define LCR		3
#define MCR		4
#define LSR		5
#define LSR_DR		0x01
#define LSR_THRE	0x20

void uart_init(void)
{
	outb(COM1 + IER, 0x00);		/* no interrupts */
	outb(COM1 + LCR, 0x80);		/* DLAB */
	outb(COM1 + THR, 0x01);		/* divisor 1: 115200 baud */
	outb(COM1 + IER, 0x00);
	outb(COM1 + LCR, 0x03);		/* 8N1 */
	outb(COM1 + FCR, 0xC7);		/* FIFOs on, cleared */
	outb(COM1 + MCR, 0x03);		/* DTR, RTS */
}

void uart_putc(char c)
{
	while (!(inb(COM1 + LSR) & LSR_THRE))
		cpu_relax();
	outb(COM1 + THR, (uint8_t)c);
}

int uart_getc(void)
{
	while (!(inb(COM1 + LSR) & LSR_DR))
		cpu_relax();
	return inb(COM1 + THR);
}
