#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Inside an emulated host: nvmm-run boots a Linux kernel (the build
# machine's own, added to this boot as /add/vmlinuz-*) with a busybox
# initramfs made here, to its /init, which prints what it sees and powers
# off. What is checked comes from Linux, not from us: its console on
# nvmm-run's UART (interrupt-driven once the tty is open) shows our
# command line, e820 map and ACPI tables (the serial port found in the
# DSDT, with its IRQ), the TSC-deadline timer it found in CPUID, and the
# init's output; nvmm-run ends with status 0 when the guest powers off
# through ACPI. A shell on the serial port runs what nvmm-run's
# stdin types, and reboot -f ends nvmm-run with status 4. Bad kernels,
# too little or too much memory and bad disks get one message and a
# non-zero status. (linux_guest.sh: a virtio disk, SMP.)
run=/nvmm/bin/nvmm-run
k=
for f in /add/vmlinuz-*; do [ -f "$f" ] && k=$f; done
echo "TAP version 13"
if [ -z "$k" ]; then
	echo "1..0 # SKIP no kernel image added (/boot/vmlinuz-* unreadable?)"
	exit 4
fi
echo "1..13"
n=0
check() {	# check NAME COMMAND...: one TAP line
	n=$((n + 1))
	name=$1
	shift
	if "$@"; then echo "ok $n $name"; else echo "not ok $n $name"; fi
}

# The initramfs: busybox and an /init that reports, then powers off.
ir=/tmp/lb-initramfs
mkdir -p $ir/bin $ir/proc $ir/sys $ir/dev
cp /bin/busybox $ir/bin/busybox
cat >$ir/init <<'EOI'
#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
echo "LB-INIT-UP"
$B uname -a
echo "LB-VCPUS $($B grep -c ^processor /proc/cpuinfo)"
echo "LB-CLOCK $($B cat /sys/devices/system/clockevents/clockevent0/current_device)"
echo "LB-DATE $($B date -u +%Y-%m-%d)"
$B poweroff -f
EOI
chmod +x $ir/init
# rdinit=/shell: a shell on the console, fed from nvmm-run's stdin.
cat >$ir/shell <<'EOI'
#!/bin/busybox sh
exec /bin/busybox sh
EOI
chmod +x $ir/shell
(cd $ir && find . | cpio -o -H newc >/tmp/lb.cpio 2>/dev/null)

# 128 MiB: the boot area (8 pages) at the top is reserved.
timeout 300 "$run" --mem 128 --kernel "$k" --initrd /tmp/lb.cpio \
	--append "console=ttyS0 earlyprintk=serial,ttyS0,115200 lb=nvmm" \
	</dev/null >/tmp/lb.out 2>/tmp/lb.err
rc=$?
# The guest's lines without their timestamps: this host's runner looks for
# kernel problems in stamped lines, and these are the guest's.
tr -d '\r' </tmp/lb.out | sed 's/^\[ *[0-9]*\.[0-9]*\] //' >/tmp/lb.txt
grep -a -E 'Command line|e820|ACPI: [A-Z]{4} |ttyS0 at|TSC deadline|clocksource: Switched|Run /init|LB-|Linux \(none\)|Power down|panic' \
	/tmp/lb.txt | sed 's/^/# guest: /' | head -n 30
echo "# nvmm-run: status $rc"
tail -n 3 /tmp/lb.err | sed 's/^/# /'
check command_line grep -q -a "Command line: .* lb=nvmm tsc_early_khz=[0-9]* pci=off" \
	/tmp/lb.txt
check e820_as_given sh -c \
	"grep -q -a 'BIOS-e820: \[mem 0x0000000000000000-0x000000000009fbff\] usable' /tmp/lb.txt &&
	 grep -q -a 'BIOS-e820: \[mem 0x0000000000100000-0x0000000007ff7fff\] usable' /tmp/lb.txt &&
	 grep -q -a 'BIOS-e820: \[mem 0x0000000007ff8000-0x0000000007ffffff\] reserved' /tmp/lb.txt"
check acpi_tables_found sh -c "
	grep -q -a 'ACPI: RSDP 0x00000000000E0000 000024 (v02 NVMM  )' /tmp/lb.txt &&
	grep -q -a 'ACPI: FACP 0x.* (v06 NVMM   NVMM-RUN' /tmp/lb.txt &&
	grep -q -a 'ACPI: DSDT 0x.* (v02 NVMM   NVMM-RUN' /tmp/lb.txt &&
	grep -q -a 'ACPI: APIC 0x.* (v04 NVMM   NVMM-RUN' /tmp/lb.txt &&
	grep -q -a '00:00: ttyS0 at I/O 0x3f8 (irq = [0-9]*, .*) is a 16550A' /tmp/lb.txt"
