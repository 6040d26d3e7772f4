/* sandbox: privilege drop and seccomp for runners. See sandbox.h. */
#include "daemon/runner/sandbox.h"

#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <seccomp.h>

#include "daemon/runner/crash.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_DEFAULT_ACTION SCMP_ACT_LOG
#else
/* Refused, and the process dies of SIGSYS as with KILL_PROCESS, but its
 * handler (crash.h) first names the syscall and where it came from. */
#define SANDBOX_DEFAULT_ACTION SCMP_ACT_TRAP
#endif

/* The runner loop's syscalls; why each is needed is in the group comment. */
static const int sandbox_allowed[] = {
	/* the control loop: poll the listening socket and the daemon connection */
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(accept), SCMP_SYS(accept4),
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(close),
	SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	SCMP_SYS(fcntl), SCMP_SYS(getsockopt),
	/* malloc */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise),
	/* timers and the clock */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday),
	/* stdio on the log file, the exit-reason file opened before entering */
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(lseek), SCMP_SYS(ftruncate),
	SCMP_SYS(pwrite64),
	/* the console log's rotation copies it into <log>.1 (console.c) */
	SCMP_SYS(pread64),
	/* signals and leaving */
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(getpid),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
	SCMP_SYS(futex),
	/* a fatal error's last words (crash.h): glibc's message, abort() */
	SCMP_SYS(writev), SCMP_SYS(gettid), SCMP_SYS(tgkill),
	/* json-c seeds its hash tables */
	SCMP_SYS(getrandom),
};

int runner_sandbox_enter(const char *user, struct vx_err *err)
{
	return runner_sandbox_enter_with(user, NULL, err);
}

/* The extra rules a runner asked for, after the common allow-list. */
static int sandbox_add_extra(scmp_filter_ctx ctx, const struct runner_sandbox_extra *x,
			     struct vx_err *err)
{
	int rc;

	for (size_t i = 0; x && i < x->nsyscalls; i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, x->syscalls[i], 0);
		if (rc < 0 && rc != -EDOM)
			return vx_err_set(err, rc, "sandbox: seccomp rule for syscall %d",
					  x->syscalls[i]);
	}
	/* ioctl only with the request types named: the request's type byte
	 * is bits 15:8 (asm-generic/ioctl.h). */
	for (size_t i = 0; x && i < x->nioctl_types; i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00,
					      (scmp_datum_t)x->ioctl_types[i] << 8));
		if (rc < 0)
			return vx_err_set(err, rc, "sandbox: seccomp ioctl rule");
	}
	if (x && x->has_dirfd) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)x->dirfd));
		if (rc >= 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(unlinkat), 1,
					      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)x->dirfd));
		if (rc < 0)
			return vx_err_set(err, rc, "sandbox: seccomp openat rule");
	}
	return 0;
}

int runner_sandbox_enter_with(const char *user, const struct runner_sandbox_extra *extra,
			      struct vx_err *err)
{
	scmp_filter_ctx ctx;
	int rc;

	if (geteuid() == 0) {
		struct passwd *pw = getpwnam(user ? user : "nobody");

		if (!pw)
			return vx_err_set(err, -ENOENT, "sandbox: no user %s",
					  user ? user : "nobody");
		/* A runner needs no root: its devices are opened before this. */
		if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
		    setuid(pw->pw_uid) < 0)
			return vx_err_errno(err, -errno, "sandbox: dropping to %s",
					    pw->pw_name);
		if (setuid(0) == 0)
			return vx_err_set(err, -EPERM, "sandbox: could regain root");
	}
	runner_crash_report_setup();
	/*
	 * One malloc arena for every thread. glibc gives each new thread an
	 * arena of its own, and a free() that shrinks such an arena's heap
	 * first reads /proc/sys/vm/overcommit_memory: an openat the sandbox
	 * refuses. A live backup hit it (the main thread freeing the
	 * copy-before-write blocks a vCPU thread allocated). The main arena
	 * grows and shrinks with brk, allowed.
	 */
	mallopt(M_ARENA_MAX, 1);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vx_err_errno(err, -errno, "sandbox: no_new_privs");
	ctx = seccomp_init(SANDBOX_DEFAULT_ACTION);
	if (!ctx)
		return vx_err_set(err, -ENOMEM, "sandbox: seccomp_init");
	for (size_t i = 0; i < sizeof(sandbox_allowed) / sizeof(sandbox_allowed[0]); i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sandbox_allowed[i], 0);
		if (rc < 0 && rc != -EDOM) {
			seccomp_release(ctx);
			return vx_err_set(err, rc, "sandbox: seccomp rule %zu", i);
		}
	}
	rc = sandbox_add_extra(ctx, extra, err);
	if (rc < 0) {
		seccomp_release(ctx);
		return rc;
	}
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0)
		return vx_err_set(err, rc, "sandbox: seccomp_load failed");
	return 0;
}
