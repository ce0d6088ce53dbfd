/* cmdutil.c: helpers shared by the cmd_*.c verbs (messages, option parsing with "did you
 * mean", number parsing, the verb's store, folders). */
#include "cmd.h"
#include "runner.h"
#include "../base/error.h"
#include "../base/jsonout.h"
#include "../base/suggest.h"
#include "../metrics/store.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMD_MAX_LONGOPTS 128

int cmd_fail(const struct lb_error *err)
{
	fprintf(stderr, "llmbench: error: %s\n", err->msg[0] ? err->msg : lb_strerror(err->code));
	return lb_exit_code(err->code ? err->code : LB_ERR_IO);
}

int cmd_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fputs("llmbench: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'llmbench %s --help')\n", verb);
	return 2;
}

void cmd_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("llmbench: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cmd_parse_long(const char *s, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int cmd_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int cmd_mkdirs(const char *dir)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(dir);
	struct stat sb;

	if (!n || n >= sizeof(buf)) {
		errno = n ? ENAMETOOLONG : ENOENT;
		return -1;
	}
	memcpy(buf, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0777) && errno != EEXIST)
			return -1;
		if (stat(buf, &sb) || !S_ISDIR(sb.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
		if (i < n)
			buf[i] = '/';
	}
	return 0;
}

int cmd_out_open(struct cmd_out *o, const char *path, int open_code, struct lb_error *err)
{
	struct stat sb;
	bool exists;

	memset(o, 0, sizeof(*o));
	o->path = path;
	if (!path) {
		o->f = stdout;
		return 0;
	}
	exists = !lstat(path, &sb);
	if (!exists && errno != ENOENT)
		return lb_error_set(err, open_code, "cannot write '%s': %s", path, strerror(errno));
	if (!exists || S_ISREG(sb.st_mode)) {
		if (snprintf(o->tmp, sizeof(o->tmp), "%s.tmp-%ld", path, (long)getpid()) >=
		    (int)sizeof(o->tmp))
			return lb_error_set(err, open_code, "cannot write '%s': path too long",
					    path);
	}
	o->f = fopen(o->tmp[0] ? o->tmp : path, "w");
	if (!o->f) {
		int e = errno;

		o->tmp[0] = '\0';
		return lb_error_set(err, open_code, "cannot write '%s': %s", path, strerror(e));
	}
	return 0;
}

int cmd_out_close(struct cmd_out *o, bool ok, struct lb_error *err)
{
	const char *name = o->path ? o->path : "stdout";
	bool bad;
	int e = 0, rc = 0;

	if (!o->f)
		return 0;
	bad = fflush(o->f) || ferror(o->f);
	if (bad)
		e = errno;
	if (o->f != stdout && fclose(o->f) && !bad) {
		bad = true;
		e = errno;
	}
	o->f = NULL;
	if (ok && bad)
		rc = lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", name,
				  strerror(e ? e : EIO));
	if (o->tmp[0]) {
		if (ok && !rc && rename(o->tmp, o->path))
			rc = lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", name,
					  strerror(errno));
		if (!ok || rc)
			unlink(o->tmp);
		o->tmp[0] = '\0';
	}
	return rc;
}

bool cmd_store_absent(const struct lb_ctx *ctx)
{
	struct stat sb;

	return !ctx->store && strcmp(ctx->db, ":memory:") && stat(ctx->db, &sb) && errno == ENOENT;
}

void cmd_store_drop(struct lb_ctx *ctx)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	struct lb_error err = LB_ERROR_INIT;
	char path[PATH_MAX];
	bool any = true;
	size_t i;

	/* another process may have created it too, since: a store with a run stays */
	if (!ctx->store || store_has_runs(ctx->store, &any, &err) || any)
		return;
	store_close(ctx->store);
	ctx->store = NULL;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", ctx->db, sfx[i]);
		unlink(path);
	}
}

int cmd_check_run_name(const char *verb, const char *name)
{
	const unsigned char *p;

	if (!name)
		return 0;
	if (!*name)
		return cmd_usage_error(verb, "--name: a run name cannot be empty");
	for (p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return cmd_usage_error(verb,
					       "--name: a run name cannot hold a control character "
					       "(byte 0x%02x at %ld, as a tab or a line break is)",
					       *p, (long)(p - (const unsigned char *)name));
	return 0;
}

void cmd_catch_stop_signals(void (*fn)(int))
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!sigaction(SIGHUP, NULL, &old) && old.sa_handler != SIG_IGN)
		sigaction(SIGHUP, &sa, NULL);
}

