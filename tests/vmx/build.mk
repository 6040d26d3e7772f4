# tests/vmx/: programs that run inside the VT-x lab (static, for the busybox
# initramfs) and the host-side judge of the lab's serial log.
LAB_BIN_DIR := $(BUILD)/lab/bin
LAB_BINS    += $(LAB_BIN_DIR)/labtool $(BUILD)/bin/lab-judge

$(LAB_BIN_DIR)/labtool: tests/vmx/labtool.c tests/vmx/tap.h driver/caps_decode.h \
		driver/include/uapi/vmxcore.h
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -fsanitize%,$(CFLAGS)) -static -o $@ $<

$(BUILD)/bin/lab-judge: $(BUILD)/tests/vmx/judge_main.o $(BUILD)/tests/vmx/judge.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

UNIT_LINK += $(BUILD)/libvxlabjudge.a
$(BUILD)/libvxlabjudge.a: $(BUILD)/tests/vmx/judge.o
	$(AR) rcs $@ $^
