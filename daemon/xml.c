/*
 * xml: libvirt domain XML <-> struct xml_domain. See xml.h.
 * Context: the daemon's loop thread.
 */
#include "daemon/xml.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#define XML_STR(s) ((const xmlChar *)(s))

/* Refusals name the node's XPath; -ENOTSUP for what vmxcore does not do. */
static int xml_refuse(xmlNode *n, struct vx_err *err, int code,
		      const char *what, const char *detail)
{
	xmlChar *path = xmlGetNodePath(n);

	vx_err_set(err, code, "%s %s%s%s", what, path ? (char *)path : "?",
		   detail ? ": " : "", detail ? detail : "");
	xmlFree(path);
	return code;
}

static int xml_unsupported(xmlNode *n, struct vx_err *err)
{
	return xml_refuse(n, err, -ENOTSUP,
			  n->type == XML_ATTRIBUTE_NODE ? "unsupported attribute" :
			  "unsupported element", NULL);
}

/* Unsupported or invalid value of attribute name of n (NULL: n's text). */
static int xml_bad_value(xmlNode *n, const char *name, const char *value,
			 const char *expected, struct vx_err *err)
{
	char detail[200];
	xmlNode *at = n;

	if (name) {
		xmlAttr *a = xmlHasProp(n, XML_STR(name));

		if (a)
			at = (xmlNode *)a;
	}
	snprintf(detail, sizeof(detail), "'%.80s'%s%s%s", value ? value : "",
		 expected ? " (expected " : "", expected ? expected : "",
		 expected ? ")" : "");
	return xml_refuse(at, err, -EINVAL, "invalid value at", detail);
}

static int xml_in(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(v, *set) == 0)
			return 1;
	return 0;
}

/* Refuses any attribute of n not in allowed (NULL-terminated, may be empty). */
static int xml_check_attrs(xmlNode *n, const char *const *allowed,
			   struct vx_err *err)
{
	for (xmlAttr *a = n->properties; a; a = a->next)
		if (a->ns || !allowed || !xml_in((const char *)a->name, allowed))
			return xml_unsupported((xmlNode *)a, err);
	return 0;
}

static const char *const xml_no_attrs[] = { NULL };

/* Fetches attribute name as a malloc'd string (NULL when absent). */
static char *xml_attr(xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, XML_STR(name));
	char *s;

	if (!v)
		return NULL;
	s = strdup((char *)v);
	xmlFree(v);
	return s;
}

static int xml_is_blank(const xmlChar *s)
{
	for (; s && *s; s++)
		if (!isspace(*s))
			return 0;
	return 1;
}

/* Text content of a leaf element; element children are refused. */
static int xml_text(xmlNode *n, char **out, struct vx_err *err)
{
	xmlChar *v;

	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return xml_unsupported(c, err);
	v = xmlNodeGetContent(n);
	*out = strdup(v ? (char *)v : "");
	xmlFree(v);
	return 0;
}

static int xml_dup_elem(xmlNode *n, const void *field, struct vx_err *err)
{
	if (field)
		return xml_refuse(n, err, -EINVAL, "duplicate element", NULL);
	return 0;
}

/*
 * Iterates the element children of n, refusing non-blank text and foreign
 * namespaces; calls fn for each element.
 */
typedef int (*xml_child_fn)(xmlNode *c, void *arg, struct vx_err *err);

static int xml_children(xmlNode *n, xml_child_fn fn, void *arg,
			struct vx_err *err)
{
	int rc;

	for (xmlNode *c = n->children; c; c = c->next) {
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			if (!xml_is_blank(c->content))
				return xml_refuse(n, err, -EINVAL,
						  "unexpected text in", NULL);
			continue;
		}
		if (c->type != XML_ELEMENT_NODE)
			continue; /* comments, processing instructions */
		if (c->ns)
			return xml_unsupported(c, err);
		if ((rc = fn(c, arg, err)) < 0)
			return rc;
	}
	return 0;
}

static int xml_unsupported_fn(xmlNode *c, void *arg, struct vx_err *err)
{
	(void)arg;
	return xml_unsupported(c, err);
}

#define IS(c, s) (strcmp((const char *)(c)->name, (s)) == 0)

int xml_parse_memory(const char *value, const char *unit, uint64_t *kib,
		     struct vx_err *err)
{
	static const struct { const char *u; uint64_t mul; } units[] = {
		{ "b", 1 }, { "bytes", 1 },
		{ "KB", 1000 }, { "k", 1024 }, { "KiB", 1024 },
		{ "MB", 1000000 }, { "M", 1 << 20 }, { "MiB", 1 << 20 },
		{ "GB", 1000000000ull }, { "G", 1ull << 30 }, { "GiB", 1ull << 30 },
		{ "TB", 1000000000000ull }, { "T", 1ull << 40 }, { "TiB", 1ull << 40 },
	};
	unsigned long long n;
	uint64_t mul = 0;
	char *end;

	if (!unit)
		unit = "KiB";
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(unit, units[i].u) == 0)
			mul = units[i].mul;
	if (!mul)
		return vx_err_set(err, -EINVAL, "unknown memory unit '%.40s'", unit);
	while (isspace((unsigned char)*value))
		value++;
	if (!isdigit((unsigned char)*value))
		return vx_err_set(err, -EINVAL, "memory '%.40s' is not a number", value);
	errno = 0;
	n = strtoull(value, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (errno || *end)
		return vx_err_set(err, -EINVAL, "memory '%.40s' is not a number", value);
	if (n > UINT64_MAX / mul)
		return vx_err_set(err, -EINVAL, "memory %llu %s is too large", n, unit);
	*kib = (n * mul + 1023) / 1024;
	return 0;
}

