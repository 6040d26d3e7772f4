# tests/: unit tests (TAP via cmocka) and the programs that run inside the VT-x lab.
#
# Fragments append their library to UNIT_LINK (and its -l flags to UNIT_LDLIBS);
# every test program under tests/<area>/test_*.c links all of them, grouped so
# the order of archives never matters.
UNIT_LINK   += $(VX_COMMON_LIB)
UNIT_TEST_SRCS := $(sort $(wildcard tests/*/test_*.c))
UNIT_TESTS  += $(UNIT_TEST_SRCS:%.c=$(BUILD)/%)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(UNIT_LINK)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(UNIT_LINK) -Wl,--end-group \
		$(UNIT_LDLIBS) -lcmocka

include tests/vmx/build.mk
