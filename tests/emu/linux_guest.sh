#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Inside an emulated host: nvmm-run boots the QEMU boot test's guest
# (tests/qemu/make-guest, added as /add/guest) with a virtio disk, on 1
# VCPU and, when this host has two CPUs, on 2. Its kernel finds the disk
# in nvmm-run's DSDT (virtio_mmio, virtio_blk from the initramfs); its
# /init (tests/qemu/guest-init) checks the disk's payload, counts its
# boots on the disk, reboots the first time and powers off the next.
# Each VCPU count runs nvmm-run twice on one copy of the disk: the second
# boot must see the first one's count (a write that survived the reboot),
# and end with status 0 (ACPI power-off) after status 4 (reset).
#
# usage: linux_guest.sh [vmlinuz|vmlinux [VCPU-COUNTS]]
#   the kernel file: vmlinux is entered through PVH, without the
#   decompressor (a minute less on Bochs); VCPU counts default to "1 2"
#   with two host CPUs, "1" with one
run=/nvmm/bin/nvmm-run
g=/add/guest
kernel=${1:-vmlinuz}
cpus=$(grep -c '^processor' /proc/cpuinfo)
vcpus=1
[ "$cpus" -ge 2 ] && vcpus="1 2"
[ -n "${2:-}" ] && vcpus=$2
echo "TAP version 13"
if [ ! -f "$g/$kernel" ] || [ ! -f $g/disk.img ]; then
	echo "1..0 # SKIP no guest in $g (tests/qemu/make-guest)"
	exit 4
fi
echo "1..$(echo "$vcpus" | wc -w)"
n=0

# guest_ok V: both boots with V VCPUs went as they should.
guest_ok() {
	tr -d '\r' <"/tmp/g${1}1.out" >/tmp/o1
	tr -d '\r' <"/tmp/g${1}2.out" >/tmp/o2
	grep -q -a "^NVMM-GUEST-UP boot=1 cpus=$1 " /tmp/o1 &&
		grep -q -a '^NVMM-GUEST-DISK ok' /tmp/o1 &&
		grep -q -a '^NVMM-GUEST-REBOOT' /tmp/o1 &&
		[ "$(cat "/tmp/g${1}1.rc")" = 4 ] &&
		grep -q -a "^NVMM-GUEST-UP boot=2 cpus=$1 " /tmp/o2 &&
		grep -q -a '^NVMM-GUEST-DISK ok' /tmp/o2 &&
		grep -q -a '^NVMM-GUEST-POWEROFF' /tmp/o2 &&
		[ "$(cat "/tmp/g${1}2.rc")" = 0 ] &&
		! grep -q -a '^NVMM-GUEST-KERNEL' /tmp/o1 /tmp/o2
}

for v in $vcpus; do
	cp $g/disk.img /tmp/disk.img
	for b in 1 2; do
		w=/tmp/g$v$b
		t0=$(cut -d' ' -f1 /proc/uptime)
		timeout 600 "$run" --mem 256 --vcpus "$v" --kernel "$g/$kernel" \
			--initrd $g/initrd.gz --disk /tmp/disk.img \
			--append "$(cat $g/cmdline)" \
			</dev/null >"$w.out" 2>"$w.err"
		echo $? >"$w.rc"
		t1=$(cut -d' ' -f1 /proc/uptime)
		tr -d '\r' <"$w.out" | grep -a '^NVMM-GUEST' |
			sed "s/^/# guest ($v VCPUs, boot $b): /"
		echo "# nvmm-run: status $(cat "$w.rc")," \
			"$(awk "BEGIN { print $t1 - $t0 }") s"
		tail -n 2 "$w.err" | sed 's/^/# /'
	done
	n=$((n + 1))
	if guest_ok "$v"; then
		echo "ok $n linux_${kernel}_${v}_vcpus_disk_reboot_poweroff"
	else
		echo "not ok $n linux_${kernel}_${v}_vcpus_disk_reboot_poweroff"
		tr -d '\r' <"/tmp/g${v}1.out" | tail -n 15 | sed 's/^/# boot 1: /'
		tr -d '\r' <"/tmp/g${v}2.out" | tail -n 15 | sed 's/^/# boot 2: /'
	fi
done
