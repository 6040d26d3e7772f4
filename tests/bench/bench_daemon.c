/*
 * bench_daemon: define + list + dumpxml of N domains through vmxd (one
 * client connection, as a program would use it) against libvirt's test
 * driver doing the same in one virsh process (virsh -c test:///default,
 * commands on stdin), measured in the same run; then the latency of
 * `vmctl list` (a whole process) with N domains defined, beside the start
 * of a vmctl process that does nothing (`vmctl help`), the floor under it.
 * Prints "ratio" lines: vmxd time / libvirt time (below 1.0: faster).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"

extern char **environ;

#ifndef BINDIR
#define BINDIR "build/bin"
#endif

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void domain_xml(char *buf, size_t len, int i)
{
	snprintf(buf, len,
		 "<domain type='test'><name>bench%04d</name>"
		 "<memory unit='MiB'>128</memory><vcpu>1</vcpu>"
		 "<os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>"
		 "<devices><disk type='file' device='disk'>"
		 "<driver name='qemu' type='qcow2'/>"
		 "<source file='/var/lib/images/bench%04d.qcow2'/>"
		 "<target dev='vda' bus='virtio'/></disk>"
		 "<interface type='network'><mac address='52:54:00:00:%02x:%02x'/>"
		 "<source network='default'/><model type='virtio'/></interface>"
		 "</devices></domain>", i, i, i / 256, i % 256);
}

static int call(int fd, struct proto_rbuf *rb, uint64_t id, const char *verb,
		json_object *args)
{
	struct proto_msg r;
	struct vx_err err;
	int rc = proto_call(fd, rb, id, verb, args, &r, 30000, &err);

	if (rc < 0 || r.pm_status != PROTO_OK) {
		fprintf(stderr, "bench: %s: %s\n", verb, rc < 0 ? err.msg : r.pm_error);
		exit(1);
	}
	proto_msg_clear(&r);
	return 0;
}

static double bench_vmxd(const char *sock, int n)
{
	struct proto_rbuf rb;
	struct vx_err err;
	char xml[2048], name[32];
	int fd = proto_connect_unix(sock, &err);
	double t0;

	if (fd < 0 || (proto_rbuf_init(&rb), proto_client_hello(fd, &rb, "bench",
				NULL, 5000, &err)) < 0) {
		fprintf(stderr, "bench: %s\n", err.msg);
		exit(1);
	}
	t0 = now();
	for (int i = 0; i < n; i++) {
		json_object *a = json_object_new_object();

		domain_xml(xml, sizeof(xml), i);
		json_object_object_add(a, "xml", json_object_new_string(xml));
		call(fd, &rb, (uint64_t)i + 1, "define", a);
	}
	{
		json_object *a = json_object_new_object();

		json_object_object_add(a, "all", json_object_new_boolean(1));
		call(fd, &rb, 100000, "list", a);
	}
	for (int i = 0; i < n; i++) {
		json_object *a = json_object_new_object();

		snprintf(name, sizeof(name), "bench%04d", i);
		json_object_object_add(a, "name", json_object_new_string(name));
		call(fd, &rb, 200000 + (uint64_t)i, "dumpxml", a);
	}
	t0 = now() - t0;
	close(fd);
	proto_rbuf_free(&rb);
	return t0;
}

static double bench_virsh(const char *dir, int n)
{
	char path[512], xml[2048], cmd[700];
	FILE *script;
	double t0;
	int rc;

	snprintf(path, sizeof(path), "%s/virsh.cmds", dir);
	script = fopen(path, "w");
	for (int i = 0; i < n; i++) {
		char x[600];
		FILE *f;

		snprintf(x, sizeof(x), "%s/d%04d.xml", dir, i);
		domain_xml(xml, sizeof(xml), i);
		f = fopen(x, "w");
		fputs(xml, f);
		fclose(f);
		fprintf(script, "define %s\n", x);
	}
	fprintf(script, "list --all\n");
	for (int i = 0; i < n; i++)
		fprintf(script, "dumpxml bench%04d\n", i);
	fclose(script);
	snprintf(cmd, sizeof(cmd), "virsh -q -c test:///default < %s > /dev/null", path);
	t0 = now();
	rc = system(cmd);
	t0 = now() - t0;
	if (rc != 0) {
		fprintf(stderr, "bench: virsh failed (%d)\n", rc);
		exit(1);
	}
	return t0;
}

/*
 * Wall time of one vmctl process (spawn, exec, its work, exit), stdout to
 * /dev/null. posix_spawn, as a small shell starts it: fork() of this
 * process, which holds libvirt's client libraries by now, would time
 * copying our page tables rather than vmctl.
 */
static double time_vmctl(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	double t0;
	pid_t pid;
	int st, rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	t0 = now();
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	if (rc != 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench: %s %s failed\n", argv[0], argv[1]);
		exit(1);
	}
	t0 = now() - t0;
	posix_spawn_file_actions_destroy(&fa);
	return t0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	char dir[] = "/tmp/vmxd-bench-XXXXXX", sock[200], ro[200], db[200], run[200];
	char cmd[600];
	double tv, tl, lat[21], base[21];
	pid_t pid;
	int st;

	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/rw.sock", dir);
	snprintf(ro, sizeof(ro), "%s/ro.sock", dir);
	snprintf(db, sizeof(db), "%s/vmxd.db", dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(127);
		execl(BINDIR "/vmxd", "vmxd", "--socket", sock, "--socket-ro", ro,
		      "--database", db, "--rundir", run, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(ro, F_OK) != 0; i++)
		usleep(10000);
	usleep(20000);
	tv = bench_vmxd(sock, n);
	tl = bench_virsh(dir, n);
	printf("bench-daemon: define+list+dumpxml of %d domains: vmxd %.3f s, "
	       "libvirt test driver %.3f s\n", n, tv, tl);
	printf("ratio define+list+dumpxml vmxd/libvirt-test: %.3f (goal < 1.0)\n",
	       tv / tl);
	fflush(stdout);	/* nothing buffered for a child to write out again */
	/*
	 * vmctl list --all, a whole process (no shell), 21 times; beside it
	 * `vmctl help` (process start only, no daemon): on a loaded machine
	 * the start alone can take the 10 ms.
	 */
	{
		char *list[] = { BINDIR "/vmctl", "-c", sock, "list", "--all", NULL };
		char *help[] = { BINDIR "/vmctl", "help", NULL };

		for (int i = 0; i < 21; i++) {
			lat[i] = time_vmctl(list);
			base[i] = time_vmctl(help);
		}
	}
	qsort(lat, 21, sizeof(lat[0]), cmp);
	qsort(base, 21, sizeof(base[0]), cmp);
	printf("vmctl list --all with %d domains: median %.2f ms, max %.2f ms "
	       "(goal < 10 ms)\n", n, lat[10] * 1000, lat[20] * 1000);
	printf("vmctl help (process start, no daemon): median %.2f ms; "
	       "list minus start: %.2f ms\n", base[10] * 1000,
	       (lat[10] - base[10]) * 1000);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
