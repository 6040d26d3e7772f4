# cli/: vmctl (prefix ctl_). Links the proto library by path (cli/build.mk is
# included before proto/build.mk).
VMCTL_SRCS := cli/main.c cli/cmd_vm.c cli/cmd_job.c cli/cmd_disk.c \
	cli/cmd_snapshot.c cli/cmd_backup.c cli/cmd_console.c cli/output.c

$(BUILD)/bin/vmctl: $(VMCTL_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/libvxproto.a $(BUILD)/libvxcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs json-c)

BINS += $(BUILD)/bin/vmctl

# Shell TAP test of the bash completion, with this BUILD's paths.
$(BUILD)/tests/cli/test_completion: tests/cli/completion.sh.in $(BUILD)/bin/vmctl $(BUILD)/bin/vmxd
	@mkdir -p $(dir $@)
	sed -e 's|@BINDIR@|$(abspath $(BUILD))/bin|' -e 's|@SRCDIR@|$(CURDIR)|' $< > $@
	chmod +x $@
UNIT_TESTS += $(BUILD)/tests/cli/test_completion
