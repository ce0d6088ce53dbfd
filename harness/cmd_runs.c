/* cmd_runs.c: `llmbench runs [--db FILE] [--json]`: list the runs in a store. */
#include "cmd.h"

#include "../metrics/store.h"
#include "../base/error.h"
#include "../base/jsonout.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: llmbench runs [--db FILE] [--json]\n"
	"\n"
	"List the runs in a store, oldest first: name, status (running, done, interrupted,\n"
	"failed), start time (UTC), duration, workload, backends and measured requests\n"
	"(warm-up excluded) that succeeded or failed. A run killed hard stays 'running'.\n"
	"\n"
	"  --db FILE   store to read (default: llmbench.db in the current directory, as for run)\n"
	"  --json      one JSON array of objects instead of the table\n"
	"\n"
	"Exit: 0 listed, 2 bad option or no such store, 3 store error.\n";

/* Columns of runs_sql, by position. */
enum { C_NAME, C_STATUS, C_STARTED, C_ENDED, C_DUR, C_WORKLOAD, C_WPATH, C_BACKENDS, C_OK,
       C_FAILED, C_WARMUP, C_HOST, C_VERSION, C_NOTE };

static const char runs_sql[] =
	"SELECT r.name, r.status, r.started_at, r.ended_at,"
	" (julianday(r.ended_at) - julianday(r.started_at)) * 86400.0,"
	" r.workload_name, r.workload_path,"
	" (SELECT group_concat(b.name, ',') FROM backends b WHERE b.run_id = r.id),"
	" (SELECT count(*) FROM requests q WHERE q.run_id = r.id AND q.warmup = 0"
	"  AND q.status = 'ok'),"
	" (SELECT count(*) FROM requests q WHERE q.run_id = r.id AND q.warmup = 0"
	"  AND q.status <> 'ok'),"
	" (SELECT count(*) FROM requests q WHERE q.run_id = r.id AND q.warmup = 1),"
	" r.host, r.version, r.note"
	" FROM runs r ORDER BY r.id";

struct runs_out {
	bool json;
	long n;
};

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

/* "850ms", "12.3s", "4m05s", "2h03m"; "-" when unknown. */
static void fmt_duration(char *buf, size_t len, double s)
{
	if (isnan(s) || s < 0)
		snprintf(buf, len, "-");
	else if (s < 1)
		snprintf(buf, len, "%.0fms", s * 1000);
	else if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
	else
		snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

static void json_field(const char *key, const char *val)
{
	printf(",\"%s\":", key);
	jsonout_strz(stdout, val);
}

static void json_row(const struct store_row *row)
{
	const char *bk = row->text[C_BACKENDS];

	fputs("{\"name\":", stdout);
	jsonout_strz(stdout, row->text[C_NAME]);
	json_field("status", row->text[C_STATUS]);
	json_field("started_at", row->text[C_STARTED]);
	json_field("ended_at", row->text[C_ENDED]);
	if (isnan(row->num[C_DUR]))
		fputs(",\"duration_s\":null", stdout);
	else
		printf(",\"duration_s\":%.3f", row->num[C_DUR]);
	json_field("workload", row->text[C_WORKLOAD]);
	json_field("workload_path", row->text[C_WPATH]);
	fputs(",\"backends\":[", stdout);
	while (bk && *bk) {
		const char *comma = strchr(bk, ',');
		size_t n = comma ? (size_t)(comma - bk) : strlen(bk);

		jsonout_str(stdout, bk, n);
		bk += n;
		if (*bk == ',') {
			bk++;
			putchar(',');
		}
	}
	printf("],\"requests_ok\":%s,\"requests_failed\":%s,\"requests_warmup\":%s",
	       row->text[C_OK], row->text[C_FAILED], row->text[C_WARMUP]);
	json_field("host", row->text[C_HOST]);
	json_field("version", row->text[C_VERSION]);
	json_field("note", row->text[C_NOTE]);
	putchar('}');
}

static int on_run(void *ctx, const struct store_row *row)
{
	struct runs_out *o = ctx;
	char dur[32], started[32];

	if (o->json) {
		fputs(o->n ? ",\n  " : "[\n  ", stdout);
		json_row(row);
	} else {
		if (!o->n)
			printf("%-28s %-11s %-19s %9s  %-16s %-24s %7s %7s\n", "NAME", "STATUS",
			       "STARTED (UTC)", "DURATION", "WORKLOAD", "BACKENDS", "OK", "FAILED");
		/* "2026-01-02T03:04:05Z" -> "2026-01-02 03:04:05" */
		snprintf(started, sizeof(started), "%.19s", or_dash(row->text[C_STARTED]));
		if (strlen(started) > 10 && started[10] == 'T')
			started[10] = ' ';
		fmt_duration(dur, sizeof(dur), row->num[C_DUR]);
		printf("%-28s %-11s %-19s %9s  %-16s %-24s %7s %7s\n", or_dash(row->text[C_NAME]),
		       or_dash(row->text[C_STATUS]), started, dur, or_dash(row->text[C_WORKLOAD]),
		       or_dash(row->text[C_BACKENDS]), row->text[C_OK], row->text[C_FAILED]);
	}
	o->n++;
	return ferror(stdout) ? 1 : 0;
}

int cmd_runs(int argc, char **argv, struct lb_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = "llmbench.db";
	struct runs_out o = { 0 };
	struct store *st = NULL;
	struct lb_error err = LB_ERROR_INIT;
	int c, rc;

	(void)ctx;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'j': o.json = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case ':':
			return cmd_usage_error("runs", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cmd_usage_error("runs", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error("runs", "unexpected argument '%s'", argv[optind]);
	if (store_open(&st, db, true, &err))
		return cmd_fail(&err);
	rc = store_query(st, runs_sql, NULL, 0, on_run, &o, &err);
	if (!rc) {
		if (o.json)
			fputs(o.n ? "\n]\n" : "[]\n", stdout);
		else if (!o.n)
			printf("no runs in '%s'\n", db);
	}
	store_close(st);
	if (rc)
		return cmd_fail(&err);
	if (fflush(stdout) || ferror(stdout)) {
		lb_error_set(&err, LB_ERR_IO, "cannot write the list of runs to stdout");
		return cmd_fail(&err);
	}
	return 0;
}
