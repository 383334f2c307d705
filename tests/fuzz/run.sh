#!/bin/bash
# make fuzz: runs each fuzzer from its corpus, then measures the coverage
# of its targets with the coverage build. Findings (crash-*, timeout-*,
# oom-* files) fail the run; fix them and keep each as a regression seed
# under tests/fuzz/corpus/NAME/.
#
# Usage: tests/fuzz/run.sh [SECONDS] [FUZZER...]   (default 60, every fuzzer)
#   FUZZ_RUNS=N    stop each fuzzer after N executions instead (-runs)
#   FUZZ_JOBS=N    N fuzzing processes per fuzzer sharing one corpus
# Work (the growing corpus, logs, findings): build/fuzz/run-NAME/.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=${PYTHON:-/usr/bin/python3}
secs=${1:-60}
shift || true
fuzzers=("$@")
[ ${#fuzzers[@]} -gt 0 ] || fuzzers=(qmp devices)
export FUZZ_QMP_KERNEL=$ROOT/build/tests/guests/idle.elf

# The files whose coverage each fuzzer is judged by (coverage.py also
# takes FILE:REGEX, the functions of FILE whose names match).
declare -A targets=(
	[qmp]="vmm/qmp.c vmm/qmp_request.c vmm/qmp_cmds.c vmm/qmp_schema.c vmm/hotplug.c:^(hotplug_(add|remove|remove_cancel|events|ost_info)|plug|on_) devices/memhp.c vmm/dimm.c vmm/backing.c"
	[devices]="devices/memhp.c devices/acpi_pm.c devices/serial.c devices/bus.c devices/i8042.c"
)
declare -A opts=(
	[qmp]="-max_len=1024 -dict=$ROOT/tests/fuzz/qmp.dict"
	[devices]="-max_len=1024"
)

status=0
for f in "${fuzzers[@]}"; do
	run=$ROOT/build/fuzz/run-$f
	mkdir -p "$run/corpus"
	rm -f "$run"/fuzz-*.log
	echo "=== fuzz_$f: ${FUZZ_RUNS:-$secs s} (log: $run/log)"
	jobs=()
	# -jobs, even -jobs=1, runs the fuzzer in child processes.
	[ "${FUZZ_JOBS:-1}" -gt 1 ] && jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
	# shellcheck disable=SC2086
	(cd "$run" && "$ROOT/build/fuzz/fuzz_$f" ${opts[$f]} \
		-max_total_time="$secs" -runs="${FUZZ_RUNS:--1}" "${jobs[@]}" \
		-print_final_stats=1 -artifact_prefix="$run/" \
		corpus "$ROOT/tests/fuzz/corpus/$f" >"$run/log" 2>&1)
	rc=$?
	# With -jobs each job logs to fuzz-N.log, which libFuzzer copies into
	# its own output (the log) when the job ends.
	awk '/stat::number_of_executed_units/ { n += $2 }
	     /stat::average_exec_per_sec/ { r += $2 }
	     END { printf "executions: %d (%d per second)\n", n, r }' "$run/log"
	found=$(ls "$run"/crash-* "$run"/timeout-* "$run"/oom-* "$run"/leak-* 2>/dev/null)
	# 130: interrupted (Ctrl-C), not a finding.
	if { [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ]; } || [ -n "$found" ]; then
		echo "fuzz_$f: FINDINGS (exit status $rc):"
		grep -m5 -E "ERROR|invariant|SUMMARY" "$run/log"
		echo "${found:-see $run/log}"
		echo "reproduce: (cd $run && $ROOT/build/fuzz/fuzz_$f FILE)"
		status=1
	fi
	rm -f "$run"/cov.profraw
	(cd "$run" && LLVM_PROFILE_FILE=$run/cov.profraw \
		"$ROOT/build/fuzz-cov/fuzz_$f" -runs=0 corpus \
		"$ROOT/tests/fuzz/corpus/$f" >"$run/cov.log" 2>&1)
	llvm-profdata-14 merge -o "$run/cov.profdata" "$run/cov.profraw" &&
		(cd "$ROOT" && "$PY" tests/fuzz/coverage.py \
			"build/fuzz-cov/fuzz_$f" "$run/cov.profdata" ${targets[$f]})
done
exit $status
