# vmxcore: top-level build.
#
#   make              userspace programs and libraries, and the kernel module
#   make check        unit tests (plain and ASan+UBSan) and the VT-x lab
#   make check-unit   unit tests only (both builds)
#   make check-vmx    the VT-x lab only (Bochs; see tests/vmx/README.md)
#   make demo         the main job (on a host without VT-x: inside the lab)
#   make bench        benchmarks, as ratios against a peer measured in the same run
#
# Each directory contributes a build.mk fragment that appends to BINS (programs),
# UNIT_TESTS (TAP-speaking test programs) and defines its own library rules.
# Userspace objects go under $(BUILD); the sanitizer build uses BUILD=build/san.

BUILD   ?= build
SAN     ?= 0
KVER    ?= $(shell sh scripts/kver.sh)
KDIR    ?= /usr/src/linux-headers-$(KVER)

CC      ?= cc
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -Icommon -Idriver/include/uapi -I.
LDFLAGS :=
ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
CFLAGS  += $(EXTRA_CFLAGS)

BINS       :=
UNIT_TESTS :=
LAB_BINS   :=

.PHONY: all userspace module check check-unit check-unit-plain check-unit-san \
	check-vmx demo bench clean

all: userspace module

# Keep objects of test programs (make would delete them as intermediates).
.SECONDARY:

include common/build.mk
include $(sort $(wildcard proto/build.mk storage/build.mk daemon/build.mk cli/build.mk vmm/build.mk vmm/runner/build.mk))
include tests/build.mk

userspace: $(BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/driver modules

# Unit tests run twice: as built, and under ASan+UBSan. Each run prints one
# "N passed, N failed" line; check prints the grand total last.
UNIT_LABEL := $(if $(filter 1,$(SAN)),unit-asan-ubsan,unit)

check-unit-plain: $(UNIT_TESTS)
	sh tests/tap-run.sh $(UNIT_LABEL) $(UNIT_TESTS)

check-unit-san:
	$(MAKE) BUILD=build/san SAN=1 check-unit-plain

check-unit: check-unit-plain check-unit-san

check-vmx: module $(LAB_BINS)
	sh tests/vmx/labs.sh --build $(BUILD) --kver $(KVER) --kdir $(KDIR)

check:
	rm -rf build/results
	$(MAKE) check-unit
	$(MAKE) check-vmx
	sh tests/tap-total.sh

demo: module $(LAB_BINS)
	sh tests/vmx/lab.sh --build $(BUILD) --kver $(KVER) --kdir $(KDIR) --demo

clean:
	rm -rf build
	$(MAKE) -C $(KDIR) M=$(CURDIR)/driver clean
