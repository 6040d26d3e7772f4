/*
 * runner_args: a runner's command line. Every runner gets its identity and
 * files (--uuid --name --xml --pidfile --listen-fd); the VMM runner of a
 * type 'kvm' domain also gets its machine (--kernel --initrd --cmdline
 * --memory --cpus), derived here from the XML vmxd already validated, so
 * the sandboxed VMM never parses XML. What the VMM cannot give yet is
 * refused here, naming the element, before any process starts: cdroms,
 * more than 4 disks, interfaces of type 'network' (vmxd has no network
 * driver), more than 2 interfaces.
 *
 * Interfaces: type 'ethernet' and 'bridge' become --nic tap=NAME,mac=MAC
 * [,bridge=BR] (virtio-net, the only model). The runner, still root when
 * it builds the machine, opens or creates the tap, brings it up and adds
 * it to the bridge before it drops privileges; a tap it created goes away
 * with it. Without <target dev=...> the kernel names the tap (vmxtap0...).
 */
#include "daemon/vmxd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/xml.h"

static int runner_args_add(struct runner_args *a, const char *s)
{
	if (a->argc + 1 >= RUNNER_ARGS_MAX)
		return -E2BIG;
	a->argv[a->argc] = strdup(s);
	if (!a->argv[a->argc])
		return -ENOMEM;
	a->argv[++a->argc] = NULL;
	return 0;
}

static int runner_args_pair(struct runner_args *a, const char *opt, const char *val)
{
	int rc = runner_args_add(a, opt);

	return rc ? rc : runner_args_add(a, val);
}

/* Each disk as the runner's --disk PATH,format=F[,readonly] (virtio-blk). */
static int runner_args_disks(struct runner_args *a, const struct xml_domain *d,
			     struct vx_err *err)
{
	char spec[4096];
	int rc = 0;

	for (size_t i = 0; i < d->xdom_ndisks && !rc; i++) {
		const struct xml_disk *k = &d->xdom_disks[i];

		if (strcmp(k->xd_device, "disk") != 0 || !k->xd_source)
			return vx_err_set(err, -ENOTSUP,
					  "domain '%s': /domain/devices/disk[%zu]: device '%s' is not supported by the vmxcore runner (virtio-blk disks only)",
					  d->xdom_name, i + 1, k->xd_device);
		if (strchr(k->xd_source, ','))
			return vx_err_set(err, -ENOTSUP,
					  "domain '%s': /domain/devices/disk[%zu]/source: a path with a comma cannot be passed to the runner",
					  d->xdom_name, i + 1);
		snprintf(spec, sizeof(spec), "%s%s%s%s", k->xd_source,
			 k->xd_format ? ",format=" : "", k->xd_format ? k->xd_format : "",
			 k->xd_readonly ? ",readonly" : "");
		rc = runner_args_pair(a, "--disk", spec);
	}
	return rc;
}

/* Each interface as the runner's --nic tap=NAME,mac=MAC[,bridge=BR]. */
static int runner_args_nics(struct runner_args *a, const struct xml_domain *d,
			    struct vx_err *err)
{
	char spec[256];
	int rc = 0;

	if (d->xdom_nifaces > 2)
		return vx_err_set(err, -ENOTSUP,
				  "domain '%s': /domain/devices/interface[3]: the vmxcore runner takes at most 2 interfaces",
				  d->xdom_name);
	for (size_t i = 0; i < d->xdom_nifaces && !rc; i++) {
		const struct xml_iface *f = &d->xdom_ifaces[i];
		const char *tap = f->xi_target ? f->xi_target : "vmxtap%d";

		if (strcmp(f->xi_type, "network") == 0)
			return vx_err_set(err, -ENOTSUP,
					  "domain '%s': /domain/devices/interface[%zu]: type 'network' needs a network driver, which vmxd does not have; use type 'bridge' or 'ethernet'",
					  d->xdom_name, i + 1);
		if (f->xi_model && strcmp(f->xi_model, "virtio") != 0)
			return vx_err_set(err, -ENOTSUP,
					  "domain '%s': /domain/devices/interface[%zu]/model: '%s' is not supported by the vmxcore runner (virtio only)",
					  d->xdom_name, i + 1, f->xi_model);
		if (strlen(tap) > 15 || strpbrk(tap, ",/ \t\n:") || !tap[0])
			return vx_err_set(err, -EINVAL,
					  "domain '%s': /domain/devices/interface[%zu]/target: '%s' is not an interface name (1 to 15 characters, no ',', '/', ':' or blanks)",
					  d->xdom_name, i + 1, tap);
		if (f->xi_source && (strlen(f->xi_source) > 15 || strpbrk(f->xi_source, ",/ \t\n:")))
			return vx_err_set(err, -EINVAL,
					  "domain '%s': /domain/devices/interface[%zu]/source: '%s' is not a bridge name",
					  d->xdom_name, i + 1, f->xi_source);
		snprintf(spec, sizeof(spec), "tap=%s,mac=%s%s%s", tap, f->xi_mac,
			 f->xi_source ? ",bridge=" : "", f->xi_source ? f->xi_source : "");
		rc = runner_args_pair(a, "--nic", spec);
	}
	return rc;
}

