# storage/: disk images (raw, qcow2) and the backup engine (prefixes img_,
# raw_, qcow2_, backup_, bitmap_).
VX_STORAGE_SRCS := $(wildcard storage/*.c)
VX_STORAGE_LIB  := $(BUILD)/libvxstorage.a

$(VX_STORAGE_LIB): $(VX_STORAGE_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^

UNIT_LINK   += $(VX_STORAGE_LIB)
UNIT_LDLIBS += -lzstd -lz -lcrypto -ljson-c -lpthread

# libFuzzer build of tests/fuzz/fuzz_qcow2_header.c (needs clang); run it as
#   mkdir -p build/fuzz-corpus && build/fuzz_qcow2_header build/fuzz-corpus tests/fuzz/corpus/qcow2_header
# (new inputs go to the first directory; the seeds stay as they are).
FUZZ_CC ?= clang
.PHONY: fuzz-storage
fuzz-storage: $(BUILD)/fuzz_qcow2_header
$(BUILD)/fuzz_qcow2_header: tests/fuzz/fuzz_qcow2_header.c $(VX_STORAGE_SRCS) $(VX_COMMON_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
		-Icommon -I. -o $@ $^ -lzstd -lz -lcrypto -ljson-c

# Benchmarks: ratios against qemu-img and cp measured in the same run.
BENCH_STORAGE := $(BUILD)/tests/bench/bench_storage
$(BENCH_STORAGE): $(BUILD)/tests/bench/bench_storage.o $(VX_STORAGE_LIB) $(VX_COMMON_LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(VX_STORAGE_LIB) $(VX_COMMON_LIB) -lzstd -lz -lcrypto -ljson-c -lpthread
.PHONY: bench-storage
bench-storage: $(BENCH_STORAGE)
	$(BENCH_STORAGE)
bench: bench-storage
