/*
 * rpc: the verb table. Each handler gets the request's args and either
 * answers at once (returns 0 with *result set, or a negative errno with err
 * set) or returns RPC_DEFERRED after handing the connection and id to a
 * runner operation that answers later. Write verbs are refused on the
 * read-only socket before their handler runs. Context: loop thread.
 */
#include "daemon/vmxd.h"
#include "daemon/job.h"
#include "daemon/storage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct rpc_call {
	struct vmxd *rc_vmxd;
	struct vmxd_conn *rc_conn;
	uint64_t rc_id;
	json_object *rc_args;      /* may be NULL */
	json_object *rc_result;    /* set by the handler on success */
	struct vx_err rc_err;
};

typedef int (*rpc_fn)(struct rpc_call *call);

struct rpc_verb {
	const char *rv_name;
	int rv_write;       /* refused on the read-only socket */
	rpc_fn rv_fn;
};

static int rpc_arg_str(struct rpc_call *call, const char *key, int required,
		       const char **out)
{
	json_object *v;

	*out = NULL;
	if (!call->rc_args || !json_object_object_get_ex(call->rc_args, key, &v) ||
	    !v) {
		if (required)
			return vx_err_set(&call->rc_err, -EINVAL,
					  "argument '%s' missing", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return vx_err_set(&call->rc_err, -EINVAL,
				  "argument '%s' must be a string", key);
	*out = json_object_get_string(v);
	return 0;
}

static int rpc_arg_int(struct rpc_call *call, const char *key, int64_t def,
		       int64_t min, int64_t max, int64_t *out)
{
	json_object *v;

	*out = def;
	if (!call->rc_args || !json_object_object_get_ex(call->rc_args, key, &v) ||
	    !v)
		return 0;
	if (json_object_is_type(v, json_type_boolean)) {
		*out = json_object_get_boolean(v);
	} else if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
	} else {
		return vx_err_set(&call->rc_err, -EINVAL,
				  "argument '%s' must be a number", key);
	}
	if (*out < min || *out > max)
		return vx_err_set(&call->rc_err, -EINVAL,
				  "argument '%s' out of range", key);
	return 0;
}

static int rpc_get_domain(struct rpc_call *call, struct store_domain *sd)
{
	const char *name;
	int rc;

	if ((rc = rpc_arg_str(call, "name", 1, &name)) < 0)
		return rc;
	return store_domain_get(call->rc_vmxd->store, name, sd, &call->rc_err);
}

static json_object *rpc_domain_json(const struct store_domain *sd, int full)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(sd->sd_name));
	json_object_object_add(o, "uuid", json_object_new_string(sd->sd_uuid));
	json_object_object_add(o, "type", json_object_new_string(sd->sd_type));
	json_object_object_add(o, "state", json_object_new_string(sd->sd_state));
	json_object_object_add(o, "persistent", json_object_new_boolean(sd->sd_persistent));
	json_object_object_add(o, "autostart", json_object_new_boolean(sd->sd_autostart));
	if (full) {
		json_object_object_add(o, "reason", json_object_new_string(sd->sd_reason));
		json_object_object_add(o, "vcpu", json_object_new_int64(sd->sd_vcpu));
		json_object_object_add(o, "memory_kib",
				       json_object_new_int64((int64_t)sd->sd_memory_kib));
		json_object_object_add(o, "pid", json_object_new_int64(sd->sd_pid));
	}
	return o;
}

static int rpc_ping(struct rpc_call *call)
{
	call->rc_result = json_object_new_object();
	json_object_object_add(call->rc_result, "version",
			       json_object_new_int(PROTO_VERSION));
	return 0;
}

static int rpc_subscribe(struct rpc_call *call)
{
	call->rc_conn->vc_subscribed = 1;
	return 0;
}

