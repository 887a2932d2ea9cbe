#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Inside an emulated host: loading and unloading nvmm.ko.
KO=/nvmm/nvmm.ko
HOLD="$(dirname "$0")/nvmm-hold"
KVMHOLD="$(dirname "$0")/kvm-hold"
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; echo "# $1: $2"; failed=1; }
loaded() { grep -q '^nvmm ' /proc/modules; }

# EFER.SVME (bit 12) on every CPU, through /dev/cpu/N/msr: "0" or "1".
svme_any() {
	for d in /dev/cpu/[0-9]*; do
		v=$(dd if="$d/msr" bs=8 count=1 skip=$((0xC0000080 / 8)) \
			2>/dev/null | od -An -tx8 | tr -d ' ')
		[ -n "$v" ] || { echo "?"; return; }
		[ $(( (0x$v >> 12) & 1 )) = 1 ] && { echo 1; return; }
	done
	echo 0
}

echo "TAP version 13"
echo "1..6"
loaded || insmod $KO

# 0: the emulated CPU offers what the lane is for.
want=svm
[ "${NVMM_LANE:-}" = vmx ] && want=vmx
if grep -qw "$want" /proc/cpuinfo; then
	ok "cpuinfo_shows_$want"
else
	not_ok "cpuinfo_shows_$want" "no '$want' flag in /proc/cpuinfo"
fi

# 1: a live machine keeps the module loaded.
"$HOLD" 2 3 >/tmp/hold.out 2>&1 &
holder=$!
i=0
while ! grep -q ready /tmp/hold.out 2>/dev/null && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
if ! grep -q ready /tmp/hold.out; then
	not_ok rmmod_refused_while_machine_exists "holder: $(cat /tmp/hold.out)"
elif rmmod nvmm 2>/dev/null || ! loaded; then
	not_ok rmmod_refused_while_machine_exists "rmmod succeeded"
	insmod $KO
else
	kill $holder; wait $holder 2>/dev/null
	if rmmod nvmm && ! loaded && [ ! -e /dev/nvmm ]; then
		ok rmmod_refused_while_machine_exists
	else
		not_ok rmmod_refused_while_machine_exists "rmmod failed after the holder exited"
	fi
	insmod $KO
fi
kill $holder 2>/dev/null; wait $holder 2>/dev/null

# 2: 50 unload/load cycles leave nothing behind. MemFree also moves with
# what earlier tests left to the kernel to reclaim: a leak shows as a loss
# in every batch, noise once. So: 5 cycles first, then 50; if MemFree lost
# more than 4 MiB, 50 more, which must lose less than 1 MiB. Free pages
# on the CPUs' own free lists are not in MemFree, and those lists swing by
# tens of MiB (20 MiB in one batch of 50 on svm, where MemFree plus them
# moved by 300 kB in 200 cycles): they are counted (/proc/zoneinfo).
case "$NVMM_LANE" in svm*) check_svme=1 ;; *) check_svme=0 ;; esac
memfree() {
	sync; echo 3 >/proc/sys/vm/drop_caches
	echo $(($(awk '/^MemFree:/ { print $2 }' /proc/meminfo) +
		$(awk '$1 == "count:" { s += $2 } END { print s * 4 }' \
			/proc/zoneinfo)))
}
cycles() {
	for i in $(seq 1 "$1"); do
		rmmod nvmm || { why="rmmod failed at cycle $i"; return; }
		[ -e /dev/nvmm ] && { why="/dev/nvmm left at cycle $i"; return; }
		[ -e /sys/kernel/debug/nvmm ] &&
			{ why="debugfs left at cycle $i"; return; }
		if [ $check_svme = 1 ] && [ "$(svme_any)" != 0 ]; then
			why="EFER.SVME still set after unload (cycle $i)"; return
		fi
		insmod $KO || { why="insmod failed at cycle $i"; return; }
		[ -c /dev/nvmm ] || { why="no /dev/nvmm at cycle $i"; return; }
		if [ $check_svme = 1 ] && [ "$(svme_any)" != 1 ]; then
			why="EFER.SVME not set after load (cycle $i)"; return
		fi
	done
}
why=""
cycles 5
free0=$(memfree)
[ -z "$why" ] && cycles 50
free1=$(memfree)
echo "# free (MemFree and the CPUs' lists) $free0 -> $free1 kB over 50 cycles"
if [ -z "$why" ] && [ $((free0 - free1)) -gt 4096 ]; then
	cycles 50
	free2=$(memfree)
	echo "# free $free1 -> $free2 kB over 50 more cycles"
	if [ -z "$why" ] && [ $((free1 - free2)) -gt 1024 ]; then
		why="free memory dropped by $((free0 - free1)) kB, then $((free1 - free2)) kB"
	fi
