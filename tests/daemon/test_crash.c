/*
 * A sandboxed runner that corrupts its heap says why it died (crash.h):
 * glibc's message and a backtrace reach stderr and the process dies of
 * SIGABRT, instead of a silent seccomp kill for opening /dev/tty (what the
 * lab's first live backup through the real runner met, 2026-12-03).
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <seccomp.h>

#include "daemon/runner/sandbox.h"

static int run_child(void (*child)(int), char *out, size_t cap);

/* In a child: stderr to err_fd, then the runners' sandbox (with x's extras). */
static void child_enter_sandbox(int err_fd, const struct runner_sandbox_extra *x)
{
	struct vx_err err = { 0 };

	dup2(err_fd, STDERR_FILENO);
	if (runner_sandbox_enter_with(NULL, x, &err) < 0) {
		dprintf(STDERR_FILENO, "sandbox: %s\n", err.msg);
		_exit(3);
	}
}

/* The child: into the sandbox, then a double free. */
static void corrupt_heap_in_sandbox(int err_fd)
{
	char *volatile p = malloc(32);

	child_enter_sandbox(err_fd, NULL);
	free(p);
	free(p);
	_exit(4);
}

static void heap_corruption_is_reported_not_killed_by_seccomp(void **state)
{
	char out[16384];
	int status;

	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	print_message("SKIP: under ASan the sanitizer reports the double free itself\n");
	skip();
#endif
	status = run_child(corrupt_heap_in_sandbox, out, sizeof(out));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(out, "double free"));
	assert_non_null(strstr(out, "vmxd-runner: fatal signal SIGABRT; backtrace"));
}

/* The child: into the sandbox, then a syscall it does not allow. */
static void open_in_sandbox(int err_fd)
{
	child_enter_sandbox(err_fd, NULL);
	open("/dev/null", O_RDONLY);
	_exit(4);
}

/* Runs child(fd) in a fork, its stderr into out; returns its wait status. */
static int run_child(void (*child)(int), char *out, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int pfd[2], status;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		child(pfd[1]);
	}
	close(pfd[1]);
	while (len < cap - 1 && (n = read(pfd[0], out + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* Its first two lines: cmocka's messages are short (and TAP lines). */
	print_message("%.*s\n", (int)(strchr(out, '\n') && strchr(strchr(out, '\n') + 1, '\n') ?
				      strchr(strchr(out, '\n') + 1, '\n') - out : (int)strlen(out)), out);
	return status;
}

static void refused_syscall_is_named_before_dying(void **state)
{
	char out[16384];
	int status;

	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	print_message("SKIP: under ASan the sandbox logs refused syscalls instead of refusing\n");
	skip();
#endif
	status = run_child(open_in_sandbox, out, sizeof(out));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
	assert_non_null(strstr(out, "vmxd-runner: the sandbox refused syscall 257 "));
	assert_non_null(strstr(out, "backtrace"));
}

/*
 * A thread's malloc arena, freed from another thread inside the sandbox:
 * glibc shrinks that arena's heap and first reads a /proc file. What the
 * live backup did (a vCPU thread's copy-before-write blocks, freed by the
 * main loop); the sandbox keeps every thread on the main arena.
 */
#define BLOCKS 64

static void *allocate_blocks(void *arg)
{
	void **b = arg;

	for (int i = 0; i < BLOCKS; i++)
		b[i] = malloc(65536);
	return NULL;
}

static void free_another_threads_blocks_in_sandbox(int err_fd)
{
	static const int thread_syscalls[] = {
		SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
		SCMP_SYS(mprotect), SCMP_SYS(rt_sigaction),
	};
	const struct runner_sandbox_extra x = {
		thread_syscalls, sizeof(thread_syscalls) / sizeof(thread_syscalls[0]), NULL, 0,
		.has_dirfd = 0,
	};
	void *b[BLOCKS];
	pthread_t th;

	child_enter_sandbox(err_fd, &x);
	if (pthread_create(&th, NULL, allocate_blocks, b) || pthread_join(th, NULL))
		_exit(5);
	for (int i = BLOCKS - 1; i >= 0; i--)
		free(b[i]);
	_exit(0);
}

static void freeing_another_threads_memory_stays_in_the_sandbox(void **state)
{
	char out[16384];
	int status;

	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	print_message("SKIP: under ASan malloc is the sanitizer's, and the sandbox only logs\n");
	skip();
#endif
	status = run_child(free_another_threads_blocks_in_sandbox, out, sizeof(out));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(heap_corruption_is_reported_not_killed_by_seccomp),
		cmocka_unit_test(refused_syscall_is_named_before_dying),
		cmocka_unit_test(freeing_another_threads_memory_stays_in_the_sandbox),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
