/* power_cmd.c: the "cmd" power source (any command that prints watts or a cumulative joule
 * reading: a wall meter, IPMI, a vendor tool) and the bounded child-process helper that the
 * hl-smi source shares. */
#include "../base/alloc.h"
#include "../base/clock.h"
#include "power_source.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CMD_OUT_MAX 4096

bool power_parse_number(const char *s, double *v)
{
	char *end;
	double d;

	s += strspn(s, " \t\r\n");
	if (!*s)
		return false;
	errno = 0;
	d = strtod(s, &end);
	if (end == s || errno || !isfinite(d))
		return false;
	end += strspn(end, " \t\r\n");
	if (*end)
		return false;
	*v = d;
	return true;
}

int power_spawn_capture(char *const argv[], unsigned timeout_ms, char *out, size_t out_max,
			struct lb_error *err)
{
	posix_spawn_file_actions_t fa;
	uint64_t deadline = lb_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int pfd[2] = { -1, -1 };
	bool timed_out = false, too_long = false;
	size_t len = 0;
	pid_t pid;
	int rc, status = 0;

	out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC))
		return lb_error_set(err, LB_ERR_IO, "cannot create a pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc) {
		close(pfd[0]);
		return lb_error_set(err, LB_ERR_IO, "cannot run '%s': %s", argv[0], strerror(rc));
	}
	for (;;) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		uint64_t now = lb_now_ns();
		char chunk[512];
		ssize_t got;
		int pr;

		if (now >= deadline) {
			timed_out = true;
			break;
		}
		pr = poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			timed_out = pr == 0;
			break;
		}
		got = read(pfd[0], chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (len + (size_t)got >= out_max) {
			too_long = true;
			got = (ssize_t)(out_max - 1 - len);
		}
		memcpy(out + len, chunk, (size_t)got);
		len += (size_t)got;
		out[len] = '\0';
	}
	if (timed_out)
		kill(pid, SIGKILL);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		return lb_error_set(err, LB_ERR_IO, "'%s' timed out after %u ms", argv[0],
				    timeout_ms);
	if (WIFSIGNALED(status))
		return lb_error_set(err, LB_ERR_IO, "'%s' killed by signal %d", argv[0],
				    WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return lb_error_set(err, LB_ERR_IO, "'%s' exited with status %d", argv[0],
				    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (too_long)
		return lb_error_set(err, LB_ERR_LIMIT, "'%s' printed more than %zu bytes", argv[0],
				    out_max - 1);
	return 0;
}

struct cmd_src {
	char *command; /* owned */
	bool joules;
	unsigned timeout_ms;
};

static void cmd_close(void *self)
{
	struct cmd_src *c = self;

	if (!c)
		return;
	lb_free(c->command);
	lb_free(c);
}

/* One reading: run the command, parse its number, time-stamp the middle of the run. */
static int cmd_read_one(struct cmd_src *c, struct power_reading *r, struct lb_error *err)
{
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", c->command, NULL };
	char out[CMD_OUT_MAX];
	uint64_t t0 = lb_now_ns(), t1;
	double v;
	int rc;

	rc = power_spawn_capture(argv, c->timeout_ms, out, sizeof(out), err);
	t1 = lb_now_ns();
	if (rc) {
		if (!strncmp(err->msg, "'/bin/sh'",
			     9)) { /* name the user's command, not the shell */
			char rest[sizeof(err->msg)];

			power_fmt(rest, sizeof(rest), "%s", err->msg + 9);
			lb_error_set(err, rc, "command '%s'%s", c->command, rest);
		}
		return rc;
	}
	if (!power_parse_number(out, &v) || v < 0) {
		out[strcspn(out, "\n")] = '\0';
		return lb_error_set(err, LB_ERR_PARSE,
				    "command '%s' printed '%.40s', not a non-negative number of %s",
				    c->command, out, c->joules ? "joules" : "watts");
	}
	r->t_ns = t0 + (t1 - t0) / 2;
	r->ok = true;
	if (c->joules) {
		r->has_energy = true;
		r->energy_uj = (uint64_t)llround(v * 1e6);
	} else {
		r->has_power = true;
		r->power_mw = (uint64_t)llround(v * 1e3);
	}
	return 0;
}

static int cmd_open(void **self, const struct power_config *cfg, struct power_chan *ch, size_t max,
		    size_t *n_ch, struct lb_error *err)
{
	struct cmd_src *c;
	struct power_reading r;
	int rc;

	*self = NULL;
	*n_ch = 0;
	if (!cfg->cmd.command)
		return lb_error_set(err, LB_ERR_USAGE, "power.cmd.command is not set");
	if (!max)
		return lb_error_set(err, LB_ERR_LIMIT, "too many power channels");
	c = lb_calloc(1, sizeof(*c));
	if (!c || !(c->command = lb_strdup(cfg->cmd.command))) {
		cmd_close(c);
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	c->joules = cfg->cmd.joules;
	c->timeout_ms = cfg->cmd.timeout_ms ? cfg->cmd.timeout_ms : 5000;
	memset(&r, 0, sizeof(r));
	rc = cmd_read_one(c, &r, err); /* fail now rather than at every poll */
	if (rc) {
		cmd_close(c);
		return rc;
	}
	power_fmt(ch[0].scope, sizeof(ch[0].scope), "meter");
	ch[0].caps = c->joules ? POWER_CAP_ENERGY : POWER_CAP_POWER;
	*self = c;
	*n_ch = 1;
	return 0;
}

static int cmd_read(void *self, struct power_reading *out, size_t n_ch, struct lb_error *err)
{
	int rc;

	if (n_ch < 1)
		return 0;
	rc = cmd_read_one(self, &out[0], err);
	if (rc) {
		out[0].ok = false;
		power_fmt(out[0].err, sizeof(out[0].err), "%s", err->msg);
	}
	return 0;
}

const struct power_source_ops power_cmd_ops = {
	.name = "cmd",
	.probe = NULL,
	.open = cmd_open,
	.read = cmd_read,
	.close = cmd_close,
};