/* Parses, canonicalises and stores a definition; fills d and *xml. */
static int rpc_parse_xml(struct rpc_call *call, struct xml_domain **d,
			 char **xml)
{
	const char *in;
	int rc;

	*d = NULL;
	*xml = NULL;
	if ((rc = rpc_arg_str(call, "xml", 1, &in)) < 0 ||
	    (rc = xml_domain_parse(in, strlen(in), d, &call->rc_err)) < 0)
		return rc;
	if ((rc = xml_domain_format(*d, xml, &call->rc_err)) < 0) {
		xml_domain_free(*d);
		*d = NULL;
	}
	return rc;
}

static int rpc_define(struct rpc_call *call)
{
	struct xml_domain *d;
	char *xml;
	int rc, created = 0;

	if ((rc = rpc_parse_xml(call, &d, &xml)) < 0)
		return rc;
	rc = store_domain_define(call->rc_vmxd->store, d, xml, 1, &created,
				 &call->rc_err);
	if (rc == 0) {
		call->rc_result = json_object_new_object();
		json_object_object_add(call->rc_result, "name",
				       json_object_new_string(d->xdom_name));
		json_object_object_add(call->rc_result, "uuid",
				       json_object_new_string(d->xdom_uuid));
		json_object_object_add(call->rc_result, "created",
				       json_object_new_boolean(created));
		log_info("domain %s %s", d->xdom_name, created ? "defined" : "updated");
	}
	xml_domain_free(d);
	free(xml);
	return rc;
}

static int rpc_undefine(struct rpc_call *call)
{
	struct store_domain sd;
	int rc;

	if ((rc = rpc_get_domain(call, &sd)) < 0)
		return rc;
	if (runner_find(call->rc_vmxd, sd.sd_uuid))
		/* libvirt semantics: a running domain becomes transient. */
		rc = store_domain_set_persistent(call->rc_vmxd->store, sd.sd_uuid, 0,
						 &call->rc_err);
	else
		rc = store_domain_undefine(call->rc_vmxd->store, sd.sd_uuid,
					   &call->rc_err);
	if (rc == 0)
		log_info("domain %s undefined", sd.sd_name);
	store_domain_clear(&sd);
	return rc;
}

static int rpc_start(struct rpc_call *call)
{
	struct store_domain sd;
	struct vmxd_vm *vm;
	int rc;

	if ((rc = rpc_get_domain(call, &sd)) < 0)
		return rc;
	if ((vm = runner_find(call->rc_vmxd, sd.sd_uuid)))
		rc = vx_err_set(&call->rc_err, -EBUSY, "domain '%s' is already %s",
				sd.sd_name, vm->vm_hello ? vm->vm_state : "starting");
	else
		rc = runner_start(call->rc_vmxd, &sd, call->rc_conn, call->rc_id,
				  &call->rc_err);
	store_domain_clear(&sd);
	return rc < 0 ? rc : RPC_DEFERRED;
}

static int rpc_create(struct rpc_call *call)
{
	struct store_domain sd;
	struct xml_domain *d;
	char *xml;
	int rc;

	if ((rc = rpc_parse_xml(call, &d, &xml)) < 0)
		return rc;
	rc = store_domain_get(call->rc_vmxd->store, d->xdom_name, &sd, NULL);
	if (rc == 0) {
		store_domain_clear(&sd);
		rc = vx_err_set(&call->rc_err, -EEXIST,
				"domain '%s' already exists; use start", d->xdom_name);
	} else {
		rc = store_domain_define(call->rc_vmxd->store, d, xml, 0, NULL,
					 &call->rc_err);
	}
	if (rc == 0 && (rc = store_domain_get(call->rc_vmxd->store, d->xdom_uuid,
					      &sd, &call->rc_err)) == 0) {
		rc = runner_start(call->rc_vmxd, &sd, call->rc_conn, call->rc_id,
				  &call->rc_err);
		if (rc < 0)
			store_domain_undefine(call->rc_vmxd->store, sd.sd_uuid, NULL);
		store_domain_clear(&sd);
	}
	xml_domain_free(d);
	free(xml);
	return rc < 0 ? rc : RPC_DEFERRED;
}