int xml_uuid_normalize(const char *in, char out[37], struct vx_err *err)
{
	unsigned char b[16];
	size_t j = 0;

	if (!in) {
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
			if (fd >= 0)
				close(fd);
			return vx_err_errno(err, -EIO, "cannot read /dev/urandom");
		}
		close(fd);
		b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
		b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
		snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
			 "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
			 b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
			 b[14], b[15]);
		return 0;
	}
	/* libvirt accepts hex digits with optional dashes between byte pairs. */
	for (const char *p = in; *p; p++) {
		if (*p == '-' && j % 2 == 0)
			continue;
		if (!isxdigit((unsigned char)*p) || j >= 32)
			return vx_err_set(err, -EINVAL, "invalid uuid '%.60s'", in);
		b[j / 2] = (unsigned char)(j % 2 ? b[j / 2] | (isdigit((unsigned char)*p) ?
			*p - '0' : tolower((unsigned char)*p) - 'a' + 10) :
			(isdigit((unsigned char)*p) ? *p - '0' :
			 tolower((unsigned char)*p) - 'a' + 10) << 4);
		j++;
	}
	if (j != 32)
		return vx_err_set(err, -EINVAL, "invalid uuid '%.60s'", in);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
		 b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

static int xml_valid_mac(char *mac)
{
	if (strlen(mac) != 17)
		return 0;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (mac[i] != ':')
				return 0;
		} else if (!isxdigit((unsigned char)mac[i])) {
			return 0;
		}
		mac[i] = (char)tolower((unsigned char)mac[i]);
	}
	/* A multicast address cannot be a NIC's. */
	return (strtoul(mac, NULL, 16) & 1) == 0;
}

static char *xml_random_mac(void)
{
	char uuid[37], *mac = malloc(18);

	if (!mac || xml_uuid_normalize(NULL, uuid, NULL) < 0) {
		free(mac);
		return NULL;
	}
	/* 52:54:00 is the locally administered prefix libvirt/QEMU use. */
	snprintf(mac, 18, "52:54:00:%.2s:%.2s:%.2s", uuid, uuid + 2, uuid + 4);
	return mac;
}

/* Reads attribute name into *out, checking it against set (NULL: any). */
static int xml_attr_in(xmlNode *n, const char *name, const char *const *set,
		       const char *expected, int required, char **out,
		       struct vx_err *err)
{
	char *v = xml_attr(n, name);

	if (!v) {
		if (required)
			return xml_refuse(n, err, -EINVAL, "missing attribute",
					  name);
		return 0;
	}
	if (set && !xml_in(v, set)) {
		int rc = xml_bad_value(n, name, v, expected, err);

		free(v);
		return rc;
	}
	free(*out);
	*out = v;
	return 0;
}

static int xml_uint_attr(xmlNode *n, const char *name, unsigned max,
			 unsigned *out, struct vx_err *err)
{
	char *v = xml_attr(n, name), *end;
	unsigned long x;

	if (!v)
		return xml_refuse(n, err, -EINVAL, "missing attribute", name);
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || *end || end == v || x > max || !isdigit((unsigned char)v[0])) {
		int rc = xml_bad_value(n, name, v, NULL, err);

		free(v);
		return rc;
	}
	free(v);
	*out = (unsigned)x;
	return 0;
}

/* ---- <os> ---- */

static int xml_os_child(xmlNode *c, void *arg, struct vx_err *err)
{
	static const char *const type_attrs[] = { "arch", "machine", NULL };
	static const char *const boot_attrs[] = { "dev", NULL };
	static const char *const arches[] = { "x86_64", NULL };
	static const char *const devs[] = { "hd", "cdrom", "network", NULL };
	struct xml_domain *d = arg;
	char *v = NULL;
	int rc;

	if (IS(c, "type")) {
		if ((rc = xml_check_attrs(c, type_attrs, err)) < 0 ||
		    (rc = xml_attr_in(c, "arch", arches, "x86_64", 0,
				      &d->xdom_arch, err)) < 0 ||
		    (rc = xml_attr_in(c, "machine", NULL, NULL, 0,
				      &d->xdom_machine, err)) < 0 ||
		    (rc = xml_text(c, &v, err)) < 0)
			return rc;
		if (strcmp(v, "hvm") != 0)
			rc = xml_bad_value(c, NULL, v, "hvm", err);
		free(v);
		return rc;
	}
	if (IS(c, "kernel") || IS(c, "initrd") || IS(c, "cmdline")) {
		char **f = IS(c, "kernel") ? &d->xdom_kernel :
			   IS(c, "initrd") ? &d->xdom_initrd : &d->xdom_cmdline;

		if ((rc = xml_check_attrs(c, xml_no_attrs, err)) < 0 ||
		    (rc = xml_dup_elem(c, *f, err)) < 0)
			return rc;
		return xml_text(c, f, err);
	}
	if (IS(c, "boot")) {
		if ((rc = xml_check_attrs(c, boot_attrs, err)) < 0 ||
		    (rc = xml_attr_in(c, "dev", devs, "hd, cdrom or network", 1,
				      &v, err)) < 0)
			return rc;
		if (d->xdom_nboot == 4) {
			free(v);
			return xml_refuse(c, err, -EINVAL, "too many boot devices at", NULL);
		}
		d->xdom_boot[d->xdom_nboot++] = v;
		return 0;
	}
	return xml_unsupported(c, err);
}

static int xml_features_child(xmlNode *c, void *arg, struct vx_err *err)
{
	struct xml_domain *d = arg;
	unsigned bit;
	int rc;

	if (IS(c, "acpi"))
		bit = XML_FEAT_ACPI;
	else if (IS(c, "apic"))
		bit = XML_FEAT_APIC;
	else if (IS(c, "pae"))
		bit = XML_FEAT_PAE;
	else
		return xml_unsupported(c, err);
	if ((rc = xml_check_attrs(c, xml_no_attrs, err)) < 0)
		return rc;
	if (c->children)
		for (xmlNode *k = c->children; k; k = k->next)
			if (k->type == XML_ELEMENT_NODE)
				return xml_unsupported(k, err);
	d->xdom_features |= bit;
	return 0;
}