int cmd_db_is_folder(const struct lb_ctx *ctx)
{
	struct stat sb;

	if (stat(ctx->db, &sb) || !S_ISDIR(sb.st_mode))
		return 0;
	fprintf(stderr,
		"llmbench: error: cannot open '%s': it is a folder (give the store's file with "
		"--db FILE)\n",
		ctx->db);
	return 1;
}

int cmd_store(struct lb_ctx *ctx, struct store **out)
{
	struct lb_error err = LB_ERROR_INIT;
	bool ro = !(ctx->setup & LB_STORE_RW);
	const char *slash;
	struct stat sb;

	if (ctx->store) {
		*out = ctx->store;
		return 0;
	}
	if (ro && stat(ctx->db, &sb)) {
		lb_error_set(
			&err, LB_ERR_USAGE,
			"cannot open '%s': no such file (%s; give the store with --db FILE)",
			ctx->db,
			ctx->db_given
				? "check the path"
				: "the default store; 'llmbench run' or 'llmbench bench' creates it");
		return cmd_fail(&err);
	}
	if (cmd_db_is_folder(ctx))
		return 2;
	slash = strrchr(ctx->db, '/');
	if (!ro && slash && slash != ctx->db) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - ctx->db), ctx->db);
		if (stat(dir, &sb) && cmd_mkdirs(dir)) {
			lb_error_set(&err, LB_ERR_IO, "cannot create the store's folder '%s': %s",
				     dir, strerror(errno));
			return cmd_fail(&err);
		}
	}
	if (!ro) {
		/* a writer needs the file and its folder (the -wal and -shm files go beside it):
		 * said here, before SQLite's "unable to open database file" or "readonly database" */
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - ctx->db) : 1,
			 slash ? (slash == ctx->db ? "/" : ctx->db) : ".");
		if (!access(ctx->db, F_OK) && access(ctx->db, W_OK)) {
			lb_error_set(&err, LB_ERR_USAGE, "cannot write to the store '%s': %s",
				     ctx->db, strerror(errno));
			return cmd_fail(&err);
		}
		if (access(dir, W_OK | X_OK)) {
			lb_error_set(
				&err, LB_ERR_USAGE,
				"cannot write in the store's folder '%s' (the store and its -wal "
				"and -shm files go there): %s",
				dir, strerror(errno));
			return cmd_fail(&err);
		}
	}
	if (store_open(&ctx->store, ctx->db, ro, &err))
		return cmd_fail(&err);
	*out = ctx->store;
	return 0;
}

/* "--name" of each long option, for "did you mean". */
static void long_names(const struct option *longopts, char names[][40], const char **list)
{
	int i, n = 0;

	for (i = 0; longopts && longopts[i].name && n < CMD_MAX_LONGOPTS - 1; i++) {
		snprintf(names[n], sizeof(names[n]), "--%s", longopts[i].name);
		list[n] = names[n];
		n++;
	}
	list[n] = NULL;
}

int cmd_getopt(int argc, char **argv, const char *verb, const char *shortopts,
	       const struct option *longopts)
{
	char so[64], bad[64], names[CMD_MAX_LONGOPTS][40];
	const char *list[CMD_MAX_LONGOPTS], *hint;
	int c;

	/* GNU getopt reads a leading '+' (stop at the first non-option) before the ':' */
	if (shortopts[0] == '+')
		snprintf(so, sizeof(so), "+:%s", shortopts + 1);
	else
		snprintf(so, sizeof(so), ":%s", shortopts[0] == ':' ? shortopts + 1 : shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, so, longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	if (optopt && optopt < 256 && (optind < 2 || argv[optind - 1][1] != '-'))
		snprintf(bad, sizeof(bad), "-%c", optopt);
	else
		snprintf(bad, sizeof(bad), "%.*s", (int)strcspn(argv[optind - 1], "="),
			 argv[optind - 1]);
	if (c == ':') {
		cmd_usage_error(verb, "option '%s' needs a value", bad);
		return '?';
	}
	long_names(longopts, names, list);
	hint = bad[0] == '-' && bad[1] == '-' ? lb_suggest(bad, list) : NULL;
	if (hint)
		cmd_usage_error(verb, "unknown option '%s'; did you mean '%s'?", bad, hint);
	else
		cmd_usage_error(verb, "unknown option '%s'", bad);
	return '?';
}

int cmd_parse_format(const char *verb, const char *s, unsigned allowed, enum cmd_format *out)
{
	static const char *const names[] = { "table", "md", "csv", "json", "jsonl", "sql" };
	char list[64] = "";
	size_t i, used = 0;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(allowed & (1u << i)))
			continue;
		if (!strcmp(s, names[i])) {
			*out = (enum cmd_format)i;
			return 0;
		}
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
					 names[i]);
		if (used >= sizeof(list))
			break;
	}
	cmd_usage_error(verb, "unknown format '%s' (valid: %s)", s, list);
	return -1;
}

