# proto/: the control protocol codec (prefix proto_), linked by vmxd, the
# runners, vmctl and the tests.
PROTO_SRCS := proto/codec.c proto/io.c
PROTO_LIB  := $(BUILD)/libvxproto.a
JSONC_CFLAGS := $(shell pkg-config --cflags json-c)
JSONC_LIBS   := $(shell pkg-config --libs json-c)
CFLAGS += $(JSONC_CFLAGS)

$(PROTO_LIB): $(PROTO_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^

UNIT_LINK   += $(PROTO_LIB)
UNIT_LDLIBS += $(JSONC_LIBS)

# Fuzz target (libFuzzer, clang only): make fuzz-proto; run
# $(BUILD)/fuzz/fuzz_proto tests/fuzz/corpus/proto. The corpus is replayed by
# tests/proto/test_proto_corpus on every make check-unit.
.PHONY: fuzz-proto
fuzz-proto: $(BUILD)/fuzz/fuzz_proto
$(BUILD)/fuzz/fuzz_proto: tests/fuzz/fuzz_proto.c $(PROTO_SRCS) common/vx_err.c
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Icommon -I. $(JSONC_CFLAGS) \
		-fsanitize=fuzzer,address,undefined -o $@ $^ $(JSONC_LIBS)
