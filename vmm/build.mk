# vmm/: the hardware-independent half of the per-VM runner: the port-I/O and
# MMIO buses, the PC device models (one file each) and the boot loaders
# (Linux x86 boot protocol, multiboot). Plain portable C, no driver calls, so the unit tests run
# on any host (prefix vmm_). The runner links libvxvmm.a and calls the buses
# from its exit switch.
# Every vmm/*.c is a device model or a boot loader (one file per concept).
VMM_SRCS := $(wildcard vmm/*.c)
VMM_LIB  := $(BUILD)/libvxvmm.a

$(VMM_LIB): $(VMM_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^

UNIT_LINK += $(VMM_LIB)

# The boot loader test parses the Debian kernel package when it is present.
$(BUILD)/tests/vmm/%.o: CFLAGS += -DVMM_KERNEL_DEB_DIR=\"/var/cache/vmxcore\"
