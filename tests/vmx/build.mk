# tests/vmx/: programs that run inside the VT-x lab (static, for the busybox
# initramfs), the guests they run, and the host-side judge of the lab's log.
LAB_BIN_DIR := $(BUILD)/lab/bin
LAB_GUEST   := $(BUILD)/lab/guest
LAB_BINS    += $(LAB_BIN_DIR)/labtool $(LAB_BIN_DIR)/vmxtest $(BUILD)/bin/lab-judge \
	       $(BUILD)/bin/vmxd-runner $(BUILD)/bin/vmxd $(BUILD)/bin/vmctl \
	       $(BUILD)/bin/lab-pty $(LAB_GUEST)/multiboot.elf $(LAB_GUEST)/hostile.elf
LAB_CFLAGS   = $(filter-out -fsanitize%,$(CFLAGS)) -I$(LAB_GUEST)

$(LAB_BIN_DIR)/labtool: tests/vmx/labtool.c tests/vmx/tap.h driver/caps_decode.h \
		driver/include/uapi/vmxcore.h
	@mkdir -p $(dir $@)
	$(CC) $(LAB_CFLAGS) -static -o $@ $<

# Guests: one flat blob linked at 0x1000, its entry points as GUEST_<name>.
$(LAB_GUEST)/guest.elf: tests/vmx/guests/guest.S
	@mkdir -p $(dir $@)
	$(CC) -c -o $(LAB_GUEST)/guest.o $<
	$(LD) -m elf_x86_64 -Ttext=0x1000 -e 0x1000 -o $@ $(LAB_GUEST)/guest.o

# The multiboot kernels (suites/multiboot.sh, suites/hostile.sh): ELF32 at
# 1 MiB, one segment with no ELF headers mapped (-N), as vmxd-runner's
# loader wants it.
$(LAB_GUEST)/multiboot.elf $(LAB_GUEST)/hostile.elf: $(LAB_GUEST)/%.elf: tests/vmx/guests/%.S tests/vmx/guests/mbcom1.S
	@mkdir -p $(dir $@)
	$(CC) -m32 -c -o $(LAB_GUEST)/$*.o $<
	$(LD) -m elf_i386 -N --no-warn-rwx-segments -Ttext=0x100000 -e _start -o $@ $(LAB_GUEST)/$*.o

$(LAB_GUEST)/guest_syms.h: $(LAB_GUEST)/guest.elf
	nm $< | awk '$$2 == "T" { printf "#define GUEST_%s 0x%s\n", $$3, $$1 }' > $@

$(LAB_GUEST)/guest_blob.o: $(LAB_GUEST)/guest.elf
	objcopy -O binary $< $(LAB_GUEST)/guest.bin
	cd $(LAB_GUEST) && $(LD) -r -b binary -o guest_blob.o guest.bin

$(LAB_BIN_DIR)/vmxtest: tests/vmx/vmxtest.c vmm/runner/backend.c vmm/runner/backend.h tests/vmx/tap.h \
		driver/include/uapi/vmxcore.h \
		$(LAB_GUEST)/guest_syms.h $(LAB_GUEST)/guest_blob.o
	@mkdir -p $(dir $@)
	$(CC) $(LAB_CFLAGS) -static -pthread -Wl,-z,noexecstack -o $@ $< vmm/runner/backend.c $(LAB_GUEST)/guest_blob.o

$(BUILD)/bin/lab-judge: $(BUILD)/tests/vmx/judge_main.o $(BUILD)/tests/vmx/judge.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/bin/lab-pty: $(BUILD)/tests/vmx/labpty.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lutil

UNIT_LINK += $(BUILD)/libvxlabjudge.a
$(BUILD)/libvxlabjudge.a: $(BUILD)/tests/vmx/judge.o
	$(AR) rcs $@ $^

# make bench-vmx: CPUID and OUT exit round trips, self-IPI and timer interrupt delivery, vmxcore vs kvm_intel, in one lab boot.
.PHONY: bench-vmx
bench-vmx: module $(LAB_BINS)
	sh tests/vmx/lab.sh --build $(BUILD) --kver $(KVER) --bench
bench: bench-vmx