static int xml_cpu_child(xmlNode *c, void *arg, struct vx_err *err)
{
	static const char *const topo_attrs[] = { "sockets", "cores", "threads", NULL };
	struct xml_domain *d = arg;
	int rc;

	if (!IS(c, "topology"))
		return xml_unsupported(c, err);
	if ((rc = xml_check_attrs(c, topo_attrs, err)) < 0 ||
	    (rc = xml_uint_attr(c, "sockets", 255, &d->xdom_sockets, err)) < 0 ||
	    (rc = xml_uint_attr(c, "cores", 255, &d->xdom_cores, err)) < 0 ||
	    (rc = xml_uint_attr(c, "threads", 255, &d->xdom_threads, err)) < 0)
		return rc;
	if (!d->xdom_sockets || !d->xdom_cores || !d->xdom_threads)
		return xml_refuse(c, err, -EINVAL, "zero in topology", NULL);
	return 0;
}

/* ---- <devices> ---- */

static const char *const xml_formats[] = { "raw", "qcow2", NULL };

struct xml_disk_ctx {
	struct xml_disk *disk;
	int in_backing;
};

static int xml_disk_child(xmlNode *c, void *arg, struct vx_err *err);

static int xml_backing(xmlNode *c, struct xml_disk *k, struct vx_err *err)
{
	static const char *const attrs[] = { "type", "index", NULL };
	static const char *const types[] = { "file", NULL };
	struct xml_disk_ctx ctx = { k, 1 };
	char *t = NULL;
	int rc;

	if (k->xd_backing || k->xd_backing_format)
		return xml_refuse(c, err, -EINVAL, "duplicate element", NULL);
	if (!c->children && !c->properties)
		return 0; /* <backingStore/>: explicitly no backing file */
	if ((rc = xml_check_attrs(c, attrs, err)) < 0 ||
	    (rc = xml_attr_in(c, "type", types, "file", 1, &t, err)) < 0)
		return rc;
	free(t);
	if ((rc = xml_children(c, xml_disk_child, &ctx, err)) < 0)
		return rc;
	if (!k->xd_backing)
		return xml_refuse(c, err, -EINVAL, "missing <source file=...> in", NULL);
	if (!k->xd_backing_format)
		return xml_refuse(c, err, -EINVAL, "missing <format type=...> in", NULL);
	return 0;
}

static int xml_disk_child(xmlNode *c, void *arg, struct vx_err *err)
{
	static const char *const drv_attrs[] = { "name", "type", NULL };
	static const char *const drv_names[] = { "qemu", NULL };
	static const char *const src_attrs[] = { "file", NULL };
	static const char *const tgt_attrs[] = { "dev", "bus", NULL };
	static const char *const buses[] = { "virtio", NULL };
	static const char *const fmt_attrs[] = { "type", NULL };
	struct xml_disk_ctx *ctx = arg;
	struct xml_disk *k = ctx->disk;
	char *v = NULL;
	int rc;

	if (ctx->in_backing) {
		if (IS(c, "format")) {
			if ((rc = xml_check_attrs(c, fmt_attrs, err)) < 0)
				return rc;
			return xml_attr_in(c, "type", xml_formats, "raw or qcow2", 1,
					   &k->xd_backing_format, err);
		}
		if (IS(c, "source")) {
			if ((rc = xml_check_attrs(c, src_attrs, err)) < 0)
				return rc;
			return xml_attr_in(c, "file", NULL, NULL, 1, &k->xd_backing, err);
		}
		if (IS(c, "backingStore") && !c->children && !c->properties)
			return 0; /* end of chain */
		return xml_unsupported(c, err);
	}
	if (IS(c, "driver")) {
		if ((rc = xml_check_attrs(c, drv_attrs, err)) < 0 ||
		    (rc = xml_attr_in(c, "name", drv_names, "qemu", 0, &v, err)) < 0)
			return rc;
		free(v);
		return xml_attr_in(c, "type", xml_formats, "raw or qcow2", 0,
				   &k->xd_format, err);
	}
	if (IS(c, "source")) {
		if ((rc = xml_check_attrs(c, src_attrs, err)) < 0 ||
		    (rc = xml_dup_elem(c, k->xd_source, err)) < 0)
			return rc;
		return xml_attr_in(c, "file", NULL, NULL, 1, &k->xd_source, err);
	}
	if (IS(c, "target")) {
		if ((rc = xml_check_attrs(c, tgt_attrs, err)) < 0 ||
		    (rc = xml_dup_elem(c, k->xd_target, err)) < 0 ||
		    (rc = xml_attr_in(c, "bus", buses, "virtio", 0, &v, err)) < 0 ||
		    (rc = xml_attr_in(c, "dev", NULL, NULL, 1, &k->xd_target, err)) < 0) {
			free(v);
			return rc;
		}
		free(v);
		if (strncmp(k->xd_target, "vd", 2) != 0 || !k->xd_target[2] ||
		    strlen(k->xd_target) > 4 ||
		    strspn(k->xd_target + 2, "abcdefghijklmnopqrstuvwxyz") !=
		    strlen(k->xd_target) - 2)
			return xml_bad_value(c, "dev", k->xd_target, "vda, vdb, ...", err);
		return 0;
	}
	if (IS(c, "readonly")) {
		if ((rc = xml_check_attrs(c, xml_no_attrs, err)) < 0)
			return rc;
		k->xd_readonly = 1;
		return 0;
	}
	if (IS(c, "backingStore"))
		return xml_backing(c, k, err);
	return xml_unsupported(c, err);
}

