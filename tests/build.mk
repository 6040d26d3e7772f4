# tests/: unit tests (TAP via cmocka) and the programs that run inside the VT-x lab.
#
# Fragments append their library to UNIT_LINK (and its -l flags to UNIT_LDLIBS);
# every test program under tests/<area>/test_*.c links all of them, grouped so
# the order of archives never matters.
include tests/vmx/build.mk

UNIT_LINK   += $(VX_COMMON_LIB)
UNIT_C_TEST_SRCS := $(sort $(wildcard tests/*/test_*.c))
UNIT_C_TESTS     := $(UNIT_C_TEST_SRCS:%.c=$(BUILD)/%)
UNIT_TESTS  += $(UNIT_C_TESTS)

$(UNIT_C_TESTS): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(UNIT_LINK)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(UNIT_LINK) -Wl,--end-group \
		$(UNIT_LDLIBS) -lcmocka

# Driver units with no library of their own are compiled into their test
# (tests/driver/test_X.c includes driver/X.c); name the sources so a clean
# tree rebuilds the test when they change, before any .d file exists.
$(BUILD)/tests/driver/test_lapic.o: driver/lapic.c driver/lapic.h
$(BUILD)/tests/driver/test_vcpu_events.o: driver/vcpu_events.c driver/vcpu_events.h
$(BUILD)/tests/vmm/test_runner_snapshot.o: vmm/runner/snapshot.c
