# ktvm - a small, fast KVM virtual machine monitor.
#
#   make                      build ./ktvm (objects under build/)
#   make test                 unit tests + end-to-end tests; last line "N passed, N failed"
#   make unit                 unit tests only
#   make e2e                  end-to-end tests only (boots Debian's kernels; see docs/testing.md)
#   make e2e-all              the same with every case on both guest kernels (6.1 and 6.12)
#   make demo                 boot a small guest with a shell on the console
#   make soak                 10-minute iperf3 soak, 50 boot cycles, fault cases (issue 6)
#   make bench                ktvm vs QEMU side by side (issue 8; docs/performance.md)
#   make ARCH=aarch64 CROSS_COMPILE=aarch64-linux-gnu-   cross build (static; fetches
#                             the arm64 -dev libraries into build/aarch64-deps)

ARCH ?= $(shell uname -m | sed -e 's/arm64/aarch64/')
CROSS_COMPILE ?=
CC := $(CROSS_COMPILE)$(if $(filter undefined default,$(origin CC)),gcc,$(CC))
BUILD := build/$(ARCH)

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	  -Wno-unused-parameter -fno-strict-aliasing -D_GNU_SOURCE -MMD -MP \
	  -I. -Iarch/$(ARCH)
LDLIBS += -ljson-c -lseccomp -lcap -lpcap -lpthread

ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
BUILD := build/$(ARCH)-san
# The sanitized binary stays out of the way of ./ktvm (which e2e runs).
KTVM_BIN ?= $(BUILD)/ktvm
endif

# TSAN=1: ThreadSanitizer (clang), for make tsan-stress; objects in build/tsan.
ifeq ($(TSAN),1)
CFLAGS += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
endif

# arch/$(ARCH)/sources.mk lists the boot/ and devices/ files that architecture
# uses (ARCH_SRCS), its extra libraries (ARCH_LDLIBS) and the unit tests that
# do not apply to it (ARCH_UNIT_SKIP).
include arch/$(ARCH)/sources.mk
LDLIBS += $(ARCH_LDLIBS)

# Cross builds link statically (the target has none of this host's libraries);
# the target's -dev libraries come from build/$(ARCH)-deps (make cross-deps).
ifneq ($(CROSS_COMPILE),)
CROSS_DEPS := build/$(ARCH)-deps
CFLAGS += -isystem $(CROSS_DEPS)/usr/include -isystem $(CROSS_DEPS)/usr/include/$(ARCH)-linux-gnu
LDFLAGS += -static -L$(CROSS_DEPS)/usr/lib/$(ARCH)-linux-gnu
CROSS_STAMP := $(CROSS_DEPS)/stamp
endif

