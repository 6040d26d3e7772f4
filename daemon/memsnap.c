/*
 * memsnap: snapshots with memory of a running domain. The runner saves the
 * VM's state (vCPUs, devices, RAM: the VMM's snapshot.c; the simulation's
 * own state for type 'test') into <state dir>/snapshots/<uuid>/<file>
 * while the guest is paused, and, for a kvm domain, takes the qcow2
 * internal snapshot of each writable disk at the same instant (the disks
 * are open in the VMM). For a test domain vmxd snapshots the disks itself
 * once the simulation answered: no guest writes them.
 *
 * Crash safety as for disk snapshots: the row is recorded 'creating' with
 * its file before the runner is asked, and only an answer makes it 'ok';
 * a vmxd killed in between leaves a 'creating' row that the next start
 * removes with its file (stor_recover). A failed save removes both.
 *
 * Revert of a running domain to a memory snapshot: the runner goes back
 * in place (kvm: it applies the disks' snapshot itself; test: vmxd
 * applies it first) and the guest continues from the saved moment.
 *
 * Context: the loop thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/storage.h"
#include "daemon/store.h"
#include "daemon/vmxd.h"
#include "daemon/xml.h"

/* What a pending snapshot-save/-load needs when the runner answers. */
struct memsnap_op {
	char uuid[37];
	char domain[XML_NAME_MAX];
	char name[256];
	char file[64];
	char disks[1024];
	int vmxd_disks;		/* test domain: vmxd snapshots the disks itself */
	int revert;
};

/* The operation on snapshot name of domain sd, as its completion needs it. */
static struct memsnap_op *memsnap_op_new(const struct store_domain *sd, const char *name)
{
	struct memsnap_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	snprintf(op->uuid, sizeof(op->uuid), "%s", sd->sd_uuid);
	snprintf(op->domain, sizeof(op->domain), "%s", sd->sd_name);
	snprintf(op->name, sizeof(op->name), "%s", name);
	op->vmxd_disks = strcmp(sd->sd_type, "test") == 0;
	return op;
}

void memsnap_remove_file(struct vmxd *v, const char *uuid, const char *file)
{
	char dir[VMXD_PATH_MAX + 64], path[VMXD_PATH_MAX + 400];

	if (!file || !*file || strchr(file, '/'))
		return;
	runner_state_dir(v, uuid, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", path, strerror(errno));
}

/* The domain, its parsed XML and its attached runner; 0 when it is not
 * running (the caller takes the disk-only path). */
static int memsnap_domain(struct vmxd *v, json_object *args, struct store_domain *sd,
			  struct xml_domain **xd, struct vmxd_vm **vm, struct vx_err *err)
{
	const char *name;
	int rc;

	*xd = NULL;
	if ((rc = stor_arg_str(args, "name", 1, &name, err)) < 0 ||
	    (rc = store_domain_get(v->store, name, sd, err)) < 0)
		return rc;
	*vm = runner_find(v, sd->sd_uuid);
	if (!*vm) {
		store_domain_clear(sd);
		return 0;
	}
	if (!(*vm)->vm_hello) {
		rc = vx_err_set(err, -EBUSY, "domain '%s' is starting; try again", sd->sd_name);
		store_domain_clear(sd);
		return rc;
	}
	if ((rc = xml_domain_parse(sd->sd_xml, strlen(sd->sd_xml), xd, err)) < 0) {
		store_domain_clear(sd);
		return rc;
	}
	return 1;
}

/* The writable disks as "vda,vdb"; every one must be qcow2, or the disks
 * could not follow the memory back. */
static int memsnap_disks(const struct store_domain *sd, const struct xml_domain *xd,
			 char *out, size_t len, struct vx_err *err)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < xd->xdom_ndisks; i++) {
		const struct xml_disk *d = &xd->xdom_disks[i];

		if (!stor_disk_is(d, NULL))
			continue;
		if (!stor_disk_is(d, "qcow2"))
			return vx_err_set(err, -ENOTSUP,
					  "domain '%s': disk %s is %s; a memory snapshot needs every "
					  "writable disk in qcow2 (its internal snapshot keeps the disk "
					  "in step with memory)", sd->sd_name, d->xd_target, d->xd_format);
		n += (size_t)snprintf(out + n, len - n, "%s%s", n ? "," : "", d->xd_target);
		if (n >= len)
			return vx_err_set(err, -E2BIG, "too many disks");
	}
	return 0;
}

