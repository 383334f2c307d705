# memplug: the only build system. `make help` lists the targets.
CC ?= cc
PYTHON ?= /usr/bin/python3
# CFLAGS is the caller's (optimization, sanitizers: `make B=build/tsan
# CC=clang CFLAGS="-O1 -g -fsanitize=thread"`); the language and warnings
# are fixed.
CFLAGS ?= -O2 -g
MP_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I. -pthread -MMD -MP
LDLIBS += -pthread -ljansson -lseccomp -llzma -lzstd -lz -llz4

B := build
# Layers, each using only the ones below it: lib/ (libmplib.a: logging,
# sizes), then acpi/, devices/, firmware/, then vmm/ (libmemplug.a with
# them). The guest-visible constants are in include/memplug/.
MPLIB_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(wildcard lib/*.c))
LIB_SRCS := $(wildcard acpi/*.c devices/*.c firmware/*.c) \
	$(filter-out vmm/main.c,$(wildcard vmm/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
CTL_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(wildcard ctl/*.c)) \
	$(B)/obj/acpi/ost.o
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(B)/tests/%)
TEST_GUESTS := $(patsubst tests/guests/%.S,$(B)/tests/guests/%.elf,$(wildcard tests/guests/*.S))

.PHONY: all help deps guest guests check check-pvm unit run bench soak clean
# Keep the objects of the test binaries; make would delete them as intermediates.
.SECONDARY:
all: $(B)/memplug $(B)/memplugctl $(TEST_BINS) $(TEST_GUESTS)
guests: $(TEST_GUESTS)

help:
	@echo "make            build build/memplug, build/memplugctl and the unit tests"
	@echo "make deps       install what is missing (Debian packages, guest kernel)"
	@echo "make guest      build the test guest kernel into build/guest/ (cached)"
	@echo "make run        build everything and boot the demo guest"
	@echo "make check      host tests, guest tests on a real KVM (scripts/kvm-run), PVM smoke set"
	@echo "                (closing line: N passed, M failed; MEMPLUG_KVM=auto|direct|nested)"
	@echo "make check-pvm  every guest test directly on the PVM software KVM"
	@echo "make unit       unit and ACPI table tests only (no KVM, no guest kernel)"
	@echo "make bench      benchmarks against QEMU (and kvmtool with LKVM=path); the"
	@echo "                real-KVM section (bench/realkvm.py) runs through scripts/kvm-run;"
	@echo "                bench/report.py renders bench/README.md and bench/realkvm.md"
	@echo "make soak       long guest tests, not part of CI"
	@echo "make fuzz       the libFuzzer targets, FUZZ_TIME seconds each (default 60),"
	@echo "                then their coverage (tests/fuzz/README.md; needs root)"
	@echo "make clean      remove build/ (the guest kernel cache outside it stays)"

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(MP_CFLAGS) -c -o $@ $<

$(B)/libmplib.a: $(MPLIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/libmemplug.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/memplug: $(B)/obj/vmm/main.o $(B)/libmemplug.a $(B)/libmplib.a
	$(CC) $(CFLAGS) $(MP_CFLAGS) -o $@ $^ $(LDLIBS)

# The control-socket client: lib/ and the _OST names, not the VMM.
$(B)/memplugctl: $(CTL_OBJS) $(B)/libmplib.a
	$(CC) $(CFLAGS) $(MP_CFLAGS) -o $@ $^ -ljansson

$(B)/tests/%: $(B)/obj/tests/%.o $(B)/obj/tests/unit.o $(B)/libmemplug.a \
		$(B)/libmplib.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(MP_CFLAGS) -o $@ $^ $(LDLIBS)

# Tiny ELF guests for the VMM smoke tests and the benchmarks: 64-bit code,
# loaded at 1 MiB like a vmlinux, no libc.
$(B)/tests/guests/%.elf: tests/guests/%.S tests/guests/guest.ld tests/guests/common.h \
		include/memplug/layout.h include/memplug/hw/pm.h
	@mkdir -p $(dir $@)
	$(CC) -nostdlib -static -I. -Wl,-T,tests/guests/guest.ld -Wl,--build-id=none -o $@ $<

deps:
	@scripts/deps.sh

guest:
	@scripts/build-guest.sh
	@scripts/build-userspace-guest

run: deps all guest
	scripts/demo.sh

# The C unit tests and the ACPI tables: nothing here opens /dev/kvm.
unit: all
	$(PYTHON) -m pytest -q tests/test_unit.py tests/test_acpi_iasl.py \
		tests/test_nested_retry.py

check: deps all guest
	PYTHON=$(PYTHON) scripts/check

check-pvm: deps all guest
	@[ -e /sys/module/kvm_pvm ] || { echo "check-pvm: the PVM KVM (kvm_pvm) is not loaded here" >&2; exit 1; }
	MEMPLUG_KVM=direct PYTHON=$(PYTHON) scripts/check guest

bench: deps all guest
	$(PYTHON) bench/flat.py && $(PYTHON) bench/boot.py && \
		$(PYTHON) bench/hotplug.py && \
		scripts/kvm-run --cpus 1 $(PYTHON) bench/realkvm.py && \
		scripts/kvm-run --cpus 1 $(PYTHON) bench/stock.py && \
		$(PYTHON) bench/report.py

soak: deps all guest
	MEMPLUG_SOAK=1 $(PYTHON) -m pytest -v tests/test_hardening.py -k reboot_loop
	MEMPLUG_SOAK=1 scripts/kvm-run $(PYTHON) -m pytest -v guest-tests

clean:
	rm -rf $(B)

include tests/fuzz/fuzz.mk

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
