# storage/: disk images (raw, qcow2) and the backup engine (prefixes img_,
# raw_, qcow2_, backup_, bitmap_).
VX_STORAGE_SRCS := $(wildcard storage/*.c)
VX_STORAGE_LIB  := $(BUILD)/libvxstorage.a

$(VX_STORAGE_LIB): $(VX_STORAGE_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^

UNIT_LINK   += $(VX_STORAGE_LIB)
UNIT_LDLIBS += -lzstd -lz -lcrypto -ljson-c