/* The progress line of a level, redrawn in place on stderr. */
void cmd_print_progress(void *ctx, const struct runner_progress *p)
{
	(void)ctx;
	if (p->total > 0) {
		double rate = p->elapsed_s > 0 ? (double)p->completed / p->elapsed_s : 0;
		double eta = rate > 0 ? (double)(p->total - p->completed) / rate : 0;

		fprintf(stderr, "\r\033[K%s: %ld/%ld done, %.1f req/s, %ld errors, ETA %.0fs",
			p->label, p->completed, p->total, rate, p->errors, eta);
	} else {
		fprintf(stderr, "\r\033[K%s: %ld done, %.1fs of %.1fs, %ld errors", p->label,
			p->completed, p->elapsed_s, p->duration_s, p->errors);
	}
	if (p->final)
		fputc('\n', stderr);
}

/* One RFC 4180 field from *p (advanced past it and its separator) into buf; 1 when it ended
 * the record. */
static int csv_next(const char **p, char *buf, size_t len, bool *quoted)
{
	const char *s = *p;
	size_t n = 0;

	*quoted = *s == '"';
	if (*quoted) {
		for (s++; *s; s++) {
			if (*s == '"' && s[1] == '"')
				s++;
			else if (*s == '"') {
				s++;
				break;
			}
			if (n + 1 < len)
				buf[n++] = *s;
		}
	} else {
		for (; *s && *s != ',' && *s != '\n' && *s != '\r'; s++)
			if (n + 1 < len)
				buf[n++] = *s;
	}
	buf[n] = '\0';
	if (*s == '\r')
		s++;
	if (*s == ',') {
		*p = s + 1;
		return 0;
	}
	if (*s == '\n')
		s++;
	*p = s;
	return 1;
}

int cmd_csv_to_json(const char *csv, FILE *out, bool lines)
{
	char hdr[64][64], val[4096];
	const char *p = csv;
	size_t n_hdr = 0, i, rows = 0;
	bool quoted;

	while (*p && n_hdr < 64)
		if (csv_next(&p, hdr[n_hdr++], sizeof(hdr[0]), &quoted))
			break;
	while (*p) {
		int end = 0;

		fputs(lines ? "{" : rows ? ",\n  {" : "[\n  {", out);
		for (i = 0; !end && *p; i++) {
			double d;

			end = csv_next(&p, val, sizeof(val), &quoted);
			if (i >= n_hdr)
				continue;
			fprintf(out, "%s\"%s\":", i ? "," : "", hdr[i]);
			if (!val[0] && !quoted)
				fputs("null", out);
			else if (!quoted && (isdigit((unsigned char)val[0]) || val[0] == '-') &&
				 strspn(val, "0123456789-.eE") == strlen(val) &&
				 !cmd_parse_double(val, &d))
				fputs(val, out);
			else
				jsonout_strz(out, val);
		}
		fputs(lines ? "}\n" : "}", out);
		rows++;
	}
	if (!lines)
		fputs(rows ? "\n]\n" : "[]\n", out);
	return ferror(out) ? -1 : 0;
}

int cmd_mark_power(struct store *st, int64_t run_id, bool requested, struct lb_error *err)
{
	struct store_summary sm = { 0 };

	sm.run_id = run_id;
	sm.metric = "power_requested";
	sm.has_value = true;
	sm.value = requested ? 1 : 0;
	sm.n = -1;
	sm.unit = "bool";
	sm.provenance = "workload";
	sm.note = requested ? NULL : "the workload has no power section: energy was not asked for";
	return store_summary_put(st, &sm, err);
}
