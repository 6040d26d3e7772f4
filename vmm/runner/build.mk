# vmm/runner/: vmxd-runner, the VMM process of one VM (prefix rn_, machine_):
# the backend over /dev/vmxcore and /dev/kvm, the vCPU threads and their
# exit switch, the guest CPUID table, the timers and the console. Links the
# device models (libvxvmm.a, by path: vmm/build.mk sets VMM_LIB after us)
# and the disks' images (libvxstorage.a). driver/vcpu_events.c is the
# kernel's own check of saved vCPU events, run on a state file before it loads.
RUNNER_SRCS := vmm/runner/backend.c vmm/runner/cpuid.c vmm/runner/machine.c \
	vmm/runner/vcpu.c vmm/runner/domain.c vmm/runner/disk.c vmm/runner/net.c \
	vmm/runner/irqchip.c vmm/runner/snapshot.c driver/vcpu_events.c
RUNNER_LIB  := $(BUILD)/libvxrunner.a

$(RUNNER_LIB): $(RUNNER_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^

# Daemon mode speaks the protocol and sandboxes itself: libvmxd.a's
# runner/control.c and runner/sandbox.c (no XML: vmxd passes options), the
# proto codec, json-c, libseccomp.
$(BUILD)/bin/vmxd-runner: $(BUILD)/vmm/runner/main.o $(RUNNER_LIB) $(BUILD)/libvxvmm.a \
		$(BUILD)/libvmxd.a $(BUILD)/libvxproto.a $(BUILD)/libvxstorage.a $(VX_COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libseccomp json-c) -lzstd -lz -lcrypto -lpthread

BINS      += $(BUILD)/bin/vmxd-runner
UNIT_LINK += $(RUNNER_LIB)