/* Runs op on the snapshot of every disk it lists (test domains). On a
 * failing create the ones made are deleted again. */
static int memsnap_vmxd_disks(struct vmxd *v, const struct memsnap_op *op, const char *verb,
			      struct vx_err *err)
{
	struct store_domain sd;
	struct xml_domain *xd = NULL;
	size_t done = 0;
	int rc;

	if ((rc = store_domain_get(v->store, op->uuid, &sd, err)) < 0)
		return rc;
	if ((rc = xml_domain_parse(sd.sd_xml, strlen(sd.sd_xml), &xd, err)) < 0)
		goto out;
	for (size_t i = 0; i < xd->xdom_ndisks && rc == 0; i++) {
		struct xml_disk *d = &xd->xdom_disks[i];

		if (!stor_disk_is(d, "qcow2") || !stor_list_has(op->disks, d->xd_target))
			continue;
		if ((rc = stor_snap_disk(d->xd_source, verb, op->name, err)) == 0)
			done = i + 1;
	}
	if (rc < 0 && strcmp(verb, "create") == 0)
		for (size_t i = 0; i < done; i++)
			if (stor_disk_is(&xd->xdom_disks[i], "qcow2") &&
			    stor_list_has(op->disks, xd->xdom_disks[i].xd_target))
				stor_snap_disk(xd->xdom_disks[i].xd_source, "delete", op->name, NULL);
	xml_domain_free(xd);
out:
	store_domain_clear(&sd);
	return rc;
}

/* The runner answered snapshot-save (or went away: code < 0). */
static void memsnap_create_done(struct vmxd *v, void *arg, int *code, char *msg,
				json_object **result)
{
	struct memsnap_op *op = arg;
	struct vx_err err = { 0 };
	int rc = *code;

	if (rc == 0 && op->vmxd_disks && op->disks[0])
		rc = memsnap_vmxd_disks(v, op, "create", &err);
	if (rc == 0)
		rc = store_snapshot_done(v->store, op->uuid, op->name, op->disks, &err);
	if (rc < 0) {
		if (err.msg[0])
			snprintf(msg, PROTO_ERRMSG_MAX, "%s", err.msg);
		memsnap_remove_file(v, op->uuid, op->file);
		store_snapshot_del(v->store, op->uuid, op->name, NULL);
		log_warn("domain %s: memory snapshot %s failed: %s", op->domain, op->name, msg);
		*code = rc;
		free(op);
		return;
	}
	if (*result)
		json_object_put(*result);
	*result = json_object_new_object();
	json_object_object_add(*result, "domain", json_object_new_string(op->domain));
	json_object_object_add(*result, "snapshot", json_object_new_string(op->name));
	json_object_object_add(*result, "disks", json_object_new_string(op->disks));
	json_object_object_add(*result, "memory", json_object_new_boolean(1));
	log_info("domain %s: snapshot %s created with memory (%s%s)", op->domain, op->name,
		 op->disks[0] ? op->disks : "no disks", op->vmxd_disks ? ", simulation" : "");
	free(op);
}

int memsnap_create(struct vmxd *v, struct vmxd_conn *c, uint64_t id, json_object *args,
		   struct vx_err *err)
{
	struct store_domain sd;
	struct xml_domain *xd;
	struct vmxd_vm *vm;
	struct memsnap_op *op;
	const char *name;
	json_object *ra;
	int rc;

