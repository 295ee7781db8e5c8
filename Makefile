# ktvm - a small, fast KVM virtual machine monitor.
#
#   make                      build ./ktvm (objects under build/)
#   make test                 unit tests + end-to-end tests; last line "N passed, N failed"
#   make unit                 unit tests only
#   make e2e                  end-to-end tests only (boots Debian's kernel; see docs/testing.md)
#   make demo                 boot a small guest with a shell on the console
#   make ARCH=aarch64 CROSS_COMPILE=aarch64-linux-gnu-   cross build

ARCH ?= $(shell uname -m | sed -e 's/arm64/aarch64/')
CROSS_COMPILE ?=
CC := $(CROSS_COMPILE)$(if $(filter undefined default,$(origin CC)),gcc,$(CC))
BUILD := build/$(ARCH)

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	  -Wno-unused-parameter -fno-strict-aliasing -D_GNU_SOURCE -MMD -MP \
	  -I. -Iarch/$(ARCH)
LDLIBS += -ljson-c -lpthread

ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
BUILD := build/$(ARCH)-san
endif

CORE_SRCS := $(filter-out vmm/main.c,$(wildcard vmm/*.c)) $(wildcard boot/*.c) \
	     $(wildcard devices/*.c) $(wildcard arch/$(ARCH)/*.c)
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/vmm/main.o

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Per-test link wrappers (cmocka's --wrap idiom), e.g. tests/unit/test_serial.wrap
unit_wraps = $(shell cat tests/unit/$(1).wrap 2>/dev/null)

.PHONY: all clean test unit e2e demo format bench check-clang man install

PREFIX ?= /usr/local
MAN_PAGE := build/ktvm.1

KTVM_BIN ?= ktvm

all: $(KTVM_BIN)

# 'make V=1' shows the full commands.
Q := $(if $(V),,@)

$(KTVM_BIN): $(CORE_OBJS) $(MAIN_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The man page is written in scdoc (docs/ktvm.1.scd).
man: $(MAN_PAGE)

$(MAN_PAGE): docs/ktvm.1.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@

install: $(KTVM_BIN) $(MAN_PAGE)
	install -D -m 0755 $(KTVM_BIN) $(DESTDIR)$(PREFIX)/bin/ktvm
	install -D -m 0644 $(MAN_PAGE) $(DESTDIR)$(PREFIX)/share/man/man1/ktvm.1

# The tree must be warnings-clean under clang too (CI runs this).
check-clang:
	$(MAKE) CC=clang BUILD=build/$(ARCH)-clang KTVM_BIN=build/$(ARCH)-clang/ktvm \
		build/$(ARCH)-clang/ktvm $(UNIT_BINS:$(BUILD)/%=build/$(ARCH)-clang/%)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(CORE_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(CORE_OBJS) $(LDFLAGS) \
		$(foreach w,$(call unit_wraps,$*),-Wl,--wrap=$(w)) -lcmocka $(LDLIBS)

unit: $(UNIT_BINS) ktvm
	@tests/run_unit.sh $(UNIT_BINS)

e2e: ktvm
	@tests/e2e/run.sh

test: ktvm $(UNIT_BINS)
	@tests/run_all.sh $(UNIT_BINS)

demo: ktvm
	@tests/e2e/demo.sh

bench: ktvm
	@echo "make bench: not yet written (see issue 8)"; exit 1

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build ktvm

-include $(shell find build -name '*.d' 2>/dev/null)
