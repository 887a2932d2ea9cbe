/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The demo guest: kprintf() on the UART (%s %c %d %u %x %p, l and ll, #,
 * a width with 0 padding), and the string functions the compiler may call.
 */
#include "io.h"

void kputs(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

static void put_num(unsigned long long v, unsigned int base, int width,
		    char pad, int neg)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		buf[n++] = '-';
	while (width-- > n)
		uart_putc(pad);
	while (n)
		uart_putc(buf[--n]);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		int width = 0, lng = 0, alt = 0;
		char pad = ' ';
		unsigned long long u;
		long long d;

		if (*fmt != '%') {
			uart_putc(*fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '#')
				alt = 1;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 's':
			kputs(va_arg(ap, const char *));
			break;
		case 'c':
			uart_putc((char)va_arg(ap, int));
			break;
		case 'd':
			d = lng ? va_arg(ap, long long) : va_arg(ap, int);
			put_num(d < 0 ? -(unsigned long long)d :
				(unsigned long long)d, 10, width, pad, d < 0);
			break;
		case 'u':
		case 'x':
			u = lng ? va_arg(ap, unsigned long long) :
				  va_arg(ap, unsigned int);
			if (alt && *fmt == 'x')
				kputs("0x");
			put_num(u, *fmt == 'u' ? 10 : 16, width, pad, 0);
			break;
		case 'p':
			kputs("0x");
			put_num((uintptr_t)va_arg(ap, void *), 16, width, pad,
				0);
			break;
		case '%':
			uart_putc('%');
			break;
		default:
			uart_putc('?');
			if (*fmt == '\0')
				fmt--;
			break;
		}
	}
	va_end(ap);
}

void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;

	if (p < q)
		return memcpy(d, s, n);
	while (n--)
		p[n] = q[n];
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}
