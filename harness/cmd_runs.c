/* cmd_runs.c: `llmbench runs [--db FILE] [--format FMT]`: list the runs in a store. */
#include "cmd.h"
#include "../base/proc.h"

#include "../metrics/store.h"
#include "../reports/query_cli.h"
#include "../base/error.h"
#include "../base/jsonout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: llmbench runs [--db FILE] [--format table|md|csv|json|jsonl]\n"
	"\n"
	"List the runs in a store, oldest first: name, status (running, done, interrupted,\n"
	"failed, or died: 'running' in the store but its process is gone from this host), start\n"
	"time (UTC), duration (to the millisecond), workload, backends and\n"
	"measured requests (warm-up excluded) that succeeded or failed.\n"
	"\n"
	"  --db FILE       store to read (default: llmbench.db in the current directory)\n"
	"  --format FMT    table (default), md, csv, json (one array) or jsonl (one object a line)\n"
	"  --json          the same as --format json\n"
	"\n"
	"Exit: 0 listed, 2 bad option or no such store, 3 store error.\n";

/* Columns of query_runs_list(), by position. */
enum {
	C_NAME,
	C_STATUS,
	C_STARTED,
	C_ENDED,
	C_DUR,
	C_WORKLOAD,
	C_WPATH,
	C_BACKENDS,
	C_OK,
	C_FAILED,
	C_WARMUP,
	C_HOST,
	C_VERSION,
	C_NOTE,
	C_PID
};

struct runs_out {
	enum cmd_format fmt;
	long n;
};

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

/* 'died': running in the store, on this host, and its process is gone. */
static const char *run_status(const struct store_row *row)
{
	const char *st = row->text[C_STATUS];
	long pid;

	if (!st || strcmp(st, "running") || !row->text[C_PID] ||
	    cmd_parse_long(row->text[C_PID], &pid))
		return st;
	return lb_process_state(row->text[C_HOST], pid) == 0 ? "died" : st;
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
	json_field("status", run_status(row));
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
	printf(",\"pid\":%s}", row->text[C_PID] ? row->text[C_PID] : "null");
}

static void csv_field(const char *s, bool last)
{
	const char *p;

	if (s && strpbrk(s, ",\"\r\n")) {
		putchar('"');
		for (p = s; *p; p++) {
			if (*p == '"')
				putchar('"');
			putchar(*p);
		}
		putchar('"');
	} else if (s) {
		fputs(s, stdout);
	}
	putchar(last ? '\n' : ',');
}