static int xml_disk(xmlNode *n, struct xml_domain *d, struct vx_err *err)
{
	static const char *const attrs[] = { "type", "device", NULL };
	static const char *const types[] = { "file", NULL };
	static const char *const devices[] = { "disk", "cdrom", NULL };
	struct xml_disk *k, *nd;
	struct xml_disk_ctx ctx;
	char *t = NULL;
	int rc;

	nd = realloc(d->xdom_disks, (d->xdom_ndisks + 1) * sizeof(*nd));
	if (!nd)
		return vx_err_set(err, -ENOMEM, "out of memory");
	d->xdom_disks = nd;
	k = &nd[d->xdom_ndisks++];
	memset(k, 0, sizeof(*k));
	ctx.disk = k;
	ctx.in_backing = 0;
	if ((rc = xml_check_attrs(n, attrs, err)) < 0 ||
	    (rc = xml_attr_in(n, "type", types, "file", 1, &t, err)) < 0)
		return rc;
	free(t);
	if ((rc = xml_attr_in(n, "device", devices, "disk or cdrom", 0,
			      &k->xd_device, err)) < 0 ||
	    (rc = xml_children(n, xml_disk_child, &ctx, err)) < 0)
		return rc;
	if (!k->xd_device)
		k->xd_device = strdup("disk");
	if (!k->xd_format)
		k->xd_format = strdup("raw");
	if (!k->xd_target)
		return xml_refuse(n, err, -EINVAL, "missing <target dev=...> in", NULL);
	if (!k->xd_source && strcmp(k->xd_device, "disk") == 0)
		return xml_refuse(n, err, -EINVAL, "missing <source file=...> in", NULL);
	if (k->xd_backing && strcmp(k->xd_format, "qcow2") != 0)
		return xml_refuse(n, err, -EINVAL, "backing file needs qcow2 in", NULL);
	for (size_t i = 0; i + 1 < d->xdom_ndisks; i++)
		if (strcmp(d->xdom_disks[i].xd_target, k->xd_target) == 0)
			return xml_bad_value(n, NULL, k->xd_target,
					     "a target not used twice", err);
	return 0;
}

static int xml_iface_child(xmlNode *c, void *arg, struct vx_err *err)
{
	static const char *const mac_attrs[] = { "address", NULL };
	static const char *const tgt_attrs[] = { "dev", NULL };
	static const char *const model_attrs[] = { "type", NULL };
	static const char *const models[] = { "virtio", NULL };
	static const char *const src_bridge[] = { "bridge", NULL };
	static const char *const src_network[] = { "network", NULL };
	struct xml_iface *i = arg;
	int rc;

	if (IS(c, "mac")) {
		if ((rc = xml_check_attrs(c, mac_attrs, err)) < 0 ||
		    (rc = xml_dup_elem(c, i->xi_mac, err)) < 0 ||
		    (rc = xml_attr_in(c, "address", NULL, NULL, 1, &i->xi_mac, err)) < 0)
			return rc;
		if (!xml_valid_mac(i->xi_mac))
			return xml_bad_value(c, "address", i->xi_mac,
					     "a unicast aa:bb:cc:dd:ee:ff", err);
		return 0;
	}
	if (IS(c, "source")) {
		int bridge = strcmp(i->xi_type, "bridge") == 0;

		if (strcmp(i->xi_type, "ethernet") == 0)
			return xml_unsupported(c, err);
		if ((rc = xml_check_attrs(c, bridge ? src_bridge : src_network, err)) < 0 ||
		    (rc = xml_dup_elem(c, i->xi_source, err)) < 0)
			return rc;
		return xml_attr_in(c, bridge ? "bridge" : "network", NULL, NULL, 1,
				   &i->xi_source, err);
	}
	if (IS(c, "target")) {
		if ((rc = xml_check_attrs(c, tgt_attrs, err)) < 0 ||
		    (rc = xml_dup_elem(c, i->xi_target, err)) < 0)
			return rc;
		return xml_attr_in(c, "dev", NULL, NULL, 1, &i->xi_target, err);
	}
	if (IS(c, "model")) {
		if ((rc = xml_check_attrs(c, model_attrs, err)) < 0)
			return rc;
		return xml_attr_in(c, "type", models, "virtio", 1, &i->xi_model, err);
	}
	return xml_unsupported(c, err);
}

static int xml_iface(xmlNode *n, struct xml_domain *d, struct vx_err *err)
{
	static const char *const attrs[] = { "type", NULL };
	static const char *const types[] = { "bridge", "ethernet", "network", NULL };
	struct xml_iface *i, *ni;
	int rc;

	ni = realloc(d->xdom_ifaces, (d->xdom_nifaces + 1) * sizeof(*ni));
	if (!ni)
		return vx_err_set(err, -ENOMEM, "out of memory");
	d->xdom_ifaces = ni;
	i = &ni[d->xdom_nifaces++];
	memset(i, 0, sizeof(*i));
	if ((rc = xml_check_attrs(n, attrs, err)) < 0 ||
	    (rc = xml_attr_in(n, "type", types, "bridge, ethernet or network", 1,
			      &i->xi_type, err)) < 0 ||
	    (rc = xml_children(n, xml_iface_child, i, err)) < 0)
		return rc;
	if (!i->xi_source && strcmp(i->xi_type, "ethernet") != 0)
		return xml_refuse(n, err, -EINVAL, "missing <source> in", NULL);
	if (!i->xi_mac && !(i->xi_mac = xml_random_mac()))
		return vx_err_set(err, -EIO, "cannot generate a MAC address");
	return 0;
}

static int xml_char_child(xmlNode *c, void *arg, struct vx_err *err)
{
	static const char *const src_file[] = { "path", NULL };
	static const char *const src_unix[] = { "mode", "path", NULL };
	static const char *const modes[] = { "bind", "connect", NULL };
	static const char *const ser_tgt[] = { "port", NULL };
	static const char *const con_tgt[] = { "type", "port", NULL };
	static const char *const con_types[] = { "serial", "virtio", NULL };
	struct xml_chardev *ch = arg;
	unsigned port;
	int rc;

	if (IS(c, "source")) {
		int is_unix = strcmp(ch->xc_type, "unix") == 0;

		if (strcmp(ch->xc_type, "pty") == 0)
			return xml_unsupported(c, err);
		if ((rc = xml_check_attrs(c, is_unix ? src_unix : src_file, err)) < 0 ||
		    (rc = xml_dup_elem(c, ch->xc_path, err)) < 0 ||
		    (rc = xml_attr_in(c, "path", NULL, NULL, 1, &ch->xc_path, err)) < 0)
			return rc;
		if (is_unix)
			return xml_attr_in(c, "mode", modes, "bind or connect", 0,
					   &ch->xc_mode, err);
		return 0;
	}
	if (IS(c, "target")) {
		if ((rc = xml_check_attrs(c, ch->xc_console ? con_tgt : ser_tgt,
					  err)) < 0)
			return rc;
		if (ch->xc_console &&
		    (rc = xml_attr_in(c, "type", con_types, "serial or virtio", 0,
				      &ch->xc_target_type, err)) < 0)
			return rc;
		if (xmlHasProp(c, XML_STR("port"))) {
			if ((rc = xml_uint_attr(c, "port", 3, &port, err)) < 0)
				return rc;
			ch->xc_port = (int)port;
		}
		return 0;
	}
	return xml_unsupported(c, err);
}

