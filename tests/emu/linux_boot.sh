#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Inside an emulated host: nvmm-run loads a Linux bzImage (the build
# machine's own kernel, added to this boot as /add/vmlinuz-*) for its 64-bit
# boot protocol, and Linux reads what nvmm-run gave it: its early console
# on nvmm-run's UART shows the banner, the command line, the e820 map and
# the MP table it found.
# nvmm-run has no PIT, APIC or firmware tables yet: the kernel gives up
# calibrating its TSC against PIT channel 2, sets up its memory, and reads
# its local APIC's ID, where nvmm-run stops with a message and status 1.
# Bad kernels and too little memory get one message and status 1.
run=/nvmm/bin/nvmm-run
k=
for f in /add/vmlinuz-*; do [ -f "$f" ] && k=$f; done
echo "TAP version 13"
if [ -z "$k" ]; then
	echo "1..0 # SKIP no kernel image added (/boot/vmlinuz-* unreadable?)"
	exit 4
fi
echo "1..7"
n=0
check() {	# check NAME COMMAND...: one TAP line
	n=$((n + 1))
	name=$1
	shift
	if "$@"; then echo "ok $n $name"; else echo "not ok $n $name"; fi
}

# 128 MiB: the boot area (8 pages) at the top is reserved.
timeout 120 "$run" --mem 128 --kernel "$k" \
	--append "console=ttyS0 earlyprintk=serial,ttyS0,115200 lb=nvmm" \
	</dev/null >/tmp/lb.out 2>/tmp/lb.err
rc=$?
tr -d '\r' </tmp/lb.out >/tmp/lb.txt
grep -a -E 'Linux version|Command line|e820|MP-table|MPTABLE' /tmp/lb.txt |
	sed 's/^/# /' | head -n 16
echo "# nvmm-run: status $rc; its last console lines and messages:"
tail -n 3 /tmp/lb.txt | sed 's/^/# /'
tail -n 3 /tmp/lb.err | sed 's/^/# /'
check banner grep -q -a "Linux version" /tmp/lb.txt
check command_line grep -q -a "Command line: .* lb=nvmm" /tmp/lb.txt
check mp_table_found sh -c \
	"grep -q -a 'found SMP MP-table at \[mem 0x000f0000-0x000f000f\]' /tmp/lb.txt"
check e820_as_given sh -c \
	"grep -q -a 'BIOS-e820: \[mem 0x0000000000000000-0x000000000009fbff\] usable' /tmp/lb.txt &&
	 grep -q -a 'BIOS-e820: \[mem 0x0000000000100000-0x0000000007ff7fff\] usable' /tmp/lb.txt &&
	 grep -q -a 'BIOS-e820: \[mem 0x0000000007ff8000-0x0000000007ffffff\] reserved' /tmp/lb.txt"
check stops_at_the_local_apic sh -c "[ $rc = 1 ] &&
	grep -q 'guest-physical 0xfee00020: no RAM and no device' /tmp/lb.err"

head -c 4096 "$k" >/tmp/short
"$run" --kernel /tmp/short </dev/null >/dev/null 2>/tmp/e1
r1=$?
"$run" --kernel /nvmm/bin/demo-guest.elf </dev/null >/dev/null 2>/tmp/e2
r2=$?
sed 's/^/# /' /tmp/e1 /tmp/e2
check bad_kernels_refused sh -c "[ $r1 = 1 ] && [ $r2 = 1 ] &&
	grep -q 'truncated' /tmp/e1 && grep -q 'not a Linux kernel' /tmp/e2"
"$run" --mem 32 --kernel "$k" </dev/null >/dev/null 2>/tmp/e3
r3=$?
sed 's/^/# /' /tmp/e3
check too_little_memory sh -c "[ $r3 = 1 ] && grep -q 'needs RAM up to' /tmp/e3"