/* shutdown, destroy, reboot, suspend, resume: forwarded to the runner. */
static int rpc_runner_verb(struct rpc_call *call, const char *verb)
{
	struct store_domain sd;
	struct vmxd_vm *vm;
	int64_t timeout = 0;
	int rc, wait_stop = 0;

	if ((rc = rpc_get_domain(call, &sd)) < 0)
		return rc;
	vm = runner_find(call->rc_vmxd, sd.sd_uuid);
	if (!vm || !vm->vm_hello) {
		rc = vx_err_set(&call->rc_err, -EBUSY, "domain '%s' is not running",
				sd.sd_name);
		goto out;
	}
	if (strcmp(verb, "shutdown") == 0) {
		int64_t wait;

		if ((rc = rpc_arg_int(call, "wait", 0, 0, 1, &wait)) < 0 ||
		    (rc = rpc_arg_int(call, "timeout_ms", 0, 0, 86400000, &timeout)) < 0)
			goto out;
		wait_stop = wait || timeout > 0;
		if (wait_stop && !timeout)
			timeout = call->rc_vmxd->conf.vc_shutdown_timeout_ms;
	} else if (strcmp(verb, "destroy") == 0) {
		wait_stop = 1;
		timeout = 5000; /* then SIGKILL */
	} else if (strcmp(verb, "reboot") == 0 &&
		   runner_reboot_destroys(call->rc_vmxd, sd.sd_uuid)) {
		/* <on_reboot>destroy</on_reboot>: a reboot ends the domain. */
		verb = "destroy";
		wait_stop = 1;
		timeout = 5000;
	} else if (strcmp(verb, "suspend") == 0 && strcmp(vm->vm_state, "paused") == 0) {
		rc = vx_err_set(&call->rc_err, -EBUSY, "domain '%s' is already paused",
				sd.sd_name);
		goto out;
	} else if (strcmp(verb, "resume") == 0 && strcmp(vm->vm_state, "paused") != 0) {
		rc = vx_err_set(&call->rc_err, -EBUSY, "domain '%s' is not paused",
				sd.sd_name);
		goto out;
	}
	rc = runner_command(call->rc_vmxd, vm, verb, call->rc_conn, call->rc_id,
			    wait_stop, (int)timeout, &call->rc_err);
out:
	store_domain_clear(&sd);
	return rc < 0 ? rc : RPC_DEFERRED;
}

static int rpc_shutdown(struct rpc_call *call) { return rpc_runner_verb(call, "shutdown"); }
static int rpc_destroy(struct rpc_call *call)  { return rpc_runner_verb(call, "destroy"); }
static int rpc_reboot(struct rpc_call *call)   { return rpc_runner_verb(call, "reboot"); }
static int rpc_suspend(struct rpc_call *call)  { return rpc_runner_verb(call, "suspend"); }
static int rpc_resume(struct rpc_call *call)   { return rpc_runner_verb(call, "resume"); }

static int rpc_autostart(struct rpc_call *call)
{
	struct store_domain sd;
	int64_t on;
	int rc;

	if ((rc = rpc_arg_int(call, "enable", 1, 0, 1, &on)) < 0 ||
	    (rc = rpc_get_domain(call, &sd)) < 0)
		return rc;
	if (!sd.sd_persistent)
		rc = vx_err_set(&call->rc_err, -EINVAL,
				"domain '%s' is transient; autostart needs a defined domain",
				sd.sd_name);
	else
		rc = store_domain_set_autostart(call->rc_vmxd->store, sd.sd_uuid,
						(int)on, &call->rc_err);
	store_domain_clear(&sd);
	return rc;
}

/*
 * list's forms. Objects (the default): one object per domain. Rows
 * ("rows": true): the columns once, then one array per domain. Table
 * ("columns": [names]): one array per asked column, each with every listed
 * domain's value, under the column's name. A client parsing 1000 domains
 * builds 1000 hash tables, 1000 small arrays, or a handful of arrays: the
 * table is what vmctl's table asks for (the fewest objects and pages, and
 * only the columns it prints); an older vmxd ignores "columns" and answers
 * rows, which vmctl asks for in the same request.
 */