static int xml_chardev(xmlNode *n, struct xml_domain *d, int console,
		       struct vx_err *err)
{
	static const char *const attrs[] = { "type", NULL };
	static const char *const types[] = { "pty", "file", "unix", NULL };
	struct xml_chardev *ch, *nc;
	int rc;

	nc = realloc(d->xdom_chars, (d->xdom_nchars + 1) * sizeof(*nc));
	if (!nc)
		return vx_err_set(err, -ENOMEM, "out of memory");
	d->xdom_chars = nc;
	ch = &nc[d->xdom_nchars++];
	memset(ch, 0, sizeof(*ch));
	ch->xc_console = console;
	if ((rc = xml_check_attrs(n, attrs, err)) < 0 ||
	    (rc = xml_attr_in(n, "type", types, "pty, file or unix", 1,
			      &ch->xc_type, err)) < 0 ||
	    (rc = xml_children(n, xml_char_child, ch, err)) < 0)
		return rc;
	if (!ch->xc_path && strcmp(ch->xc_type, "pty") != 0)
		return xml_refuse(n, err, -EINVAL, "missing <source path=...> in", NULL);
	if (strcmp(ch->xc_type, "unix") == 0 && !ch->xc_mode)
		ch->xc_mode = strdup("bind");
	if (console && !ch->xc_target_type)
		ch->xc_target_type = strdup("serial");
	return 0;
}

static int xml_devices_child(xmlNode *c, void *arg, struct vx_err *err)
{
	struct xml_domain *d = arg;

	if (IS(c, "disk"))
		return xml_disk(c, d, err);
	if (IS(c, "interface"))
		return xml_iface(c, d, err);
	if (IS(c, "serial"))
		return xml_chardev(c, d, 0, err);
	if (IS(c, "console"))
		return xml_chardev(c, d, 1, err);
	return xml_unsupported(c, err);
}

/* ---- <domain> ---- */

/* Serializes the children of <metadata> with their namespaces declared. */
static int xml_metadata(xmlNode *n, struct xml_domain *d, struct vx_err *err)
{
	xmlBufferPtr buf;
	xmlDocPtr tmp;
	int rc = 0;

	if ((rc = xml_check_attrs(n, xml_no_attrs, err)) < 0 ||
	    (rc = xml_dup_elem(n, d->xdom_metadata, err)) < 0)
		return rc;
	buf = xmlBufferCreate();
	tmp = xmlNewDoc(XML_STR("1.0"));
	if (!buf || !tmp) {
		xmlBufferFree(buf);
		xmlFreeDoc(tmp);
		return vx_err_set(err, -ENOMEM, "out of memory");
	}
	for (xmlNode *c = n->children; c; c = c->next) {
		xmlNode *copy;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!c->ns) {
			rc = xml_refuse(c, err, -EINVAL,
					"metadata element without a namespace at", NULL);
			break;
		}
		copy = xmlDocCopyNode(c, tmp, 1);
		if (!copy) {
			rc = vx_err_set(err, -ENOMEM, "out of memory");
			break;
		}
		xmlDocSetRootElement(tmp, copy);
		xmlNodeDump(buf, tmp, copy, 0, 0);
		/* Setting the next root would only unlink this one. */
		xmlUnlinkNode(copy);
		xmlFreeNode(copy);
	}
	if (rc == 0)
		d->xdom_metadata = strdup((const char *)xmlBufferContent(buf));
	xmlBufferFree(buf);
	xmlFreeDoc(tmp);
	return rc;
}

static int xml_memory(xmlNode *c, uint64_t *kib, struct vx_err *err)
{
	static const char *const attrs[] = { "unit", NULL };
	char *v = NULL, *unit = xml_attr(c, "unit");
	int rc;

	if ((rc = xml_check_attrs(c, attrs, err)) < 0 ||
	    (rc = xml_dup_elem(c, *kib ? c : NULL, err)) < 0 ||
	    (rc = xml_text(c, &v, err)) < 0)
		goto out;
	rc = xml_parse_memory(v, unit, kib, err);
	if (rc == 0 && *kib == 0)
		rc = vx_err_set(err, -EINVAL, "zero memory");
	if (rc < 0) {
		char detail[300];
		xmlChar *path = xmlGetNodePath(c);

		snprintf(detail, sizeof(detail), "%s", err ? err->msg : "");
		vx_err_set(err, rc, "invalid value at %s: %s", (char *)path, detail);
		xmlFree(path);
	}
out:
	free(v);
	free(unit);
	return rc;
}