CORE_SRCS := $(filter-out vmm/main.c vmm/static_link.c,$(wildcard vmm/*.c)) $(ARCH_SRCS) \
	$(wildcard arch/$(ARCH)/*.c)
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/vmm/main.o

# ./ktvm itself links statically (STATIC=0: against shared libraries): it
# starts without run-time linking libpcap's chain of a dozen libraries
# (D-Bus, systemd, gcrypt, ...) and keeps about 1 MiB less resident (issue
# 8's memory target).  Tests, sanitizer and fuzz builds stay dynamic.
STATIC ?= 1
ifneq ($(CROSS_COMPILE),)
STATIC := 1
endif
ifeq ($(SANITIZE),1)
STATIC := 0
endif
ifeq ($(TSAN),1)
STATIC := 0
endif
ifeq ($(STATIC),1)
MAIN_OBJ += $(BUILD)/vmm/static_link.o
KTVM_LDFLAGS := -static
KTVM_LDLIBS := -ldbus-1
endif

UNIT_SRCS := $(filter-out $(ARCH_UNIT_SKIP:%=tests/unit/%.c),$(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Per-test link wrappers (cmocka's --wrap idiom), e.g. tests/unit/test_serial.wrap
unit_wraps = $(shell cat tests/unit/$(1).wrap 2>/dev/null)
# Per-test extra sources outside this arch's core (e.g. the arm64 loader, tested
# on x86 too) and libraries: tests/unit/NAME.srcs, tests/unit/NAME.libs
unit_srcs = $(filter-out $(CORE_SRCS),$(shell cat tests/unit/$(1).srcs 2>/dev/null))
unit_objs = $(patsubst %.c,$(BUILD)/%.o,$(call unit_srcs,$(1)))
unit_libs = $(filter-out $(LDLIBS),$(shell cat tests/unit/$(1).libs 2>/dev/null))

.PHONY: all clean test unit e2e e2e-all demo soak format bench check-clang man install cross-deps deps

# Debian packages (deps/packages.txt): every build step first runs
# deps/ensure.sh for the groups its goals need: as root it installs what is
# missing, otherwise it prints the one apt-get line and make stops (status 2).
DEPS_unit := unit
DEPS_test := unit e2e arm64
DEPS_e2e := e2e
DEPS_e2e-all := e2e
DEPS_demo := e2e
DEPS_soak := e2e
DEPS_bench := e2e bench
DEPS_bench-datapath := bench
DEPS_man := man
DEPS_install := man
DEPS_check-clang := clang unit
DEPS_analyze := analyze
DEPS_cppcheck := analyze
DEPS_clang-tidy := analyze
DEPS_fuzz := fuzz
DEPS_fuzz-smoke := fuzz
DEPS_valgrind := valgrind unit
DEPS_tsan-stress := fuzz
DEPS_GROUPS := build $(if $(CROSS_COMPILE),arm64) \
	$(sort $(foreach g,$(or $(MAKECMDGOALS),all),$(DEPS_$(g))))
.DEFAULT_GOAL := all
deps:
	@deps/ensure.sh $(DEPS_GROUPS)

PREFIX ?= /usr/local
MAN_PAGE := build/ktvm.1

# A cross build never replaces ./ktvm (the host's binary, which the e2e tests run).
KTVM_BIN ?= $(if $(CROSS_COMPILE),$(BUILD)/ktvm,ktvm)

all: $(KTVM_BIN)

# 'make V=1' shows the full commands.
Q := $(if $(V),,@)

$(KTVM_BIN): $(CORE_OBJS) $(MAIN_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(KTVM_LDFLAGS) -o $@ $^ $(LDLIBS) $(KTVM_LDLIBS) 2>$@.ld; st=$$?; \
		grep -v -e "statically linked applications requires at runtime" -e ": in function" \
		$@.ld >&2; rm -f $@.ld; exit $$st

# ktvm with test-only hooks (-DKTVM_TEST_HOOKS, e.g. KTVM_TEST_SECCOMP_VIOLATE=CLASS
# makes that thread class break its seccomp list): for tests, never installed.
# KTVM_TEST_SKIP_KVM_PROBE=1 skips the x86 KVM probe, so tiny test guests run on
# a KVM that cannot run Linux (kvm_pvm): tests/unit/test_console_wedge.c.
TESTHOOKS_SRCS := vmm/seccomp.c arch/x86_64/kvm_probe.c
TESTHOOKS_OBJS := $(foreach o,$(CORE_OBJS),$(if $(filter $(o:$(BUILD)/%.o=%.c),$(TESTHOOKS_SRCS)),$(o:.o=-testhooks.o),$(o)))
$(BUILD)/ktvm-testhooks: $(TESTHOOKS_OBJS) $(MAIN_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%-testhooks.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (test hooks)")
	$(Q)$(CC) $(CFLAGS) -DKTVM_TEST_HOOKS -c -o $@ $<

# The man page is written in scdoc (docs/ktvm.1.scd).
man: $(MAN_PAGE)

$(MAN_PAGE): docs/ktvm.1.scd | deps
	@mkdir -p $(dir $@)
	scdoc < $< > $@

install: $(KTVM_BIN) $(MAN_PAGE) | deps
	install -D -m 0755 $(KTVM_BIN) $(DESTDIR)$(PREFIX)/bin/ktvm
	install -D -m 0644 $(MAN_PAGE) $(DESTDIR)$(PREFIX)/share/man/man1/ktvm.1
	install -D -m 0644 contrib/bash-completion/ktvm \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/ktvm

# The tree must be warnings-clean under clang too (CI runs this).
check-clang: | deps
	$(MAKE) CC=clang BUILD=build/$(ARCH)-clang KTVM_BIN=build/$(ARCH)-clang/ktvm \
		build/$(ARCH)-clang/ktvm $(UNIT_BINS:$(BUILD)/%=build/$(ARCH)-clang/%)

$(BUILD)/%.o: %.c | $(CROSS_STAMP) deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

.SECONDEXPANSION:
.SECONDARY: $(foreach t,$(UNIT_SRCS:tests/unit/%.c=%),$(call unit_objs,$(t)))
$(BUILD)/tests/%: tests/unit/%.c $(CORE_OBJS) $$(call unit_objs,$$*) | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(CORE_OBJS) $(call unit_objs,$*) $(LDFLAGS) \
		$(foreach w,$(call unit_wraps,$*),-Wl,--wrap=$(w)) -lcmocka $(call unit_libs,$*) $(LDLIBS)

unit: $(UNIT_BINS) $(KTVM_BIN) $(BUILD)/ktvm-testhooks
	@tests/run_unit.sh $(UNIT_BINS)

e2e: ktvm | deps
	@tests/e2e/run.sh

# Every e2e case with both guest kernels (make test runs a subset with 6.12).
e2e-all: ktvm | deps
	@E2E_K612=all tests/e2e/run.sh

test: ktvm $(UNIT_BINS) | deps
	@tests/run_all.sh $(UNIT_BINS)

demo: ktvm | deps
	@tests/e2e/demo.sh

# make soak: the long soak and fault cases (issue 6): iperf3 both ways for
# 10 minutes over 2 queue pairs, 50 boot/poweroff cycles, the TAP deleted
# under traffic, SIGTERM under traffic.  make test runs them shortened.
soak: ktvm | deps
	@E2E_SOAK_SECONDS=$${E2E_SOAK_SECONDS:-600} E2E_BOOT_CYCLES=$${E2E_BOOT_CYCLES:-50} \
		tests/e2e/run.sh --only soak-iperf,soak-boot-cycles,fault-tap-delete,fault-sigterm

# make bench: ktvm vs QEMU side by side (boot, network, multiqueue, memory,
# device datapath); results in build/bench/ (results.json, results.md,
# results.png).  BENCH_OPTS, e.g. "--quick" or "--only boot,mem".
bench: ktvm $(BUILD)/bench/datapath | deps
	@tests/bench/suite.sh $(BENCH_OPTS)

# Device datapath benchmark (issue 8): ktvm's virtio-net code driven by a fake
# guest driver against a real TAP, next to the raw TAP limit.  Needs root and
# /dev/net/tun (exit 77 = skipped).  BENCH_ARGS, e.g. "--seconds 2 --json out.json".
BENCH_DATAPATH := $(BUILD)/bench/datapath
.PHONY: bench-datapath

BENCH_OBJS := $(BUILD)/tests/common/virtio_driver.o
.SECONDARY: $(BENCH_OBJS)

$(BUILD)/bench/%: tests/bench/%.c $(CORE_OBJS) $(BENCH_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(CORE_OBJS) $(BENCH_OBJS) $(LDFLAGS) $(LDLIBS)

# Concurrency stress (tests/stress/): the device's threads, a guest thread that
# resets and re-activates the NIC, hostile rings, host traffic, statistics
# reads and VQ_PAIRS_SET all at once, under ThreadSanitizer; STRESS_SECONDS
# long (CI: the default).  A data race, a crash or a hang fails it.
STRESS_SECONDS ?= 20
TSAN_BUILD := build/tsan
$(BUILD)/stress/%: tests/stress/%.c $(CORE_OBJS) $(BENCH_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  STRESS  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(CORE_OBJS) $(BENCH_OBJS) $(LDFLAGS) $(LDLIBS)

.PHONY: tsan-stress
tsan-stress: | deps
	$(MAKE) CC=clang TSAN=1 BUILD=$(TSAN_BUILD) $(TSAN_BUILD)/stress/net_stress
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $$TSAN_OPTIONS" \
		timeout 120 $(TSAN_BUILD)/stress/net_stress --seconds $(STRESS_SECONDS)

bench-datapath: $(BENCH_DATAPATH)
	@$(BENCH_DATAPATH) $(BENCH_ARGS) || [ $$? -eq 77 ]

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# The target architecture's -dev libraries for a cross build (into build/$(ARCH)-deps).
cross-deps: build/$(ARCH)-deps/stamp

build/$(ARCH)-deps/stamp: arch/$(ARCH)/cross-deps.sh | deps
	arch/$(ARCH)/cross-deps.sh build/$(ARCH)-deps

clean:
	rm -rf build ktvm

-include $(shell find build -name '*.d' -type f 2>/dev/null)

# ---- Fuzzing, sanitizers, static analysis (issue 6; see tests/fuzz/README.md) ----
#   make fuzz              libFuzzer targets (clang, ASan+UBSan) into build/fuzz/
#   make fuzz-smoke        run each for FUZZ_TIME seconds from its committed corpus
#   make SANITIZE=1 unit   the unit suite under ASan+UBSan
#   make valgrind          each unit test binary under valgrind (memcheck, leaks)
#   make analyze           cppcheck + clang-tidy (.clang-tidy) on the tree
FUZZ_CC ?= clang
FUZZ_BUILD := build/fuzz
# 17 targets x 15 s (+ start-up): fuzz-smoke stays within CI's 5 minutes.
FUZZ_TIME ?= 15
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	       -Wmissing-prototypes -Wno-unused-parameter -fno-strict-aliasing -D_GNU_SOURCE \
	       -DKTVM_FUZZ -MMD -MP -I. -Iarch/$(ARCH) $(FUZZ_SAN)
# (-Werror is for the targets: the core's clang warnings are check-clang's business.)
# Every KVM-facing call, stubbed by tests/fuzz/stubs.c.
FUZZ_WRAPS := vm_ioeventfd vm_irqfd vm_gsi_alloc vm_msi_route_set vm_msi_route_clear \
	      vm_signal_msi vm_loop_add vm_loop_del vm_irq_line vm_request_stop \
	      vm_set_memory_slot vm_check_extension log_msg log_msg_ratelimited
# Extra libraries of a target that #includes a source outside this arch's core.
FUZZ_LIBS_arm64_image := -lz
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)
# The core as an archive: a target that #includes a source file (to reach its
# static functions) defines all of it, so the archive's copy is not pulled in.
FUZZ_LIB := $(FUZZ_BUILD)/libktvm.a
# A device type (KTVM_DEVICE_TYPE(id, ...)) is reached only through its
# linker section, which does not pull its object out of the archive: ask
# the linker for each ktvm_device_ID so every target sees every type.
LPAREN := (
FUZZ_DEVICE_SYMS := $(shell awk -F'[$(LPAREN),]' '/^KTVM_DEVICE_TYPE/ { print "ktvm_device_" $$2 }' \
	$(CORE_SRCS))
FUZZ_LIB_OBJS := $(CORE_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)

.PHONY: fuzz fuzz-smoke valgrind analyze cppcheck clang-tidy

fuzz: $(FUZZ_BINS)

.SECONDARY: $(FUZZ_BUILD)/obj/tests/fuzz/stubs.o

$(FUZZ_BUILD)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(FUZZ_BUILD)/%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/obj/tests/fuzz/stubs.o $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_BUILD)/obj/tests/fuzz/stubs.o $(foreach s,$(FUZZ_DEVICE_SYMS),-Wl,--undefined=$(s)) \
		$(FUZZ_LIB) $(foreach w,$(FUZZ_WRAPS),-Wl,--wrap=$(w)) $(FUZZ_LIBS_$*) $(LDLIBS)

fuzz-smoke: fuzz
	@tests/fuzz/smoke.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

# Memcheck on the unit binaries, built apart with DWARF 4 (valgrind 3.19 cannot
# read clang's DWARF 5 forms) and without sanitizers (ASan and valgrind don't mix).
VG_BUILD := build/$(ARCH)-vg
valgrind: | deps
	CFLAGS="-O1 -g -gdwarf-4" $(MAKE) BUILD=$(VG_BUILD) \
		$(UNIT_BINS:$(BUILD)/%=$(VG_BUILD)/%)
	@tests/run_valgrind.sh $(UNIT_BINS:$(BUILD)/%=$(VG_BUILD)/%)

analyze: cppcheck clang-tidy

CPPCHECK_FLAGS := --enable=warning,performance,portability --error-exitcode=1 --inline-suppr \
	--std=c11 --quiet -D__GNUC__ -D_GNU_SOURCE -D__x86_64__ -I. -Iarch/$(ARCH) \
	--suppressions-list=.cppcheck-suppressions -j$(shell nproc)
cppcheck: | deps
	cppcheck $(CPPCHECK_FLAGS) $(CORE_SRCS) vmm/main.c tests/unit tests/fuzz

# Files with open clang-analyzer findings that are false positives through
# variadic error helpers (bad(), usage_error()), being edited by their owners
# right now: the fix is in the issue 6 report.  Remove them from here once fixed.
TIDY_PENDING :=
ANALYZE_SRCS := $(filter-out $(TIDY_PENDING),$(CORE_SRCS) vmm/main.c) $(wildcard tests/fuzz/*.c)
clang-tidy: | deps
	@tests/run_clang_tidy.sh -- -std=gnu11 -D_GNU_SOURCE -DKTVM_FUZZ -I. -Iarch/$(ARCH) -- $(ANALYZE_SRCS)