	if ((rc = stor_arg_str(args, "snapshot", 1, &name, err)) < 0 ||
	    (rc = stor_snap_name(name, err)) < 0 ||
	    (rc = memsnap_domain(v, args, &sd, &xd, &vm, err)) <= 0)
		return rc;
	if (!(op = memsnap_op_new(&sd, name))) {
		rc = vx_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = memsnap_disks(&sd, xd, op->disks, sizeof(op->disks), err)) < 0)
		goto out;
	if (store_snapshot_get(v->store, sd.sd_uuid, name, NULL, 0, NULL) == 0) {
		rc = vx_err_set(err, -EEXIST, "domain '%s' already has a snapshot '%s'",
				sd.sd_name, name);
		goto out;
	}
	/* A name of our own: snapshot names may hold any character. */
	snprintf(op->file, sizeof(op->file), "mem-%lld-%08lx.vmstate", (long long)time(NULL),
		 (unsigned long)random());
	if ((rc = store_snapshot_add(v->store, sd.sd_uuid, name, op->disks, 1, err)) < 0)
		goto out;
	if ((rc = store_snapshot_set_memory(v->store, sd.sd_uuid, name, op->file, err)) < 0) {
		store_snapshot_del(v->store, sd.sd_uuid, name, NULL);
		goto out;
	}
	ra = json_object_new_object();
	json_object_object_add(ra, "file", json_object_new_string(op->file));
	if (!op->vmxd_disks && op->disks[0])
		json_object_object_add(ra, "disk_snapshot", json_object_new_string(name));
	rc = runner_command_args(v, vm, "snapshot-save", ra, c, id, memsnap_create_done, op, err);
	if (rc < 0) {
		store_snapshot_del(v->store, sd.sd_uuid, name, NULL);
		goto out;
	}
	op = NULL;
	vmxd_test_crash("memsnap-sent");	/* tests: kill -9 with the runner saving */
	rc = RPC_DEFERRED;
out:
	free(op);
	xml_domain_free(xd);
	store_domain_clear(&sd);
	return rc;
}

static void memsnap_revert_done(struct vmxd *v, void *arg, int *code, char *msg,
				json_object **result)
{
	struct memsnap_op *op = arg;

	(void)v;
	if (*code < 0) {
		log_warn("domain %s: revert to %s failed: %s", op->domain, op->name, msg);
	} else {
		if (*result)
			json_object_put(*result);
		*result = json_object_new_object();
		json_object_object_add(*result, "domain", json_object_new_string(op->domain));
		json_object_object_add(*result, "snapshot", json_object_new_string(op->name));
		json_object_object_add(*result, "memory", json_object_new_boolean(1));
		log_info("domain %s: reverted to snapshot %s with memory", op->domain, op->name);
	}
	free(op);
}

int memsnap_revert(struct vmxd *v, struct vmxd_conn *c, uint64_t id, json_object *args,
		   struct vx_err *err)
{
	struct store_domain sd;
	struct xml_domain *xd;
	struct vmxd_vm *vm;
	struct memsnap_op *op = NULL;
	const char *name;
	json_object *ra;
	int rc;

	if ((rc = stor_arg_str(args, "snapshot", 1, &name, err)) < 0 ||
	    (rc = memsnap_domain(v, args, &sd, &xd, &vm, err)) <= 0)
		return rc;
	if (!(op = memsnap_op_new(&sd, name))) {
		rc = vx_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	op->revert = 1;
	if ((rc = store_snapshot_get(v->store, sd.sd_uuid, name, op->disks, sizeof(op->disks),
				     err)) < 0 ||
	    (rc = store_snapshot_memory(v->store, sd.sd_uuid, name, op->file, sizeof(op->file),
					err)) < 0) {
		if (rc == -ENOENT)
			vx_err_set(err, rc, "domain '%s' has no snapshot '%s'", sd.sd_name, name);
		goto out;
	}
	if (!op->file[0]) {
		rc = vx_err_set(err, -EBUSY,
				"domain '%s' is running and snapshot '%s' has no memory state: "
				"stop the domain to revert its disks", sd.sd_name, name);
		goto out;
	}
	/* The simulation holds no disk open: vmxd puts them back first. */
	if (op->vmxd_disks && op->disks[0] && (rc = memsnap_vmxd_disks(v, op, "revert", err)) < 0)
		goto out;
	ra = json_object_new_object();
	json_object_object_add(ra, "file", json_object_new_string(op->file));
	if (!op->vmxd_disks && op->disks[0])
		json_object_object_add(ra, "disk_snapshot", json_object_new_string(name));
	rc = runner_command_args(v, vm, "snapshot-load", ra, c, id, memsnap_revert_done, op, err);
	if (rc < 0)
		goto out;
	op = NULL;
	rc = RPC_DEFERRED;
out:
	free(op);
	xml_domain_free(xd);
	store_domain_clear(&sd);
	return rc;
}
