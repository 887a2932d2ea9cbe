/* SPDX-License-Identifier: BSD-2-Clause */
/* Long mode: count in RAM forever; only the host can end this. */
#include "guest.h"
	.code64
	.text
start:
	incq	DATA_BASE
	jmp	start
