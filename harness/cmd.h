/* cmd.h: the verbs of llmbench, one cmd_<verb>.c each. Only main.c and the cmd_*.c files print
 * to the terminal and choose exit codes (0 ok, 1 gate failed, 2 usage/input, 3 runtime).
 *
 * Adding a verb: write harness/cmd_<verb>.c, declare it here, add a sorted row in main.c's
 * commands[], write docs/cli/<verb>.md, add tests/cli/tNNNN-<verb>-*.sh. */
#ifndef LB_CMD_H
#define LB_CMD_H

#include <stdbool.h>
#include <stdio.h>

struct lb_error;

struct lb_ctx {
	int verbose;	   /* -v count */
	bool stderr_tty;   /* progress is drawn only on a terminal */
	const char *argv0;
};

int cmd_bench_model(int argc, char **argv, struct lb_ctx *ctx);
int cmd_compare(int argc, char **argv, struct lb_ctx *ctx);
int cmd_export(int argc, char **argv, struct lb_ctx *ctx);
int cmd_gate(int argc, char **argv, struct lb_ctx *ctx);
int cmd_model(int argc, char **argv, struct lb_ctx *ctx);
int cmd_perplexity(int argc, char **argv, struct lb_ctx *ctx);
int cmd_report(int argc, char **argv, struct lb_ctx *ctx);
int cmd_run(int argc, char **argv, struct lb_ctx *ctx);
int cmd_runs(int argc, char **argv, struct lb_ctx *ctx);
int cmd_sim(int argc, char **argv, struct lb_ctx *ctx);
int cmd_trace(int argc, char **argv, struct lb_ctx *ctx);

/* Print "llmbench: error: <msg>" and return the exit code for err->code. */
int cmd_fail(const struct lb_error *err);
/* Print "llmbench: error: <fmt>" plus "see 'llmbench <verb> --help'" and return 2. */
int cmd_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cmd_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parse a whole decimal number / real; 0 on success. */
int cmd_parse_long(const char *s, long *out);
int cmd_parse_double(const char *s, double *out);

/* The version string (git describe at build time). */
#include "../base/version.h" /* lb_version() */

#endif