fi
if [ -z "$why" ]; then ok reload_50_times; else not_ok reload_50_times "$why"; fi
loaded || insmod $KO

# 3: a second load of the same module is refused, the first keeps working.
if insmod $KO 2>/dev/null; then
	not_ok second_insmod_refused "a second insmod succeeded"
elif [ -c /dev/nvmm ] && nvmmctl identify >/dev/null; then
	ok second_insmod_refused
else
	not_ok second_insmod_refused "nvmm no longer usable"
fi
# 4: KVM cannot take the CPU from a loaded nvmm.ko. Linux 6.1's KVM takes
# SVM/VMX when its first VM is created: that must fail (EBUSY), and nvmm
# keep working.
loaded || insmod $KO
if ! kvm-load >/tmp/kvm.out 2>&1; then
	not_ok kvm_vm_refused_while_loaded "kvm-load failed: $(tail -n 2 /tmp/kvm.out)"
else
	out=$("$KVMHOLD" try 2>&1)
	if [ "${out#refused: EBUSY}" = "$out" ]; then
		not_ok kvm_vm_refused_while_loaded "KVM_CREATE_VM: $out"
	elif ! nvmmctl identify >/dev/null; then
		not_ok kvm_vm_refused_while_loaded "nvmm no longer usable"
	else
		ok kvm_vm_refused_while_loaded
	fi
	kvm-unload || { echo "# kvm-unload failed"; failed=1; }
fi

# 5: nvmm.ko cannot take the CPU from a KVM VM: it refuses to load with one
# line naming the reason, and loads once the VM is gone.
rmmod nvmm
dmesg -c >/dev/null
if ! kvm-load >/tmp/kvm.out 2>&1; then
	not_ok refused_while_kvm_vm "kvm-load failed: $(tail -n 2 /tmp/kvm.out)"
else
	"$KVMHOLD" hold >/tmp/kvmhold.out 2>&1 &
	kholder=$!
	i=0
	while ! grep -q "ready\|refused\|no /dev" /tmp/kvmhold.out 2>/dev/null &&
	      [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
	if ! grep -q ready /tmp/kvmhold.out; then
		not_ok refused_while_kvm_vm "kvm-hold: $(cat /tmp/kvmhold.out)"
	elif insmod $KO 2>/dev/null || loaded; then
		not_ok refused_while_kvm_vm "insmod succeeded beside a KVM VM"
	elif ! dmesg | grep -q "nvmm: cannot load: .* is already in use on CPU"; then
		not_ok refused_while_kvm_vm "no refusal line: $(dmesg | grep nvmm | tail -n 2)"
	else
		echo "# $(dmesg | grep -m 1 'nvmm: cannot load')"
		ok refused_while_kvm_vm
	fi
	kill $kholder 2>/dev/null; wait $kholder 2>/dev/null
	kvm-unload || { echo "# kvm-unload failed"; failed=1; }
fi
loaded || insmod $KO || echo "# insmod after kvm-unload failed"
exit $failed
