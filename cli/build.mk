# cli/: vmctl (prefix ctl_). Links the proto library by path (cli/build.mk is
# included before proto/build.mk).
VMCTL_SRCS := cli/main.c cli/cmd_vm.c cli/cmd_job.c cli/cmd_disk.c \
	cli/cmd_snapshot.c cli/cmd_backup.c cli/cmd_console.c cli/output.c

# vmctl is a short-lived process, and on a VM most of a bare start is the
# dynamic loader mapping and relocating libc and json-c (vmctl help: 3.1 ms
# of CPU and 65 page faults dynamic, 2.1 ms and 33 static-pie; perf stat, see
# daemon/README.md "Performance"). So it links statically (static-pie keeps
# ASLR); it needs nothing static glibc lacks (no NSS, no dlopen, no iconv).
# The sanitizer build stays dynamic: ASan does not support static linking.
ifeq ($(SAN),1)
VMCTL_LINK :=
else
VMCTL_LINK := -static-pie
endif

$(BUILD)/bin/vmctl: $(VMCTL_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/libvxproto.a $(BUILD)/libvxcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(VMCTL_LINK) -o $@ $^ $(shell pkg-config --libs --static json-c)

BINS += $(BUILD)/bin/vmctl

# Shell TAP test of the bash completion, with this BUILD's paths.
$(BUILD)/tests/cli/test_completion: tests/cli/completion.sh.in $(BUILD)/bin/vmctl $(BUILD)/bin/vmxd
	@mkdir -p $(dir $@)
	sed -e 's|@BINDIR@|$(abspath $(BUILD))/bin|' -e 's|@SRCDIR@|$(CURDIR)|' $< > $@
	chmod +x $@
UNIT_TESTS += $(BUILD)/tests/cli/test_completion