check tsc_deadline_timer grep -q -a 'TSC deadline timer available' \
	/tmp/lb.txt
check init_ran sh -c "grep -q -a '^LB-INIT-UP' /tmp/lb.txt &&
	grep -q -a '^Linux (none) .* x86_64' /tmp/lb.txt &&
	grep -q -a '^LB-VCPUS 1' /tmp/lb.txt &&
	grep -q -a '^LB-CLOCK lapic-deadline' /tmp/lb.txt"
# Ports without a device: a few probes, not a calibration loop polling
# a PIT or a CMOS clock that is not there (213,000 before pit.c, rtc.c).
check few_ports_without_device sh -c "
	n=\$(sed -n 's/^nvmm-run: \([0-9]*\) access(es) to ports without.*/\1/p' /tmp/lb.err)
	[ \"\${n:-0}\" -lt 1000 ]"
# The guest's date from nvmm-run's CMOS clock, the host's (in UTC).
check rtc_date sh -c "grep -q -a \"^LB-DATE \$(date -u +%Y-%m-%d)\" /tmp/lb.txt"
check acpi_power_off_status_0 sh -c "[ $rc = 0 ] &&
	grep -q -a 'reboot: Power down' /tmp/lb.txt &&
	grep -q 'the guest powers off' /tmp/lb.err &&
	! grep -q -a 'Kernel panic' /tmp/lb.txt"

# The serial port as a terminal: input through the UART's receive
# interrupt, a command's output back, and reboot -f as a reset (status 4).
# The newlines first: the 8250 driver reads a few bytes as it probes.
{
	printf '\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n'
	# shellcheck disable=SC2016 # the guest's shell expands it
	printf 'echo LB-SHELL $((6 * 7))\n'
	printf '/bin/busybox reboot -f\n'
} | timeout 300 "$run" --mem 128 --kernel "$k" --initrd /tmp/lb.cpio \
	--append "console=ttyS0 rdinit=/shell quiet" >/tmp/sh.out 2>/tmp/sh.err
rs=$?
tr -d '\r' </tmp/sh.out | grep -a 'LB-SHELL' | sed 's/^/# guest: /'
echo "# nvmm-run: status $rs"
tail -n 2 /tmp/sh.err | sed 's/^/# /'
check shell_on_the_serial_port sh -c "tr -d '\r' </tmp/sh.out |
	grep -q -a '^LB-SHELL 42'"
check reboot_is_status_4 sh -c "[ $rs = 4 ] &&
	grep -q 'the guest resets the machine' /tmp/sh.err"

head -c 4096 "$k" >/tmp/short
"$run" --kernel /tmp/short </dev/null >/dev/null 2>/tmp/e1
r1=$?
"$run" --kernel /nvmm/bin/demo-guest.elf </dev/null >/dev/null 2>/tmp/e2
r2=$?
sed 's/^/# /' /tmp/e1 /tmp/e2
check bad_kernels_refused sh -c "[ $r1 = 1 ] && [ $r2 = 1 ] &&
	grep -q 'truncated' /tmp/e1 && grep -q 'without a PVH entry point' /tmp/e2"
"$run" --mem 32 --kernel "$k" </dev/null >/dev/null 2>/tmp/e3
r3=$?
sed 's/^/# /' /tmp/e3
check too_little_memory sh -c "[ $r3 = 1 ] && grep -q 'needs RAM up to' /tmp/e3"
"$run" --kernel "$k" --mem 4096 </dev/null >/dev/null 2>/tmp/e4
r4=$?
echo x >/tmp/tiny
"$run" --kernel "$k" --disk /tmp/tiny </dev/null >/dev/null 2>/tmp/e5
r5=$?
"$run" --kernel "$k" --disk /nonexistent </dev/null >/dev/null 2>/tmp/e6
r6=$?
sed 's/^/# /' /tmp/e4 /tmp/e5 /tmp/e6
check bad_memory_and_disks_refused sh -c "[ $r4 = 2 ] && [ $r5 = 1 ] &&
	[ $r6 = 1 ] && grep -q 'gets 3072 MiB at most' /tmp/e4 &&
	grep -q 'not a regular file of one sector' /tmp/e5 &&
	grep -q 'No such file' /tmp/e6"