enum rpc_list_form { RPC_LIST_OBJECTS, RPC_LIST_ROWS, RPC_LIST_TABLE };

static const char *const rpc_list_columns[] = {
	"name", "uuid", "type", "state", "persistent", "autostart",
};
#define RPC_LIST_NCOLS (sizeof(rpc_list_columns) / sizeof(rpc_list_columns[0]))

/* Column k (an index into rpc_list_columns) of a domain, a new value. */
static json_object *rpc_list_cell(const struct store_domain *sd, size_t k)
{
	switch (k) {
	case 0: return json_object_new_string(sd->sd_name);
	case 1: return json_object_new_string(sd->sd_uuid);
	case 2: return json_object_new_string(sd->sd_type);
	case 3: return json_object_new_string(sd->sd_state);
	case 4: return json_object_new_boolean(sd->sd_persistent);
	default: return json_object_new_boolean(sd->sd_autostart);
	}
}

static json_object *rpc_domain_row(const struct store_domain *sd)
{
	json_object *r = json_object_new_array_ext((int)RPC_LIST_NCOLS);

	for (size_t k = 0; k < RPC_LIST_NCOLS; k++)
		json_object_array_add(r, rpc_list_cell(sd, k));
	return r;
}

/* "columns": known column names, each at most once, as a bit per column. */
static int rpc_list_arg_columns(struct rpc_call *call, unsigned *mask)
{
	json_object *v;
	size_t n;

	*mask = 0;
	if (!call->rc_args || !json_object_object_get_ex(call->rc_args, "columns", &v) ||
	    !v)
		return 0;
	if (!json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) == 0)
		return vx_err_set(&call->rc_err, -EINVAL,
				  "argument 'columns' must be a non-empty array of column names");
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(v, i);
		const char *name = json_object_is_type(c, json_type_string) ?
				   json_object_get_string(c) : NULL;
		size_t k = 0;

		while (name && k < RPC_LIST_NCOLS && strcmp(rpc_list_columns[k], name))
			k++;
		if (!name || k == RPC_LIST_NCOLS)
			return vx_err_set(&call->rc_err, -EINVAL,
					  "argument 'columns': unknown column %s%s%s (known: "
					  "name, uuid, type, state, persistent, autostart)",
					  name ? "'" : "", name ? name : "(not a string)",
					  name ? "'" : "");
		if (*mask & 1u << k)
			return vx_err_set(&call->rc_err, -EINVAL,
					  "argument 'columns': '%s' named twice", name);
		*mask |= 1u << k;
	}
	return 0;
}

/* The table form: {column: [every listed domain's value]}, columns in mask. */
static json_object *rpc_list_table(const struct store_domain *v, size_t n,
				   int all, unsigned mask)
{
	json_object *t = json_object_new_object(), *col[RPC_LIST_NCOLS] = { NULL };

	for (size_t k = 0; k < RPC_LIST_NCOLS; k++)
		if (mask & 1u << k) {
			col[k] = json_object_new_array_ext((int)n);
			json_object_object_add(t, rpc_list_columns[k], col[k]);
		}
	for (size_t i = 0; i < n; i++)
		if (all || strcmp(v[i].sd_state, "shutoff") != 0)
			for (size_t k = 0; k < RPC_LIST_NCOLS; k++)
				if (col[k])
					json_object_array_add(col[k], rpc_list_cell(&v[i], k));
	return t;
}

/* The domains list wants, in its form; a new reference. */
static int rpc_list_build(struct rpc_call *call, int all,
			  enum rpc_list_form form, unsigned mask,
			  json_object **out)
{
	struct store_domain *v;
	json_object *arr;
	size_t n;
	int rc;

	if ((rc = store_domain_list_ext(call->rc_vmxd->store, 0, &v, &n,
					&call->rc_err)) < 0)
		return rc;
	if (form == RPC_LIST_TABLE) {
		*out = rpc_list_table(v, n, all, mask);
		store_domain_list_free(v, n);
		return 0;
	}
	arr = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++)
		if (all || strcmp(v[i].sd_state, "shutoff") != 0)
			json_object_array_add(arr, form == RPC_LIST_ROWS ?
						   rpc_domain_row(&v[i]) :
						   rpc_domain_json(&v[i], 0));
	store_domain_list_free(v, n);
	*out = arr;
	return 0;
}