static int xml_domain_child(xmlNode *c, void *arg, struct vx_err *err)
{
	static const char *const vcpu_attrs[] = { "placement", NULL };
	static const char *const placement[] = { "static", NULL };
	static const char *const cpu_attrs[] = { "mode", NULL };
	static const char *const cpu_modes[] = { "host-passthrough", "host-model", NULL };
	static const char *const clock_attrs[] = { "offset", NULL };
	static const char *const offsets[] = { "utc", "localtime", NULL };
	static const char *const actions[] = { "destroy", "restart", NULL };
	struct xml_domain *d = arg;
	char *v = NULL;
	int rc;

	if (IS(c, "name") || IS(c, "title") || IS(c, "description")) {
		char **f = IS(c, "name") ? &d->xdom_name :
			   IS(c, "title") ? &d->xdom_title : &d->xdom_description;

		if ((rc = xml_check_attrs(c, xml_no_attrs, err)) < 0 ||
		    (rc = xml_dup_elem(c, *f, err)) < 0 ||
		    (rc = xml_text(c, f, err)) < 0)
			return rc;
		if (f == &d->xdom_title && strchr(*f, '\n'))
			return xml_bad_value(c, NULL, *f, "a single line", err);
		return 0;
	}
	if (IS(c, "uuid")) {
		if ((rc = xml_check_attrs(c, xml_no_attrs, err)) < 0 ||
		    (rc = xml_dup_elem(c, d->xdom_uuid[0] ? c : NULL, err)) < 0 ||
		    (rc = xml_text(c, &v, err)) < 0)
			return rc;
		rc = xml_uuid_normalize(v, d->xdom_uuid, NULL);
		if (rc < 0)
			rc = xml_bad_value(c, NULL, v, "a uuid", err);
		free(v);
		return rc;
	}
	if (IS(c, "metadata"))
		return xml_metadata(c, d, err);
	if (IS(c, "memory"))
		return xml_memory(c, &d->xdom_memory_kib, err);
	if (IS(c, "currentMemory"))
		return xml_memory(c, &d->xdom_current_kib, err);
	if (IS(c, "vcpu")) {
		char *end;
		unsigned long n;

		if ((rc = xml_check_attrs(c, vcpu_attrs, err)) < 0 ||
		    (rc = xml_attr_in(c, "placement", placement, "static", 0,
				      &v, err)) < 0)
			return rc;
		free(v);
		v = NULL;
		if ((rc = xml_dup_elem(c, d->xdom_vcpu ? c : NULL, err)) < 0 ||
		    (rc = xml_text(c, &v, err)) < 0)
			return rc;
		errno = 0;
		n = strtoul(v, &end, 10);
		if (errno || *end || end == v || n < 1 || n > 255 ||
		    !isdigit((unsigned char)v[0]))
			rc = xml_bad_value(c, NULL, v, "1 to 255", err);
		else
			d->xdom_vcpu = (unsigned)n;
		free(v);
		return rc;
	}
	if (IS(c, "os")) {
		if ((rc = xml_check_attrs(c, xml_no_attrs, err)) < 0)
			return rc;
		return xml_children(c, xml_os_child, d, err);
	}
	if (IS(c, "features")) {
		if ((rc = xml_check_attrs(c, xml_no_attrs, err)) < 0)
			return rc;
		return xml_children(c, xml_features_child, d, err);
	}
	if (IS(c, "cpu")) {
		if ((rc = xml_check_attrs(c, cpu_attrs, err)) < 0 ||
		    (rc = xml_dup_elem(c, d->xdom_cpu_mode, err)) < 0 ||
		    (rc = xml_attr_in(c, "mode", cpu_modes,
				      "host-passthrough or host-model", 1,
				      &d->xdom_cpu_mode, err)) < 0)
			return rc;
		return xml_children(c, xml_cpu_child, d, err);
	}
	if (IS(c, "clock")) {
		if ((rc = xml_check_attrs(c, clock_attrs, err)) < 0 ||
		    (rc = xml_dup_elem(c, d->xdom_clock, err)) < 0 ||
		    (rc = xml_attr_in(c, "offset", offsets, "utc or localtime", 1,
				      &d->xdom_clock, err)) < 0)
			return rc;
		return xml_children(c, xml_unsupported_fn, NULL, err);
	}
	if (IS(c, "on_poweroff") || IS(c, "on_reboot") || IS(c, "on_crash")) {
		char **f = IS(c, "on_poweroff") ? &d->xdom_on_poweroff :
			   IS(c, "on_reboot") ? &d->xdom_on_reboot : &d->xdom_on_crash;

		if ((rc = xml_check_attrs(c, xml_no_attrs, err)) < 0 ||
		    (rc = xml_dup_elem(c, *f, err)) < 0 ||
		    (rc = xml_text(c, &v, err)) < 0)
			return rc;
		if (!xml_in(v, actions)) {
			rc = xml_bad_value(c, NULL, v, "destroy or restart", err);
			free(v);
			return rc;
		}
		*f = v;
		return 0;
	}
	if (IS(c, "devices")) {
		if ((rc = xml_check_attrs(c, xml_no_attrs, err)) < 0)
			return rc;
		return xml_children(c, xml_devices_child, d, err);
	}
	return xml_unsupported(c, err);
}

/* Checks across elements, after the whole document was read. */
static int xml_domain_check(xmlNode *root, struct xml_domain *d,
			    struct vx_err *err)
{
	const char *p;

	if (!d->xdom_name || !d->xdom_name[0])
		return vx_err_set(err, -EINVAL, "missing element /domain/name");
	if (strlen(d->xdom_name) >= XML_NAME_MAX)
		return vx_err_set(err, -EINVAL,
				  "invalid value at /domain/name: longer than %d bytes",
				  XML_NAME_MAX - 1);
	for (p = d->xdom_name; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return vx_err_set(err, -EINVAL,
					  "invalid value at /domain/name: '/' and control characters are not allowed");
	if (d->xdom_name[0] == '.' || d->xdom_name[0] == '-')
		return vx_err_set(err, -EINVAL,
				  "invalid value at /domain/name: must not start with '.' or '-'");
	if (!d->xdom_memory_kib)
		return vx_err_set(err, -EINVAL, "missing element /domain/memory");
	if (!d->xdom_current_kib)
		d->xdom_current_kib = d->xdom_memory_kib;
	if (d->xdom_current_kib > d->xdom_memory_kib)
		return vx_err_set(err, -EINVAL,
				  "invalid value at /domain/currentMemory: larger than /domain/memory");
	if (!d->xdom_vcpu)
		d->xdom_vcpu = 1;
	if (d->xdom_sockets &&
	    d->xdom_sockets * d->xdom_cores * d->xdom_threads != d->xdom_vcpu)
		return vx_err_set(err, -EINVAL,
				  "invalid value at /domain/cpu/topology: sockets*cores*threads = %u, /domain/vcpu = %u",
				  d->xdom_sockets * d->xdom_cores * d->xdom_threads,
				  d->xdom_vcpu);
	if ((d->xdom_initrd || d->xdom_cmdline) && !d->xdom_kernel)
		return vx_err_set(err, -EINVAL,
				  "invalid value at /domain/os: initrd or cmdline without kernel");
	if (!d->xdom_uuid[0] && xml_uuid_normalize(NULL, d->xdom_uuid, err) < 0)
		return -EIO;
	(void)root;
	return 0;
}

int xml_domain_parse(const char *xml, size_t len, struct xml_domain **out,
		     struct vx_err *err)
{
	/* id: the runtime id `virsh dumpxml` prints; ignored on define, as libvirt does. */
	static const char *const root_attrs[] = { "type", "id", NULL };
	static const char *const types[] = { "kvm", "test", NULL };
	struct xml_domain *d;
	xmlDocPtr doc;
	xmlNode *root;
	int rc;

