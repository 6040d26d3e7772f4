/*
 * vmxd main: configuration, startup order, systemd notification.
 *
 * Startup: config, database (integrity_check, migrations), sockets,
 * re-attach to runners that outlived a previous vmxd, autostart, READY=1.
 * Context: the one loop thread.
 */
#include "daemon/vmxd.h"
#include "daemon/job.h"
#include "daemon/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <systemd/sd-daemon.h>

#define VMXD_DEFAULT_CONF "/etc/vmxcore/vmxd.conf"

static void usage(void)
{
	fprintf(stderr,
		"usage: vmxd [-d] [-f config] [--socket path] [--socket-ro path]\n"
		"            [--database path] [--rundir dir] [--runner-sim path]\n"
		"            [--no-autostart] [--check-db]\n");
	exit(1);
}

static void vmxd_on_signal(uv_signal_t *s, int signum)
{
	struct vmxd *v = s->data;

	if (signum == SIGHUP) {
		log_info("SIGHUP: configuration reload is not supported; restart vmxd (VMs keep running)");
		return;
	}
	log_info("signal %d: stopping", signum);
	vmxd_stop(v);
}

static void vmxd_on_watchdog(uv_timer_t *t)
{
	(void)t;
	sd_notify(0, "WATCHDOG=1");
}

static void vmxd_set(char *dst, const char *src)
{
	snprintf(dst, VMXD_PATH_MAX, "%s", src);
}

/* A runner next to our own binary when the configured one is absent (build tree). */
static void vmxd_find_runner(char *path, const char *name)
{
	char self[VMXD_PATH_MAX];
	ssize_t n;

	if (!path[0] || access(path, X_OK) == 0)
		return;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return;
	self[n] = '\0';
	snprintf(path, VMXD_PATH_MAX, "%.200s/%s", dirname(self), name);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "socket-ro", required_argument, NULL, 'r' },
		{ "database", required_argument, NULL, 'D' },
		{ "rundir", required_argument, NULL, 'R' },
		{ "runner-sim", required_argument, NULL, 'S' },
		{ "no-autostart", no_argument, NULL, 'A' },
		{ "check-db", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	struct vmxd v;
	struct vx_err err;
	const char *conf = NULL;
	struct vmxd_conf over;
	int ch, debug = 0, check_only = 0, no_autostart = 0;
	uint64_t wd_usec = 0;
	struct group *gr;

	memset(&v, 0, sizeof(v));
	vmxd_conf_defaults(&v.conf);
	memset(&over, 0, sizeof(over));
	while ((ch = getopt_long(argc, argv, "df:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': debug = 1; break;
		case 'f': conf = optarg; break;
		case 's': vmxd_set(over.vc_socket, optarg); break;
		case 'r': vmxd_set(over.vc_socket_ro, optarg); break;
		case 'D': vmxd_set(over.vc_db, optarg); break;
		case 'R': vmxd_set(over.vc_rundir, optarg); break;
		case 'S': vmxd_set(over.vc_runner_sim, optarg); break;
		case 'A': no_autostart = 1; break;
		case 'C': check_only = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (conf || access(VMXD_DEFAULT_CONF, R_OK) == 0) {
		if (vmxd_conf_load(&v.conf, conf ? conf : VMXD_DEFAULT_CONF, &err) < 0) {
			fprintf(stderr, "vmxd: %s\n", err.msg);
			return 1;
		}
	}
	if (over.vc_socket[0]) vmxd_set(v.conf.vc_socket, over.vc_socket);
	if (over.vc_socket_ro[0]) vmxd_set(v.conf.vc_socket_ro, over.vc_socket_ro);
	if (over.vc_db[0]) vmxd_set(v.conf.vc_db, over.vc_db);
	if (over.vc_rundir[0]) vmxd_set(v.conf.vc_rundir, over.vc_rundir);
	if (over.vc_runner_sim[0]) vmxd_set(v.conf.vc_runner_sim, over.vc_runner_sim);
	if (no_autostart)
		v.conf.vc_autostart = 0;
	vmxd_log_init(debug ? 7 : v.conf.vc_log_level, 0);
	vmxd_find_runner(v.conf.vc_runner_sim, "vmxd-runner-sim");
	vmxd_find_runner(v.conf.vc_runner_kvm, "vmxd-runner");
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	xmlInitParser();

	if (!check_only && mkdir(v.conf.vc_rundir, 0755) < 0 && errno != EEXIST) {
		log_err("cannot create %s: %s", v.conf.vc_rundir, strerror(errno));
		return 1;
	}
	/*
	 * One vmxd per run directory: two would both supervise (and re-attach
	 * to) the same runners. The lock dies with the process, kill -9 included.
	 */
	if (!check_only) {
		char lock[VMXD_PATH_MAX + 16];
		int lfd;

		snprintf(lock, sizeof(lock), "%s/vmxd.lock", v.conf.vc_rundir);
		lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0) {
			log_err("another vmxd runs on %s (%s is locked)", v.conf.vc_rundir,
				lock);
			return 1;
		}
		/* lfd stays open for the life of the process. */
	}
	if (store_open(v.conf.vc_db, &v.store, &err) < 0) {
		log_err("%s", err.msg);
		sd_notifyf(0, "STATUS=database error: %s", err.msg);
		return 1;
	}
	log_info("database %s: integrity ok, schema version %d", v.conf.vc_db,
		 store_schema_version(v.store));
	if (check_only) {
		store_close(v.store);
		return 0;
	}
	gr = getgrnam(v.conf.vc_group);
	v.group_gid = gr ? gr->gr_gid : (gid_t)-1;

	v.loop = uv_default_loop();
	if (vmxd_listen(&v, &err) < 0) {
		log_err("%s", err.msg);
		return 1;
	}
	uv_signal_init(v.loop, &v.sig_term);
	uv_signal_init(v.loop, &v.sig_int);
	uv_signal_init(v.loop, &v.sig_hup);
	v.sig_term.data = v.sig_int.data = v.sig_hup.data = &v;
	uv_signal_start(&v.sig_term, vmxd_on_signal, SIGTERM);
	uv_signal_start(&v.sig_int, vmxd_on_signal, SIGINT);
	uv_signal_start(&v.sig_hup, vmxd_on_signal, SIGHUP);
	uv_timer_init(v.loop, &v.watchdog);
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0)
		uv_timer_start(&v.watchdog, vmxd_on_watchdog, wd_usec / 2000,
			       wd_usec / 2000);

	job_recover_all(&v);
	stor_recover(&v);
	runner_reattach_all(&v);
	if (v.conf.vc_autostart)
		runner_autostart_all(&v);
	log_info("listening on %s and %s (read-only)", v.conf.vc_socket,
		 v.conf.vc_socket_ro);
	sd_notify(0, "READY=1");
	vmxd_status(&v);

	uv_run(v.loop, UV_RUN_DEFAULT);

	uv_loop_close(v.loop);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			if (v.list_cache[i][j])
				json_object_put(v.list_cache[i][j]);
	store_close(v.store);
	xmlCleanupParser();
	log_info("stopped");
	return 0;
}
