/* crash: see crash.h. */
#include "daemon/runner/crash.h"

#include <execinfo.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS };

/* Async-signal-safe: write(2) and backtrace_symbols_fd only. */
static void crash_say(const char *s)
{
	ssize_t n = write(STDERR_FILENO, s, strlen(s));

	(void)n;
}

static void crash_say_number(long v)
{
	char buf[24], *p = buf + sizeof(buf);

	*--p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) > 0 && p > buf);
	crash_say(p);
}

static void crash_handler(int sig, siginfo_t *si, void *uc)
{
	void *frames[48];
	int n = backtrace(frames, (int)(sizeof(frames) / sizeof(frames[0])));

	(void)uc;
	if (sig == SIGSYS) {
		crash_say("vmxd-runner: the sandbox refused syscall ");
		crash_say_number(si->si_syscall);
		crash_say(" (see /usr/include/x86_64-linux-gnu/asm/unistd_64.h)");
	} else {
		crash_say("vmxd-runner: fatal signal ");
		crash_say(sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" :
			  sig == SIGILL ? "SIGILL" : sig == SIGFPE ? "SIGFPE" : "SIGABRT");
	}
	crash_say("; backtrace (addr2line -e vmxd-runner the +offsets):\n");
	backtrace_symbols_fd(frames, n, STDERR_FILENO);
	/* SA_RESETHAND restored the default action: die of the signal. */
	raise(sig);
}

void runner_crash_report_setup(void)
{
	struct sigaction sa;
	void *warm[1];

	setenv("LIBC_FATAL_STDERR_", "1", 1);
#if defined(__SANITIZE_ADDRESS__)
	return;		/* the sanitizer's own reports say more */
#endif
	/* backtrace() dlopens libgcc_s on its first call. */
	backtrace(warm, 1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash_handler;
	sa.sa_flags = SA_RESETHAND | SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		sigaction(crash_signals[i], &sa, NULL);
}