/* The machine of a type 'kvm' domain, or why it cannot run yet. */
static int runner_args_machine(struct runner_args *a, const char *xml, const char *name,
			       struct vx_err *err)
{
	struct xml_domain *d;
	char num[32];
	int rc = xml_domain_parse(xml, strlen(xml), &d, err);

	if (rc < 0)
		return rc;
	if (d->xdom_ndisks > 4)
		rc = vx_err_set(err, -ENOTSUP,
				"domain '%s': /domain/devices/disk[5]: the vmxcore runner takes at most 4 disks",
				name);
	else if (!d->xdom_kernel)
		rc = vx_err_set(err, -ENOTSUP,
				"domain '%s': /domain/os/kernel is required: the vmxcore runner boots Linux directly (no firmware)",
				name);
	if (!rc)
		rc = runner_args_pair(a, "--kernel", d->xdom_kernel);
	if (!rc && d->xdom_initrd)
		rc = runner_args_pair(a, "--initrd", d->xdom_initrd);
	if (!rc && d->xdom_cmdline)
		rc = runner_args_pair(a, "--cmdline", d->xdom_cmdline);
	if (!rc)
		rc = runner_args_disks(a, d, err);
	if (!rc)
		rc = runner_args_nics(a, d, err);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)((d->xdom_memory_kib + 1023) / 1024));
	if (!rc)
		rc = runner_args_pair(a, "--memory", num);
	snprintf(num, sizeof(num), "%u", d->xdom_vcpu ? d->xdom_vcpu : 1);
	if (!rc)
		rc = runner_args_pair(a, "--cpus", num);
	xml_domain_free(d);
	if (rc == -E2BIG || rc == -ENOMEM)
		vx_err_set(err, rc, "domain '%s': runner command line: %s", name, strerror(-rc));
	return rc;
}

/*
 * The simulation runner of a type 'test' domain gets its disks too: with
 * sim.disks on the command line it opens them as a VMM would (live
 * backups); without, it ignores them. Only what a VMM could open is passed.
 */
static int runner_args_sim_disks(struct runner_args *a, const char *xml)
{
	struct xml_domain *d;
	char spec[4096];
	int rc = 0;

	if (xml_domain_parse(xml, strlen(xml), &d, NULL) < 0)
		return 0;
	for (size_t i = 0; i < d->xdom_ndisks && !rc; i++) {
		const struct xml_disk *k = &d->xdom_disks[i];

		if (strcmp(k->xd_device, "disk") != 0 || !k->xd_source || strchr(k->xd_source, ','))
			continue;
		snprintf(spec, sizeof(spec), "%s%s%s%s", k->xd_source,
			 k->xd_format ? ",format=" : "", k->xd_format ? k->xd_format : "",
			 k->xd_readonly ? ",readonly" : "");
		rc = runner_args_pair(a, "--disk", spec);
	}
	xml_domain_free(d);
	return rc;
}

int runner_args_build(struct runner_args *a, const char *prog, const struct store_domain *sd,
		      const char *xml_path, const char *pidfile, struct vx_err *err)
{
	int rc;

	memset(a, 0, sizeof(*a));
	rc = runner_args_add(a, prog);
	if (!rc)
		rc = runner_args_pair(a, "--uuid", sd->sd_uuid);
	if (!rc)
		rc = runner_args_pair(a, "--name", sd->sd_name);
	if (!rc)
		rc = runner_args_pair(a, "--xml", xml_path);
	if (!rc)
		rc = runner_args_pair(a, "--pidfile", pidfile);
	if (!rc)
		rc = runner_args_pair(a, "--listen-fd", "3");
	if (!rc && strcmp(sd->sd_type, "kvm") == 0)
		rc = runner_args_machine(a, sd->sd_xml, sd->sd_name, err);
	else if (!rc && (rc = runner_args_sim_disks(a, sd->sd_xml)) != 0)
		vx_err_set(err, rc, "runner command line: %s", strerror(-rc));
	else if (rc)
		vx_err_set(err, rc, "runner command line: %s", strerror(-rc));
	if (rc)
		runner_args_free(a);
	return rc;
}

int runner_args_state_dir(struct runner_args *a, const char *dir)
{
	return runner_args_pair(a, "--state-dir", dir);
}

void runner_args_free(struct runner_args *a)
{
	for (int i = 0; i < a->argc; i++)
		free(a->argv[i]);
	memset(a, 0, sizeof(*a));
}