/*
 * A cached list is sent many times unchanged: render it to JSON once and
 * let json-c copy that text into every answer (its userdata serializer)
 * instead of walking 1,000 domains' values again for each one.
 */
static void rpc_list_render_once(json_object *list)
{
	char *text = strdup(json_object_to_json_string_ext(list,
				JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	if (text)
		json_object_set_serializer(list, json_object_userdata_to_json_string,
					   text, json_object_free_userdata);
}

/*
 * list answers from a cache while the database is unchanged: every write
 * goes through vmxd's one connection, so sqlite3_total_changes() moving is
 * exactly "something may differ". Saves ~3 ms per list of 1000 domains.
 * One cache per (all, form); the table's also remembers its columns.
 */
static int rpc_list(struct rpc_call *call)
{
	struct vmxd *vx = call->rc_vmxd;
	json_object *list, **cache;
	int64_t all, rows, gen = store_changes(vx->store);
	enum rpc_list_form form;
	unsigned mask;
	int rc;

	if ((rc = rpc_arg_int(call, "all", 0, 0, 1, &all)) < 0 ||
	    (rc = rpc_arg_int(call, "rows", 0, 0, 1, &rows)) < 0 ||
	    (rc = rpc_list_arg_columns(call, &mask)) < 0)
		return rc;
	form = mask ? RPC_LIST_TABLE : rows ? RPC_LIST_ROWS : RPC_LIST_OBJECTS;
	cache = &vx->list_cache[all][form];
	if (*cache && vx->list_cache_gen[all][form] == gen &&
	    (form != RPC_LIST_TABLE || vx->list_cache_cols[all] == mask)) {
		list = json_object_get(*cache);
	} else {
		if ((rc = rpc_list_build(call, (int)all, form, mask, &list)) < 0)
			return rc;
		if (*cache)
			json_object_put(*cache);
		rpc_list_render_once(list);
		*cache = json_object_get(list);
		vx->list_cache_gen[all][form] = gen;
		vx->list_cache_cols[all] = mask;
	}
	call->rc_result = json_object_new_object();
	if (form == RPC_LIST_TABLE) {
		json_object_object_add(call->rc_result, "table", list);
	} else if (form == RPC_LIST_ROWS) {
		json_object *cols = json_object_new_array_ext((int)RPC_LIST_NCOLS);

		for (size_t i = 0; i < RPC_LIST_NCOLS; i++)
			json_object_array_add(cols,
				json_object_new_string(rpc_list_columns[i]));
		json_object_object_add(call->rc_result, "columns", cols);
		json_object_object_add(call->rc_result, "rows", list);
	} else {
		json_object_object_add(call->rc_result, "domains", list);
	}
	return 0;
}

static int rpc_dominfo(struct rpc_call *call)
{
	struct store_domain sd;
	int rc;

	if ((rc = rpc_get_domain(call, &sd)) < 0)
		return rc;
	call->rc_result = rpc_domain_json(&sd, 1);
	store_domain_clear(&sd);
	return 0;
}

static int rpc_dumpxml(struct rpc_call *call)
{
	struct store_domain sd;
	int rc;

	if ((rc = rpc_get_domain(call, &sd)) < 0)
		return rc;
	call->rc_result = json_object_new_object();
	json_object_object_add(call->rc_result, "xml", json_object_new_string(sd.sd_xml));
	store_domain_clear(&sd);
	return 0;
}

static int rpc_job_start(struct rpc_call *call)
{
	const char *kind;
	int64_t id;
	int rc;

	if ((rc = rpc_arg_str(call, "kind", 1, &kind)) < 0 ||
	    (rc = job_start(call->rc_vmxd, kind, call->rc_args, &id,
			    &call->rc_err)) < 0)
		return rc;
	call->rc_result = json_object_new_object();
	json_object_object_add(call->rc_result, "id", json_object_new_int64(id));
	return 0;
}

static int rpc_job_cancel(struct rpc_call *call)
{
	int64_t id;
	int rc;

	if ((rc = rpc_arg_int(call, "id", -1, 1, INT64_MAX, &id)) < 0)
		return rc;
	if (id < 0)
		return vx_err_set(&call->rc_err, -EINVAL, "argument 'id' missing");
	return job_cancel(call->rc_vmxd, id, &call->rc_err);
}

static int rpc_job_list(struct rpc_call *call)
{
	struct store_job *v;
	json_object *arr;
	size_t n;
	int rc;

	if ((rc = store_job_list(call->rc_vmxd->store, NULL, &v, &n,
				 &call->rc_err)) < 0)
		return rc;
	arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(v[i].sj_id));
		json_object_object_add(o, "kind", json_object_new_string(v[i].sj_kind));
		json_object_object_add(o, "state", json_object_new_string(v[i].sj_state));
		json_object_object_add(o, "progress", json_object_new_int(v[i].sj_progress));
		json_object_object_add(o, "arg", json_object_new_string(v[i].sj_arg ?
								      v[i].sj_arg : ""));
		json_object_object_add(o, "error", json_object_new_string(v[i].sj_error));
		json_object_array_add(arr, o);
	}
	store_job_list_free(v, n);
	call->rc_result = json_object_new_object();
	json_object_object_add(call->rc_result, "jobs", arr);
	return 0;
}

