# Fuzzers (tests/fuzz/README.md): clang's libFuzzer with ASan and UBSan,
# memplug's library built for them in build/fuzz, a coverage build in
# build/fuzz-cov. Included by the Makefile.
FUZZERS := qmp devices
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
# Smaller QMP limits (vmm/qmp.h) than memplug's, the same code paths: a
# 4 KiB line, since most of fuzz_qmp's time went to feeding its 80 KiB
# over-limit inputs byte by byte (perf: 70 % in the coverage callbacks of
# the framing loop); 64 KiB of unread output, which an input can reach.
FUZZ_DEFS := -DQMP_LINE_MAX=4096 -DQMP_OUT_MAX=65536
FUZZ_CFLAGS := -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(FUZZ_DEFS)
FUZZ_COV_CFLAGS := -O1 -g -fprofile-instr-generate -fcoverage-mapping \
	$(FUZZ_DEFS)
# The QMP fuzzer populates nothing and fails the calls an input asks it to
# (fuzz_qmp.c says why).
build/fuzz/fuzz_qmp build/fuzz-cov/fuzz_qmp: FUZZ_WRAP := -Wl,--wrap=madvise \
	-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup \
	-Wl,--wrap=accept4,--wrap=timerfd_create,--wrap=json_loadb,--wrap=json_dumps

.PHONY: fuzz fuzz-build fuzz-lib fuzz-cov-lib
fuzz-lib:
	@$(MAKE) --no-print-directory B=build/fuzz CC=clang \
		CFLAGS="$(FUZZ_CFLAGS)" build/fuzz/libmemplug.a build/fuzz/libmplib.a
fuzz-cov-lib:
	@$(MAKE) --no-print-directory B=build/fuzz-cov CC=clang \
		CFLAGS="$(FUZZ_COV_CFLAGS)" build/fuzz-cov/libmemplug.a \
		build/fuzz-cov/libmplib.a

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c fuzz-lib
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $(MP_CFLAGS) -o $@ $< \
		build/fuzz/libmemplug.a build/fuzz/libmplib.a $(LDLIBS) $(FUZZ_WRAP)
build/fuzz-cov/fuzz_%: tests/fuzz/fuzz_%.c fuzz-cov-lib
	clang $(FUZZ_COV_CFLAGS) -fsanitize=fuzzer $(MP_CFLAGS) -o $@ $< \
		build/fuzz-cov/libmemplug.a build/fuzz-cov/libmplib.a $(LDLIBS) \
		$(FUZZ_WRAP)

fuzz-build: $(FUZZERS:%=build/fuzz/fuzz_%) $(FUZZERS:%=build/fuzz-cov/fuzz_%)

# FUZZ_TIME seconds per fuzzer (default 60), then coverage of the corpus.
fuzz: all fuzz-build
	tests/fuzz/run.sh $(FUZZ_TIME)
