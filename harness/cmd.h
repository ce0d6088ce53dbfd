/* cmd.h: the verbs of llmbench, one cmd_<verb>.c each. Only main.c and the cmd_*.c files print
 * to the terminal and choose exit codes (0 ok, 1 gate failed, 2 usage/input, 3 runtime).
 *
 * Adding a verb: write harness/cmd_<verb>.c, declare it here, add a sorted row in main.c's
 * commands[] with its setup flags (as git's RUN_SETUP: LB_STORE_RW / LB_STORE_RO when it reads
 * or writes a store), write docs/cli/<verb>.md, add tests/cli/tNNNN-<verb>-*.sh. */
#ifndef LB_CMD_H
#define LB_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct lb_error;
struct store;

/* The store every verb uses unless --db names another (docs/cli/README.md). */
#define LB_DEFAULT_DB "llmbench.db"

/* Setup flags of a verb (main.c's commands[]). */
enum lb_setup {
	LB_SETUP_NONE = 0,
	LB_STORE_RW = 1 << 0, /* takes --db; opens (creating it and its folder) read-write */
	LB_STORE_RO = 1 << 1, /* takes --db; opens an existing store read-only (no -wal/-shm) */
};

struct lb_ctx {
	int verbose;     /* -v count */
	bool stderr_tty; /* progress is drawn only on a terminal */
	const char *argv0;
	const char *verb;    /* the verb being run ("run", "bench", ...) */
	unsigned setup;      /* enum lb_setup flags of the verb */
	const char *db;      /* --db FILE, taken out of argv by the dispatcher; LB_DEFAULT_DB */
	bool db_given;       /* --db was on the command line */
	struct store *store; /* opened by cmd_store(), closed by the dispatcher */
};

int cmd_bench(int argc, char **argv, struct lb_ctx *ctx);
int cmd_bench_model(int argc, char **argv, struct lb_ctx *ctx);
int cmd_compare(int argc, char **argv, struct lb_ctx *ctx);
int cmd_export(int argc, char **argv, struct lb_ctx *ctx);
int cmd_gate(int argc, char **argv, struct lb_ctx *ctx);
int cmd_k8s(int argc, char **argv, struct lb_ctx *ctx);
int cmd_merge(int argc, char **argv, struct lb_ctx *ctx);
int cmd_model(int argc, char **argv, struct lb_ctx *ctx);
int cmd_perplexity(int argc, char **argv, struct lb_ctx *ctx);
int cmd_report(int argc, char **argv, struct lb_ctx *ctx);
int cmd_run(int argc, char **argv, struct lb_ctx *ctx);
int cmd_runs(int argc, char **argv, struct lb_ctx *ctx);
int cmd_sim(int argc, char **argv, struct lb_ctx *ctx);
int cmd_slurm(int argc, char **argv, struct lb_ctx *ctx);
int cmd_trace(int argc, char **argv, struct lb_ctx *ctx);
int cmd_sessions(int argc, char **argv, struct lb_ctx *ctx);

/* Whether the store file does not exist yet (cmd_store would create it), and, for a command
 * that created it and failed before storing a run (a dataset that does not parse, a backend
 * refused at open), its removal with its WAL files: the command leaves nothing, as if it had
 * failed before creating it. */
bool cmd_store_absent(const struct lb_ctx *ctx);
void cmd_store_drop(struct lb_ctx *ctx);

/* The verb's store (ctx->db), opened on first use as its setup flags say: read-only verbs need
 * an existing file and leave no -wal/-shm beside it; read-write verbs create the file and its
 * folder. Returns 0, or an exit code after printing the error. */
int cmd_store(struct lb_ctx *ctx, struct store **out);
/* --db names a folder: prints the one-line error and returns 1 (the caller exits 2). */
int cmd_db_is_folder(const struct lb_ctx *ctx);

/* getopt_long with one-line errors and "did you mean": returns the option, -1 at the end, or
 * '?' after printing the error (the caller returns 2). shortopts without the leading ':'. */
int cmd_getopt(int argc, char **argv, const char *verb, const char *shortopts,
	       const struct option *longopts);

/* Table formats of --format (md, csv, json, jsonl; sql for bench-model). */
enum cmd_format {
	CMD_FMT_TABLE,
	CMD_FMT_MD,
	CMD_FMT_CSV,
	CMD_FMT_JSON,
	CMD_FMT_JSONL,
	CMD_FMT_SQL
};
/* Parse a --format value among those allowed (a bit mask of 1 << enum cmd_format); prints a
 * one-line error and returns -1 when it is not one of them. */
int cmd_parse_format(const char *verb, const char *s, unsigned allowed, enum cmd_format *out);

/* A CSV text (RFC 4180, a header row) as JSON objects keyed by the header: an array, or one
 * object a line (jsonl); numbers stay numbers, empty unquoted fields are null. */
int cmd_csv_to_json(const char *csv, FILE *out, bool lines);

/* Store the run-wide figure power_requested (1: the workload has a "power" section, 0: not),
 * so that reports leave out energy rows nobody asked for instead of listing them unavailable. */
int cmd_mark_power(struct store *st, int64_t run_id, bool requested, struct lb_error *err);

/* Print "llmbench: error: <msg>" and return the exit code for err->code. */
int cmd_fail(const struct lb_error *err);
/* Print "llmbench: error: <fmt> (see 'llmbench <verb> --help')" on one line and return 2. */
int cmd_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cmd_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parse a whole decimal number / real; 0 on success. */
int cmd_parse_long(const char *s, long *out);
int cmd_parse_double(const char *s, double *out);
/* mkdir -p of dir (a folder path); 0 or -1 with errno set. */
int cmd_mkdirs(const char *dir);

/* A verb's output file (--out, --junit, --summary...). A regular file, or a new one, is written
 * beside its path and renamed into place when complete: a failure leaves what was there.
 * Anything else (a device, a pipe, a symlink) is written in place and never removed. A NULL
 * path is stdout. */
struct cmd_out {
	FILE *f;
	const char *path; /* NULL: stdout */
	char tmp[4096];   /* the file being written; "" when in place */
};
/* 0, or the error (code open_code) when the file cannot be created. */
int cmd_out_open(struct cmd_out *o, const char *path, int open_code, struct lb_error *err);
/* Flushes and closes: with ok, a write failure is an error (LB_ERR_IO) and the file takes its
 * name; without ok (the verb failed) the partial file is removed. 0 or the error. */
int cmd_out_close(struct cmd_out *o, bool ok, struct lb_error *err);

/* A run name given on the command line: not empty, no control character (a tab or a line
 * break would split every listing of it). 0, or prints the error and returns 2. */
int cmd_check_run_name(const char *verb, const char *name);

/* Catch SIGINT, SIGTERM and SIGHUP (a closed terminal, a dropped ssh session) with fn, for the
 * orderly stop of a run; SIGHUP stays ignored when it is (nohup). */
void cmd_catch_stop_signals(void (*fn)(int));

/* The progress line of a level (struct runner_progress), redrawn in place on stderr: a
 * runner_opts.progress callback for the verbs that run workloads. */
struct runner_progress;
void cmd_print_progress(void *ctx, const struct runner_progress *p);

/* The version string (git describe at build time). */
#include "../base/version.h" /* lb_version() */

#endif