/* console: answered by vcon_attach itself (the answer carries a descriptor). */
static int rpc_console(struct rpc_call *call)
{
	struct store_domain sd;
	int64_t force, replay;
	int rc;

	if ((rc = rpc_arg_int(call, "force", 0, 0, 1, &force)) < 0 ||
	    (rc = rpc_arg_int(call, "replay", 0, 0, 1, &replay)) < 0 ||
	    (rc = rpc_get_domain(call, &sd)) < 0)
		return rc;
	rc = vcon_attach(call->rc_vmxd, call->rc_conn, call->rc_id, &sd,
			 (int)force, (int)replay, &call->rc_err);
	store_domain_clear(&sd);
	return rc < 0 ? rc : RPC_DEFERRED;
}

static int rpc_console_log(struct rpc_call *call)
{
	struct store_domain sd;
	int64_t bytes;
	int rc;

	if ((rc = rpc_arg_int(call, "bytes", VCON_LOG_DEFAULT, 1, VCON_LOG_MAX,
			      &bytes)) < 0 ||
	    (rc = rpc_get_domain(call, &sd)) < 0)
		return rc;
	rc = vcon_log(call->rc_vmxd, &sd, bytes, &call->rc_result, &call->rc_err);
	store_domain_clear(&sd);
	return rc;
}

/* Storage verbs (storage.c) answer at once. */
#define RPC_STOR(verb, fn) \
	static int verb(struct rpc_call *call) \
	{ return fn(call->rc_vmxd, call->rc_args, &call->rc_result, &call->rc_err); }
RPC_STOR(rpc_disk_create, stor_disk_create)
RPC_STOR(rpc_disk_info, stor_disk_info)
RPC_STOR(rpc_snapshot_list, stor_snapshot_list)
RPC_STOR(rpc_snapshot_delete, stor_snapshot_delete)
RPC_STOR(rpc_backup_list, stor_backup_list)

/* snapshot-create and -revert: with memory through the runner when the
 * domain runs (memsnap.c), the disks alone otherwise (storage.c). */
static int rpc_snapshot_create(struct rpc_call *call)
{
	int rc = memsnap_create(call->rc_vmxd, call->rc_conn, call->rc_id, call->rc_args,
				&call->rc_err);

	if (rc)
		return rc;
	return stor_snapshot_create(call->rc_vmxd, call->rc_args, &call->rc_result,
				    &call->rc_err);
}

