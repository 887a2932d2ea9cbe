/* SPDX-License-Identifier: BSD-2-Clause */
/* Long mode: stop at once (state round trips). */
	.code64
	.text
start:
	hlt
	hlt