	*out = NULL;
	if (len > (1u << 20))
		return vx_err_set(err, -EINVAL, "domain XML larger than 1 MiB");
	/* NONET: never fetch anything; no NOENT: entities are not expanded. */
	doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
			    XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (!doc) {
		const xmlError *e = xmlGetLastError();

		rc = vx_err_set(err, -EINVAL, "domain XML not well-formed: line %d: %s",
				e ? e->line : 0, e && e->message ? e->message : "?");
		if (err) {
			size_t l = strlen(err->msg);

			if (l && err->msg[l - 1] == '\n')
				err->msg[l - 1] = '\0';
		}
		return rc;
	}
	if (doc->intSubset || doc->extSubset) {
		xmlFreeDoc(doc);
		return vx_err_set(err, -EINVAL, "domain XML with a DTD is refused");
	}
	root = xmlDocGetRootElement(doc);
	d = calloc(1, sizeof(*d));
	if (!d) {
		xmlFreeDoc(doc);
		return vx_err_set(err, -ENOMEM, "out of memory");
	}
	if (!root || !IS(root, "domain") || root->ns) {
		rc = vx_err_set(err, -EINVAL, "root element is not <domain>");
		goto fail;
	}
	if ((rc = xml_check_attrs(root, root_attrs, err)) < 0 ||
	    (rc = xml_attr_in(root, "type", types, "kvm or test", 1,
			      &d->xdom_type, err)) < 0 ||
	    (rc = xml_children(root, xml_domain_child, d, err)) < 0 ||
	    (rc = xml_domain_check(root, d, err)) < 0)
		goto fail;
	xmlFreeDoc(doc);
	*out = d;
	return 0;
fail:
	xmlFreeDoc(doc);
	xml_domain_free(d);
	return rc;
}

/* ---- formatting ---- */

static xmlNode *xml_add(xmlNode *parent, const char *name, const char *text)
{
	return xmlNewTextChild(parent, NULL, XML_STR(name), XML_STR(text));
}

static void xml_set(xmlNode *n, const char *name, const char *value)
{
	if (value)
		xmlNewProp(n, XML_STR(name), XML_STR(value));
}

static void xml_format_metadata(xmlNode *root, const char *meta)
{
	xmlNode *m = xml_add(root, "metadata", NULL);
	char *wrapped;
	xmlDocPtr tmp;
	size_t n = strlen(meta) + 32;

	wrapped = malloc(n);
	if (!wrapped)
		return;
	snprintf(wrapped, n, "<m>%s</m>", meta);
	tmp = xmlReadMemory(wrapped, (int)strlen(wrapped), "metadata.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOBLANKS |
			    XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	free(wrapped);
	if (!tmp)
		return;
	for (xmlNode *c = xmlDocGetRootElement(tmp)->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			xmlAddChild(m, xmlDocCopyNode(c, root->doc, 1));
	xmlFreeDoc(tmp);
}

static void xml_format_chardev(xmlNode *devs, const struct xml_chardev *c)
{
	xmlNode *n = xml_add(devs, c->xc_console ? "console" : "serial", NULL);
	xmlNode *t;
	char port[16];

	xml_set(n, "type", c->xc_type);
	if (c->xc_path) {
		xmlNode *s = xml_add(n, "source", NULL);

		xml_set(s, "mode", c->xc_mode);
		xml_set(s, "path", c->xc_path);
	}
	t = xml_add(n, "target", NULL);
	xml_set(t, "type", c->xc_target_type);
	snprintf(port, sizeof(port), "%d", c->xc_port);
	xml_set(t, "port", port);
}

int xml_domain_format(const struct xml_domain *d, char **out,
		      struct vx_err *err)
{
	xmlDocPtr doc = xmlNewDoc(XML_STR("1.0"));
	xmlNode *root, *n, *os, *devs;
	xmlBufferPtr buf;
	xmlSaveCtxtPtr save;
	char num[32];

	*out = NULL;
	if (!doc)
		return vx_err_set(err, -ENOMEM, "out of memory");
	root = xmlNewNode(NULL, XML_STR("domain"));
	xmlDocSetRootElement(doc, root);
	xml_set(root, "type", d->xdom_type);
	xml_add(root, "name", d->xdom_name);
	xml_add(root, "uuid", d->xdom_uuid);
	if (d->xdom_title)
		xml_add(root, "title", d->xdom_title);
	if (d->xdom_description)
		xml_add(root, "description", d->xdom_description);
	if (d->xdom_metadata)
		xml_format_metadata(root, d->xdom_metadata);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)d->xdom_memory_kib);
	xml_set(xml_add(root, "memory", num), "unit", "KiB");
	snprintf(num, sizeof(num), "%llu", (unsigned long long)d->xdom_current_kib);
	xml_set(xml_add(root, "currentMemory", num), "unit", "KiB");
	snprintf(num, sizeof(num), "%u", d->xdom_vcpu);
	xml_set(xml_add(root, "vcpu", num), "placement", "static");
	os = xml_add(root, "os", NULL);
	n = xml_add(os, "type", "hvm");
	xml_set(n, "arch", d->xdom_arch);
	xml_set(n, "machine", d->xdom_machine);
	if (d->xdom_kernel)
		xml_add(os, "kernel", d->xdom_kernel);
	if (d->xdom_initrd)
		xml_add(os, "initrd", d->xdom_initrd);
	if (d->xdom_cmdline)
		xml_add(os, "cmdline", d->xdom_cmdline);
	for (size_t i = 0; i < d->xdom_nboot; i++)
		xml_set(xml_add(os, "boot", NULL), "dev", d->xdom_boot[i]);
	if (d->xdom_features) {
		n = xml_add(root, "features", NULL);
		if (d->xdom_features & XML_FEAT_ACPI)
			xml_add(n, "acpi", NULL);
		if (d->xdom_features & XML_FEAT_APIC)
			xml_add(n, "apic", NULL);
		if (d->xdom_features & XML_FEAT_PAE)
			xml_add(n, "pae", NULL);
	}
	if (d->xdom_cpu_mode) {
		n = xml_add(root, "cpu", NULL);
		xml_set(n, "mode", d->xdom_cpu_mode);
		if (d->xdom_sockets) {
			xmlNode *t = xml_add(n, "topology", NULL);

			snprintf(num, sizeof(num), "%u", d->xdom_sockets);
			xml_set(t, "sockets", num);
			snprintf(num, sizeof(num), "%u", d->xdom_cores);
			xml_set(t, "cores", num);
			snprintf(num, sizeof(num), "%u", d->xdom_threads);
			xml_set(t, "threads", num);
		}
	}
	if (d->xdom_clock)
		xml_set(xml_add(root, "clock", NULL), "offset", d->xdom_clock);
	if (d->xdom_on_poweroff)
		xml_add(root, "on_poweroff", d->xdom_on_poweroff);
	if (d->xdom_on_reboot)
		xml_add(root, "on_reboot", d->xdom_on_reboot);
	if (d->xdom_on_crash)
		xml_add(root, "on_crash", d->xdom_on_crash);
	devs = xml_add(root, "devices", NULL);
	for (size_t i = 0; i < d->xdom_ndisks; i++) {
		const struct xml_disk *k = &d->xdom_disks[i];

		n = xml_add(devs, "disk", NULL);
		xml_set(n, "type", "file");
		xml_set(n, "device", k->xd_device);
		xmlNode *drv = xml_add(n, "driver", NULL);
		xml_set(drv, "name", "qemu");
		xml_set(drv, "type", k->xd_format);
		if (k->xd_source)
			xml_set(xml_add(n, "source", NULL), "file", k->xd_source);
		if (k->xd_backing) {
			xmlNode *b = xml_add(n, "backingStore", NULL);

			xml_set(b, "type", "file");
			xml_set(xml_add(b, "format", NULL), "type", k->xd_backing_format);
			xml_set(xml_add(b, "source", NULL), "file", k->xd_backing);
		}
		xmlNode *t = xml_add(n, "target", NULL);
		xml_set(t, "dev", k->xd_target);
		xml_set(t, "bus", "virtio");
		if (k->xd_readonly)
			xml_add(n, "readonly", NULL);
	}
	for (size_t i = 0; i < d->xdom_nifaces; i++) {
		const struct xml_iface *f = &d->xdom_ifaces[i];

		n = xml_add(devs, "interface", NULL);
		xml_set(n, "type", f->xi_type);
		xml_set(xml_add(n, "mac", NULL), "address", f->xi_mac);
		if (f->xi_source)
			xml_set(xml_add(n, "source", NULL),
				strcmp(f->xi_type, "bridge") == 0 ? "bridge" : "network",
				f->xi_source);
		if (f->xi_target)
			xml_set(xml_add(n, "target", NULL), "dev", f->xi_target);
		if (f->xi_model)
			xml_set(xml_add(n, "model", NULL), "type", f->xi_model);
	}
	for (size_t i = 0; i < d->xdom_nchars; i++)
		if (!d->xdom_chars[i].xc_console)
			xml_format_chardev(devs, &d->xdom_chars[i]);
	for (size_t i = 0; i < d->xdom_nchars; i++)
		if (d->xdom_chars[i].xc_console)
			xml_format_chardev(devs, &d->xdom_chars[i]);

	buf = xmlBufferCreate();
	save = buf ? xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_FORMAT |
				     XML_SAVE_NO_DECL) : NULL;
	if (!save) {
		xmlBufferFree(buf);
		xmlFreeDoc(doc);
		return vx_err_set(err, -ENOMEM, "out of memory");
	}
	xmlSaveDoc(save, doc);
	xmlSaveClose(save);
	*out = strdup((const char *)xmlBufferContent(buf));
	xmlBufferFree(buf);
	xmlFreeDoc(doc);
	return *out ? 0 : vx_err_set(err, -ENOMEM, "out of memory");
}

