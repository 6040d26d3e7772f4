# vmm/: the hardware-independent half of the per-VM runner: the port-I/O and
# MMIO buses, the PC device models (one file each) and the Linux x86 boot
# protocol loader. Plain portable C, no driver calls, so the unit tests run
# on any host (prefix vmm_). The runner links libvxvmm.a and calls the buses
# from its exit switch.
VMM_SRCS := vmm/bus.c vmm/clock.c vmm/uart16550.c vmm/i8042.c vmm/pit.c vmm/rtc.c \
	vmm/pc.c vmm/boot_linux.c vmm/pci.c vmm/virtq.c vmm/virtio_pci.c vmm/virtio_blk.c
VMM_LIB  := $(BUILD)/libvxvmm.a

$(VMM_LIB): $(VMM_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^

UNIT_LINK += $(VMM_LIB)

# The boot loader test parses the Debian kernel package when it is present.
$(BUILD)/tests/vmm/%.o: CFLAGS += -DVMM_KERNEL_DEB_DIR=\"/var/cache/vmxcore\"
