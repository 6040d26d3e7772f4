# vmm/runner/: vmxd-runner, the VMM process of one VM (prefix rn_, machine_):
# the backend over /dev/vmxcore and /dev/kvm, the vCPU threads and their
# exit switch, the guest CPUID table, the timers and the console. Links the
# device models (libvxvmm.a, by path: vmm/build.mk sets VMM_LIB after us).
RUNNER_SRCS := vmm/runner/backend.c vmm/runner/cpuid.c vmm/runner/machine.c \
	vmm/runner/vcpu.c
RUNNER_LIB  := $(BUILD)/libvxrunner.a

$(RUNNER_LIB): $(RUNNER_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^

$(BUILD)/bin/vmxd-runner: $(BUILD)/vmm/runner/main.o $(RUNNER_LIB) $(BUILD)/libvxvmm.a $(VX_COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lpthread

BINS      += $(BUILD)/bin/vmxd-runner
UNIT_LINK += $(RUNNER_LIB)
