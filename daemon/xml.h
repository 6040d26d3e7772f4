/*
 * xml: libvirt domain XML <-> struct xml_domain (libxml2).
 *
 * Parsing is by whitelist: every element, attribute and value vmxcore does not
 * implement is refused, naming its XPath ("unsupported element
 * /domain/devices/video"), so nothing a user wrote is silently dropped.
 * Formatting writes the canonical form (memory in KiB, generated uuid and MACs
 * filled in); parse(format(d)) == d, so a dumpxml re-defines identically.
 * Context: the daemon's loop thread (libxml2 is used without global state
 * changes beyond xmlInitParser).
 */
#ifndef VMXD_XML_H
#define VMXD_XML_H

#include <stddef.h>
#include <stdint.h>

#include "vx_err.h"

#define XML_NAME_MAX 64

enum xml_feature {
	XML_FEAT_ACPI = 1 << 0,
	XML_FEAT_APIC = 1 << 1,
	XML_FEAT_PAE  = 1 << 2,
};

struct xml_disk {
	char *xd_device;         /* "disk" or "cdrom" */
	char *xd_format;         /* "raw" or "qcow2" */
	char *xd_source;         /* file path; NULL: empty cdrom */
	char *xd_target;         /* vda, vdb... */
	int xd_readonly;
	char *xd_backing;        /* backing file path or NULL */
	char *xd_backing_format; /* "raw" or "qcow2" */
};

struct xml_iface {
	char *xi_type;           /* bridge, ethernet, network */
	char *xi_source;         /* bridge or network name; NULL for ethernet */
	char *xi_mac;            /* aa:bb:cc:dd:ee:ff, lower case */
	char *xi_target;         /* host tap name or NULL */
	char *xi_model;          /* "virtio" or NULL */
};

struct xml_chardev {
	int xc_console;          /* 0: <serial>, 1: <console> */
	char *xc_type;           /* pty, file, unix */
	char *xc_path;           /* file / unix path, NULL for pty */
	char *xc_mode;           /* unix: bind or connect */
	int xc_port;             /* target port */
	char *xc_target_type;    /* console: serial or virtio; serial: NULL */
};

struct xml_domain {
	char *xdom_type;          /* "kvm" (vmxcore) or "test" (simulation) */
	char *xdom_name;
	char xdom_uuid[37];
	char *xdom_title;
	char *xdom_description;
	char *xdom_metadata;      /* children of <metadata>, serialized verbatim */
	uint64_t xdom_memory_kib;
	uint64_t xdom_current_kib;
	unsigned xdom_vcpu;
	char *xdom_arch;          /* x86_64 or NULL */
	char *xdom_machine;       /* kept as written, or NULL */
	char *xdom_kernel, *xdom_initrd, *xdom_cmdline;
	char *xdom_boot[4];       /* hd, cdrom, network */
	size_t xdom_nboot;
	unsigned xdom_features;   /* enum xml_feature bits */
	char *xdom_cpu_mode;      /* host-passthrough, host-model or NULL */
	unsigned xdom_sockets, xdom_cores, xdom_threads; /* 0: no topology */
	char *xdom_clock;         /* utc, localtime or NULL */
	char *xdom_on_poweroff, *xdom_on_reboot, *xdom_on_crash;
	struct xml_disk *xdom_disks;
	size_t xdom_ndisks;
	struct xml_iface *xdom_ifaces;
	size_t xdom_nifaces;
	struct xml_chardev *xdom_chars;
	size_t xdom_nchars;
};

int xml_domain_parse(const char *xml, size_t len, struct xml_domain **out,
		     struct vx_err *err);
/* Returns the canonical XML in *out (malloc'd, NUL-terminated). */
int xml_domain_format(const struct xml_domain *d, char **out,
		      struct vx_err *err);
void xml_domain_free(struct xml_domain *d);

/* Parses a memory amount with a libvirt unit; result in KiB, rounded up. */
int xml_parse_memory(const char *value, const char *unit, uint64_t *kib,
		     struct vx_err *err);
/* Validates (and lower-cases) a uuid; generates one when in is NULL. */
int xml_uuid_normalize(const char *in, char out[37], struct vx_err *err);

#endif