void xml_domain_free(struct xml_domain *d)
{
	if (!d)
		return;
	free(d->xdom_type);
	free(d->xdom_name);
	free(d->xdom_title);
	free(d->xdom_description);
	free(d->xdom_metadata);
	free(d->xdom_arch);
	free(d->xdom_machine);
	free(d->xdom_kernel);
	free(d->xdom_initrd);
	free(d->xdom_cmdline);
	for (size_t i = 0; i < d->xdom_nboot; i++)
		free(d->xdom_boot[i]);
	free(d->xdom_cpu_mode);
	free(d->xdom_clock);
	free(d->xdom_on_poweroff);
	free(d->xdom_on_reboot);
	free(d->xdom_on_crash);
	for (size_t i = 0; i < d->xdom_ndisks; i++) {
		struct xml_disk *k = &d->xdom_disks[i];

		free(k->xd_device);
		free(k->xd_format);
		free(k->xd_source);
		free(k->xd_target);
		free(k->xd_backing);
		free(k->xd_backing_format);
	}
	free(d->xdom_disks);
	for (size_t i = 0; i < d->xdom_nifaces; i++) {
		struct xml_iface *f = &d->xdom_ifaces[i];

		free(f->xi_type);
		free(f->xi_source);
		free(f->xi_mac);
		free(f->xi_target);
		free(f->xi_model);
	}
	free(d->xdom_ifaces);
	for (size_t i = 0; i < d->xdom_nchars; i++) {
		struct xml_chardev *c = &d->xdom_chars[i];

		free(c->xc_type);
		free(c->xc_path);
		free(c->xc_mode);
		free(c->xc_target_type);
	}
	free(d->xdom_chars);
	free(d);
}