static int rpc_snapshot_revert(struct rpc_call *call)
{
	int rc = memsnap_revert(call->rc_vmxd, call->rc_conn, call->rc_id, call->rc_args,
				&call->rc_err);

	if (rc)
		return rc;
	return stor_snapshot_revert(call->rc_vmxd, call->rc_args, &call->rc_result,
				    &call->rc_err);
}

/* The verb table; PROTOCOL.md lists the same verbs. */
static const struct rpc_verb rpc_verbs[] = {
	{ "ping",      0, rpc_ping },
	{ "subscribe", 0, rpc_subscribe },
	{ "list",      0, rpc_list },
	{ "dominfo",   0, rpc_dominfo },
	{ "dumpxml",   0, rpc_dumpxml },
	{ "define",    1, rpc_define },
	{ "undefine",  1, rpc_undefine },
	{ "create",    1, rpc_create },
	{ "start",     1, rpc_start },
	{ "shutdown",  1, rpc_shutdown },
	{ "destroy",   1, rpc_destroy },
	{ "reboot",    1, rpc_reboot },
	{ "suspend",   1, rpc_suspend },
	{ "resume",    1, rpc_resume },
	{ "autostart", 1, rpc_autostart },
	/* rw only: the console is the guest's keyboard. */
	{ "console",   1, rpc_console },
	{ "console-log", 0, rpc_console_log },
	{ "job-list",  0, rpc_job_list },
	{ "job-start", 1, rpc_job_start },
	{ "job-cancel", 1, rpc_job_cancel },
	{ "disk-create", 1, rpc_disk_create },
	/* rw socket only: vmxd opens the path with its own rights. */
	{ "disk-info",  1, rpc_disk_info },
	{ "snapshot-create", 1, rpc_snapshot_create },
	{ "snapshot-list", 0, rpc_snapshot_list },
	{ "snapshot-revert", 1, rpc_snapshot_revert },
	{ "snapshot-delete", 1, rpc_snapshot_delete },
	{ "backup-list", 1, rpc_backup_list },
};

static const struct rpc_verb *rpc_lookup(const char *verb)
{
	for (size_t i = 0; i < sizeof(rpc_verbs) / sizeof(rpc_verbs[0]); i++)
		if (strcmp(rpc_verbs[i].rv_name, verb) == 0)
			return &rpc_verbs[i];
	return NULL;
}

int rpc_verb_is_write(const char *verb)
{
	const struct rpc_verb *rv = rpc_lookup(verb);

	return rv ? rv->rv_write : -1;
}

void rpc_dispatch(struct vmxd_conn *c, struct proto_msg *req)
{
	const struct rpc_verb *rv = rpc_lookup(req->pm_name);
	struct rpc_call call;
	char msg[300];
	int rc;

	if (!rv) {
		snprintf(msg, sizeof(msg), "unknown verb '%s'", req->pm_name);
		vmxd_reply_err(c, req->pm_id, -ENOSYS, msg);
		return;
	}
	if (rv->rv_write && c->vc_readonly) {
		snprintf(msg, sizeof(msg),
			 "'%s' changes state and is refused on the read-only socket",
			 rv->rv_name);
		vmxd_reply_err(c, req->pm_id, -EROFS, msg);
		return;
	}
	memset(&call, 0, sizeof(call));
	call.rc_vmxd = c->vc_vmxd;
	call.rc_conn = c;
	call.rc_id = req->pm_id;
	call.rc_args = req->pm_body;
	rc = rv->rv_fn(&call);
	if (rc == RPC_DEFERRED)
		return;
	if (rc < 0) {
		if (call.rc_result)
			json_object_put(call.rc_result);
		log_debug("%s failed: %s", rv->rv_name, call.rc_err.msg);
		vmxd_reply_err(c, req->pm_id, rc, call.rc_err.msg[0] ?
			       call.rc_err.msg : "failed");
		return;
	}
	vmxd_reply(c, req->pm_id, call.rc_result);
}
