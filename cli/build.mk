# cli/: vmctl (prefix ctl_). Links the proto library by path (cli/build.mk is
# included before proto/build.mk).
VMCTL_SRCS := cli/main.c cli/cmd_vm.c cli/cmd_job.c cli/output.c

$(BUILD)/bin/vmctl: $(VMCTL_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/libvxproto.a $(BUILD)/libvxcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs json-c)

BINS += $(BUILD)/bin/vmctl
