#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Inside an emulated host whose CPU has neither SVM nor VMX: nvmm.ko must
# refuse to load, with one clear kernel log line naming the reason.
INSMOD="$(dirname "$0")/insmod-once"
echo "TAP version 13"
echo "1..2"
"$INSMOD" /nvmm/nvmm.ko >/tmp/insmod.err 2>&1
status=$?
if [ $status = 0 ]; then
	echo "not ok 1 insmod_refused"
	echo "# the module loaded on a CPU without SVM/VMX"
	rmmod nvmm
	rc=1
elif [ $status = 1 ] && grep -q "No such device" /tmp/insmod.err; then
	echo "ok 1 insmod_refused"
	echo "# $(cat /tmp/insmod.err)"
	rc=0
else
	echo "not ok 1 insmod_refused"
	echo "# expected ENODEV from finit_module, got status $status: $(cat /tmp/insmod.err)"
	rc=1
fi
# Our lines only: the kernel's own taint notices carry the module name too.
dmesg | grep 'nvmm: ' | grep -v -e 'module verification failed' \
	-e 'out-of-tree module' >/tmp/nvmm.log
lines=$(wc -l </tmp/nvmm.log)
sed 's/^/# dmesg: /' /tmp/nvmm.log
if [ "$lines" = 1 ] && grep -q 'cannot load: .*SVM' /tmp/nvmm.log; then
	echo "ok 2 one_clear_log_line"
else
	echo "not ok 2 one_clear_log_line"
	echo "# expected exactly one 'nvmm: cannot load: ...SVM...' line, got $lines"
	rc=1
fi
exit $rc