static int on_run(void *ctx, const struct store_row *row)
{
	struct runs_out *o = ctx;
	char dur[32], started[32], raw[32];
	const char *status = run_status(row);
	double d = row->num[C_DUR]; /* "-" while running: no end yet */
	/* "2026-01-02T03:04:05.678Z" -> "2026-01-02 03:04:05" */
	snprintf(started, sizeof(started), "%.19s", or_dash(row->text[C_STARTED]));
	if (strlen(started) > 10 && started[10] == 'T')
		started[10] = ' ';
	fmt_duration(dur, sizeof(dur), d);
	switch (o->fmt) {
	case CMD_FMT_JSON:
	case CMD_FMT_JSONL:
		if (o->fmt == CMD_FMT_JSON)
			fputs(o->n ? ",\n  " : "[\n  ", stdout);
		json_row(row);
		if (o->fmt == CMD_FMT_JSONL)
			putchar('\n');
		break;
	case CMD_FMT_CSV:
		if (isnan(row->num[C_DUR]))
			raw[0] = '\0';
		else
			snprintf(raw, sizeof(raw), "%.3f", row->num[C_DUR]);
		csv_field(row->text[C_NAME], false);
		csv_field(status, false);
		csv_field(row->text[C_STARTED], false);
		csv_field(row->text[C_ENDED], false);
		csv_field(raw, false);
		csv_field(row->text[C_WORKLOAD], false);
		csv_field(row->text[C_BACKENDS], false);
		csv_field(row->text[C_OK], false);
		csv_field(row->text[C_FAILED], false);
		csv_field(row->text[C_WARMUP], false);
		csv_field(row->text[C_HOST], false);
		csv_field(row->text[C_PID], false);
		csv_field(row->text[C_VERSION], false);
		csv_field(row->text[C_WPATH], false);
		csv_field(row->text[C_NOTE], true);
		break;
	case CMD_FMT_MD: {
		const char *cell[] = { or_dash(row->text[C_NAME]),
				       or_dash(status),
				       started,
				       dur,
				       or_dash(row->text[C_WORKLOAD]),
				       or_dash(row->text[C_BACKENDS]),
				       row->text[C_OK],
				       row->text[C_FAILED] };

		for (size_t i = 0; i < sizeof(cell) / sizeof(cell[0]); i++) {
			fputs("| ", stdout);
			mdout_cell(stdout, cell[i]);
			putchar(' ');
		}
		puts("|");
		break;
	}
	default:
		if (!o->n)
			printf("%-28s %-11s %-19s %9s  %-16s %-24s %7s %7s\n", "NAME", "STATUS",
			       "STARTED (UTC)", "DURATION", "WORKLOAD", "BACKENDS", "OK", "FAILED");
		printf("%-28s %-11s %-19s %9s  %-16s %-24s %7s %7s\n", or_dash(row->text[C_NAME]),
		       or_dash(status), started, dur, or_dash(row->text[C_WORKLOAD]),
		       or_dash(row->text[C_BACKENDS]), row->text[C_OK], row->text[C_FAILED]);
	}
	o->n++;
	return ferror(stdout) ? 1 : 0;
}

struct has_pid {
	bool yes;
};

static int on_pid_col(void *ctx, const struct store_row *row)
{
	((struct has_pid *)ctx)->yes = row->text[0] && strcmp(row->text[0], "0");
	return 0;
}

int cmd_runs(int argc, char **argv, struct lb_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct runs_out o = { 0 };
	struct has_pid hp = { false };
	struct store *st = NULL;
	struct lb_error err = LB_ERROR_INIT;
	int c, rc;

	optind = 1;
	while ((c = cmd_getopt(argc, argv, "runs", "h", longopts)) != -1) {
		switch (c) {
		case 'f':
			if (cmd_parse_format("runs", optarg,
					     1u << CMD_FMT_TABLE | 1u << CMD_FMT_MD |
						     1u << CMD_FMT_CSV | 1u << CMD_FMT_JSON |
						     1u << CMD_FMT_JSONL,
					     &o.fmt))
				return 2;
			break;
		case 'j': o.fmt = CMD_FMT_JSON; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return 2;
		}
	}
	if (optind < argc)
		return cmd_usage_error("runs", "unexpected argument '%s'", argv[optind]);
	rc = cmd_store(ctx, &st);
	if (rc)
		return rc;
	/* the header even for a store with no run: a table of no rows still parses */
	if (o.fmt == CMD_FMT_CSV)
		puts("name,status,started_at,ended_at,duration_s,workload,backends,requests_ok,"
		     "requests_failed,requests_warmup,host,pid,version,workload_path,note");
	else if (o.fmt == CMD_FMT_MD)
		puts("| name | status | started (UTC) | duration | workload | backends | ok | "
		     "failed |\n| --- | --- | --- | ---: | --- | --- | ---: | ---: |");
	rc = query_runs_has_pid(st, on_pid_col, &hp, &err);
	if (!rc)
		rc = query_runs_list(st, hp.yes, on_run, &o, &err);
	if (!rc) {
		if (o.fmt == CMD_FMT_JSON)
			fputs(o.n ? "\n]\n" : "[]\n", stdout);
		else if (!o.n && o.fmt == CMD_FMT_TABLE)
			printf("no runs in '%s'\n", ctx->db);
	}
	if (rc)
		return cmd_fail(&err);
	if (fflush(stdout) || ferror(stdout)) {
		lb_error_set(&err, LB_ERR_IO, "cannot write the list of runs to stdout");
		return cmd_fail(&err);
	}
	return 0;
}
