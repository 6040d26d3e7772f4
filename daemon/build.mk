# daemon/: vmxd (prefix vmxd_, store_, xml_, rpc_, runner_) and the
# simulation runner vmxd-runner-sim. Everything but main.c goes into
# libvmxd.a so the unit tests can link it.
# (Fragments are included in sorted order, cli < daemon < proto: name the
# proto library by its path, not by a variable set later.)
VMXD_PKGS   := libuv sqlite3 libxml-2.0 libseccomp libsystemd
VMXD_CFLAGS := $(shell pkg-config --cflags $(VMXD_PKGS))
VMXD_LIBS   := $(shell pkg-config --libs $(VMXD_PKGS))
CFLAGS      += $(VMXD_CFLAGS)

VMXD_SRCS := daemon/conf.c daemon/log.c daemon/loop.c daemon/rpc.c \
	daemon/runner.c daemon/runner_args.c daemon/store.c daemon/xml.c daemon/job.c \
	daemon/storage.c daemon/snapjob.c daemon/memsnap.c daemon/console_verbs.c daemon/runner/sandbox.c daemon/runner/crash.c \
	daemon/runner/control.c daemon/runner/console.c daemon/runner/backup_serve.c \
	daemon/runner/statedir.c daemon/backup_live.c
VMXD_LIB  := $(BUILD)/libvmxd.a

$(VMXD_LIB): $(VMXD_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^

# vmxd's storage verbs and jobs link the storage library (named by path:
# storage/build.mk is included later).
$(BUILD)/bin/vmxd: $(BUILD)/daemon/main.o $(VMXD_LIB) $(BUILD)/libvxproto.a $(BUILD)/libvxstorage.a $(VX_COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(VMXD_LIBS) $(shell pkg-config --libs json-c) -lzstd -lz -lcrypto -lpthread

$(BUILD)/bin/vmxd-runner-sim: $(BUILD)/daemon/runner/sim.o $(VMXD_LIB) $(BUILD)/libvxvmm.a $(BUILD)/libvxproto.a $(BUILD)/libvxstorage.a $(VX_COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(VMXD_LIBS) $(shell pkg-config --libs json-c) -lzstd -lz -lcrypto -lpthread

BINS        += $(BUILD)/bin/vmxd $(BUILD)/bin/vmxd-runner-sim
UNIT_LINK   += $(VMXD_LIB)
UNIT_LDLIBS += $(VMXD_LIBS)

# Tests find the sources and the binaries of this BUILD through -D.
TEST_PATHS := -DSRCDIR=\"$(CURDIR)\" -DBINDIR=\"$(abspath $(BUILD))/bin\"
$(BUILD)/tests/daemon/%.o: CFLAGS += $(TEST_PATHS)
$(BUILD)/tests/daemon/test_vmxd: $(BUILD)/bin/vmxd $(BUILD)/bin/vmxd-runner-sim $(BUILD)/bin/vmctl
$(BUILD)/tests/daemon/test_vmxd_storage: $(BUILD)/bin/vmxd $(BUILD)/bin/vmxd-runner-sim $(BUILD)/bin/vmctl
$(BUILD)/tests/daemon/test_vmxd_console: $(BUILD)/bin/vmxd $(BUILD)/bin/vmxd-runner-sim $(BUILD)/bin/vmctl
$(BUILD)/tests/daemon/test_vmxd_livebackup: $(BUILD)/bin/vmxd $(BUILD)/bin/vmxd-runner-sim $(BUILD)/bin/vmctl
$(BUILD)/tests/daemon/test_systemd: $(BUILD)/bin/vmxd $(BUILD)/bin/vmxd-runner-sim $(BUILD)/bin/vmctl

# make bench-daemon: vmxd vs libvirt's test driver (see tests/bench/bench_daemon.c).
.PHONY: bench-daemon
$(BUILD)/tests/bench/bench_daemon.o: CFLAGS += $(TEST_PATHS)
$(BUILD)/bench/bench_daemon: $(BUILD)/tests/bench/bench_daemon.o $(BUILD)/libvxproto.a $(BUILD)/libvxcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs json-c)
bench-daemon: $(BUILD)/bench/bench_daemon $(BUILD)/bin/vmxd $(BUILD)/bin/vmctl
	$(BUILD)/bench/bench_daemon 1000
bench: bench-daemon

$(BUILD)/tests/daemon/test_units: tests/daemon/units.sh.in
	@mkdir -p $(dir $@)
	sed -e 's|@SRCDIR@|$(CURDIR)|' $< > $@
	chmod +x $@
UNIT_TESTS += $(BUILD)/tests/daemon/test_units
