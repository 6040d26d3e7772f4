# common/: helpers every userspace component links (prefix vx_).
VX_COMMON_SRCS := $(wildcard common/*.c)
VX_COMMON_LIB  := $(BUILD)/libvxcommon.a

$(VX_COMMON_LIB): $(VX_COMMON_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^
