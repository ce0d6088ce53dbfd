/* cmd_export.c: `llmbench export`: one row per request of a run, as CSV, JSON or JSONL.
 * Rows are streamed from the store one at a time (never all in memory). */
#include "cmd.h"

#include "../metrics/power.h"
#include "../metrics/record.h"
#include "../metrics/store.h"
#include "../base/alloc.h"
#include "../base/error.h"
#include "../base/jsonout.h"
#include "../base/strbuf.h"
#include "../reports/query_cli.h"
#include "../reports/vllm.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: llmbench export [--db FILE] --run NAME [--format csv|json|jsonl|md|vllm]\n"
	"                       [--out FILE] [--no-warmup] [--chunks | --sessions]\n"
	"\n"
	"Print one row per request of a run, in request order (docs/cli/export.md lists the\n"
	"columns). Times are ms, *_ns are CLOCK_MONOTONIC ns; an unknown value is an empty CSV\n"
	"field or JSON null, never 0. energy_j_attributed is the level's measured energy shared\n"
	"out by tokens (attributed, not measured per request). A run of multi-turn sessions adds\n"
	"session, conversation and turn to each request.\n"
	"\n"
	"  --db FILE        store to read (default: llmbench.db in the current directory)\n"
	"  --run NAME       the run to export (see 'llmbench runs')\n"
	"  --format F       csv (RFC 4180, LF line ends, a header row; default), json (one array\n"
	"                   of objects), jsonl (one object per line), md (a Markdown table) or\n"
	"                   vllm (vllm bench serve's result object per level, one a line)\n"
	"  --out FILE       write there instead of stdout\n"
	"  --no-warmup      leave out warm-up requests\n"
	"  --chunks         add chunk_times_ms (arrival of each chunk, ms after t_send) and\n"
	"                   chunk_tokens (tokens per chunk, null unknown); json and jsonl only\n"
	"  --sessions       one row per session of a run of multi-turn sessions instead: its\n"
	"                   outcome, answered turns, duration, first and later turns' TTFT\n"
	"\n"
	"Exit: 0 written, 2 bad option, unknown run or no such store, 3 store or write error.\n";

enum fmt {
	FMT_CSV,
	FMT_JSON,
	FMT_JSONL,
	FMT_MD,
	FMT_VLLM
};

/* Output columns; query_export_requests() returns them in this order, then the chunk blobs. */
static const char *const cols[] = {
	"request_id",    "run",
	"backend",       "family",
	"quant",         "level",
	"level_mode",    "level_value",
	"rep",           "warmup",
	"status",        "http_status",
	"error",         "ttft_ms",
	"tpot_ms",       "itl_mean_ms",
	"e2e_ms",        "lag_ms",
	"prompt_tokens", "prompt_tokens_source",
	"output_tokens", "output_tokens_source",
	"n_chunks",      "t_scheduled_ns",
	"t_send_ns",     "t_first_ns",
	"t_end_ns",      "energy_j_attributed",
};
#define N_COLS (sizeof(cols) / sizeof(cols[0]))
/* After the columns: the chunk blobs, then the level's energy_j (NULL: unavailable or not
 * measured), the (prompt + output) tokens of its measured ok requests and how many of those
 * have an unknown count (computed once per level by the subquery). */
enum {
	C_REQ_ID = 0,
	C_WARMUP = 9,
	C_STATUS = 10,
	C_ITL = 15,
	C_PROMPT = 18,
	C_OUTPUT = 20,
	C_ENERGY_ATTR = N_COLS - 1,
	C_TIMES = N_COLS,
	C_TOKENS,
	C_LEVEL_J,
	C_LEVEL_TOK,
	C_LEVEL_UNKNOWN,
	C_SESSION, /* with sessions: session, conversation, turn */
};
/* Columns after energy_j_attributed for a run of multi-turn sessions (session_turns). */
static const char *const sess_cols[] = { "session", "conversation", "turn" };
#define N_SESS_COLS (sizeof(sess_cols) / sizeof(sess_cols[0]))

struct export_out {
	FILE *f;
	enum fmt fmt;
	bool chunks, sessions;
	long n;
	uint64_t *t;  /* owned: decoded chunk offsets, ns after t_send */
	int32_t *cn;  /* owned: decoded token counts */
	size_t alloc; /* entries in t and cn */
	long n_bad;   /* requests whose chunk blobs did not decode */
	bool oom;
};

/* A value in JSON: numbers as the store prints them, text as strings, NULL as null. */
static void json_value(FILE *f, const struct store_row *row, int i)
{
	switch (row->types[i]) {
	case STORE_INT: fputs(row->text[i], f); break;
	case STORE_REAL:
		if (isfinite(row->num[i]))
			fputs(row->text[i], f);
		else
			fputs("null", f);
		break;
	case STORE_TEXT: jsonout_strz(f, row->text[i]); break;
	default: fputs("null", f); break;
	}
}

/* A numeric cell, NAN when NULL or not a number. */
static double num_or_nan(const struct store_row *row, int i)
{
	if (row->types[i] != STORE_INT && row->types[i] != STORE_REAL)
		return NAN;
	return row->num[i];
}

/* The text of a cell for CSV: NULL and non-finite reals are empty. */
static const char *csv_text(const struct store_row *row, int i)
{
	if (row->types[i] == STORE_REAL && !isfinite(row->num[i]))
		return NULL;
	if (row->types[i] == STORE_BLOB)
		return NULL;
	return row->text[i];
}

/* Decode the chunk blobs of a row; returns the chunks decoded (-1: malformed, -2: no memory).
 * *have_counts says whether cn was filled. */
static long decode_chunks(struct export_out *o, const struct store_row *row, bool *have_counts)
{
	size_t len = row->types[C_TIMES] == STORE_BLOB ? (size_t)row->blob_len[C_TIMES] : 0;
	long n, nc;

	*have_counts = false;
	if (!len)
		return 0;
	if (len > o->alloc) { /* each LEB128 value takes at least one byte */
		uint64_t *t = lb_realloc(o->t, len * sizeof(*t));
		int32_t *cn;

		if (!t)
			return -2;
		o->t = t;
		cn = lb_realloc(o->cn, len * sizeof(*cn));
		if (!cn)
			return -2;
		o->cn = cn;
		o->alloc = len;
	}
	n = reqrec_decode_chunks(row->blob[C_TIMES], len, 0, o->t, (long)len);
	if (n < 0)
		return -1;
	if (row->types[C_TOKENS] == STORE_BLOB && row->blob_len[C_TOKENS] > 0) {
		nc = reqrec_decode_counts(row->blob[C_TOKENS], (size_t)row->blob_len[C_TOKENS],
					  o->cn, (long)o->alloc);
		if (nc == n)
			*have_counts = true;
		else
			return -1;
	}
	return n;
}

/* energy_j_attributed (power_attributed_energy_j) for a measured ok request; "" otherwise. */
static void attributed_energy(const struct store_row *row, char *buf, size_t size)
{
	double e;

	buf[0] = '\0';
	if (row->types[C_WARMUP] == STORE_NULL || row->num[C_WARMUP] != 0 || !row->text[C_STATUS] ||
	    strcmp(row->text[C_STATUS], "ok"))
		return;
	e = power_attributed_energy_j(num_or_nan(row, C_LEVEL_J), num_or_nan(row, C_LEVEL_TOK),
				      num_or_nan(row, C_LEVEL_UNKNOWN), num_or_nan(row, C_PROMPT),
				      num_or_nan(row, C_OUTPUT));
	if (isfinite(e))
		snprintf(buf, size, "%.9g", e);
}

static void put_ms(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%06" PRIu64, ns / 1000000u, ns % 1000000u);
}

/* One Markdown table cell: '|' escaped, line ends as spaces. */
static void md_cell(FILE *f, const char *v)
{
	fputs("| ", f);
	for (; v && *v; v++) {
		if (*v == '|')
			putc('\\', f);
		putc(*v == '\n' || *v == '\r' ? ' ' : *v, f);
	}
	putc(' ', f);
}

static int on_request(void *ctx, const struct store_row *row)
{
	struct export_out *o = ctx;
	FILE *f = o->f;
	char itl[64] = "", energy[64];
	bool have_counts = false, ok;
	long n;
	size_t i;

	n = decode_chunks(o, row, &have_counts);
	if (n == -2) {
		o->oom = true;
		return 1;
	}
	if (n < 0) {
		if (!o->n_bad++)
			cmd_warn("request %s: malformed chunk blob; its chunk figures are left "
				 "empty",
				 row->text[C_REQ_ID]);
	}
	ok = row->text[C_STATUS] && !strcmp(row->text[C_STATUS], "ok");
	if (ok && n >= 2)
		snprintf(itl, sizeof(itl), "%.6f", (double)(o->t[n - 1] - o->t[0]) / (n - 1) / 1e6);
	attributed_energy(row, energy, sizeof(energy));

	if (o->fmt == FMT_MD) {
		for (i = 0; i < N_COLS; i++)
			md_cell(f, i == C_ITL           ? itl
				   : i == C_ENERGY_ATTR ? energy
							: csv_text(row, (int)i));
		for (i = 0; o->sessions && i < N_SESS_COLS; i++)
			md_cell(f, csv_text(row, (int)(C_SESSION + i)));
		fputs("|\n", f);
	} else if (o->fmt == FMT_CSV) {
		for (i = 0; i < N_COLS; i++) {
			if (i)
				putc(',', f);
			if (i == C_ITL)
				fputs(itl, f);
			else if (i == C_ENERGY_ATTR)
				fputs(energy, f);
			else
				csvout_field(f, csv_text(row, (int)i));
		}
		for (i = 0; o->sessions && i < N_SESS_COLS; i++) {
			putc(',', f);
			csvout_field(f, csv_text(row, (int)(C_SESSION + i)));
		}
		putc('\n', f);
	} else {
		if (o->fmt == FMT_JSON)
			fputs(o->n ? ",\n" : "[\n", f);
		putc('{', f);
		for (i = 0; i < N_COLS; i++) {
			fprintf(f, "%s\"%s\":", i ? "," : "", cols[i]);
			if (i == C_ITL)
				fputs(itl[0] ? itl : "null", f);
			else if (i == C_ENERGY_ATTR)
				fputs(energy[0] ? energy : "null", f);
			else if (i == C_WARMUP && row->types[i] != STORE_NULL)
				fputs(row->num[i] != 0 ? "true" : "false", f);
			else
				json_value(f, row, (int)i);
		}
		for (i = 0; o->sessions && i < N_SESS_COLS; i++) {
			fprintf(f, ",\"%s\":", sess_cols[i]);
			json_value(f, row, (int)(C_SESSION + i));
		}
		if (o->chunks) {
			long k;

			fputs(",\"chunk_times_ms\":", f);
			if (n < 0) {
				fputs("null", f);
			} else {
				putc('[', f);
				for (k = 0; k < n; k++) {
					if (k)
						putc(',', f);
					put_ms(f, o->t[k]);
				}
				putc(']', f);
			}
			fputs(",\"chunk_tokens\":", f);
			if (n < 0) {
				fputs("null", f);
			} else {
				putc('[', f);
				for (k = 0; k < n; k++) {
					if (k)
						putc(',', f);
					if (have_counts && o->cn[k] >= 0)
						fprintf(f, "%" PRId32, o->cn[k]);
					else
						fputs("null", f);
				}
				putc(']', f);
			}
		}
		putc('}', f);
		if (o->fmt == FMT_JSONL)
			putc('\n', f);
	}
	o->n++;
	return ferror(f) ? 1 : 0;
}

/* The header of --sessions in csv and md, written before any row (a run whose sessions were
 * all warm-up still gets it). */
static void session_header(struct export_out *o)
{
	const char *const *c = query_export_session_cols;
	size_t i;

	if (o->fmt == FMT_CSV) {
		for (i = 0; c[i]; i++)
			fprintf(o->f, "%s%s", i ? "," : "", c[i]);
		putc('\n', o->f);
	} else if (o->fmt == FMT_MD) {
		for (i = 0; c[i]; i++)
			fprintf(o->f, "| %s ", c[i]);
		fputs("|\n", o->f);
		for (i = 0; c[i]; i++)
			fputs("| --- ", o->f);
		fputs("|\n", o->f);
	}
}

/* One row of --sessions, any format: the query's columns, named as the header names them. */
static int on_session(void *ctx, const struct store_row *row)
{
	struct export_out *o = ctx;
	FILE *f = o->f;
	int i;

	if (o->fmt == FMT_MD) {
		for (i = 0; i < row->n_cols; i++)
			md_cell(f, csv_text(row, i));
		fputs("|\n", f);
	} else if (o->fmt == FMT_CSV) {
		for (i = 0; i < row->n_cols; i++) {
			if (i)
				putc(',', f);
			csvout_field(f, csv_text(row, i));
		}
		putc('\n', f);
	} else {
		if (o->fmt == FMT_JSON)
			fputs(o->n ? ",\n" : "[\n", f);
		putc('{', f);
		for (i = 0; i < row->n_cols && query_export_session_cols[i]; i++) {
			fprintf(f, "%s\"%s\":", i ? "," : "", query_export_session_cols[i]);
			if (!strcmp(query_export_session_cols[i], "warmup") &&
			    row->types[i] != STORE_NULL)
				fputs(row->num[i] != 0 ? "true" : "false", f);
			else
				json_value(f, row, i);
		}
		putc('}', f);
		if (o->fmt == FMT_JSONL)
			putc('\n', f);
	}
	o->n++;
	return ferror(f) ? 1 : 0;
}

struct names_ctx {
	struct strbuf sb;
	long n;
};

static int on_name(void *ctx, const struct store_row *row)
{
	struct names_ctx *c = ctx;

	if (c->n < 20)
		strbuf_addf(&c->sb, "%s'%s'", c->n ? ", " : "", row->text[0] ? row->text[0] : "");
	c->n++;
	return 0;
}

/* "no run 'x' in 'db'; its runs: 'a', 'b'" (at most 20 named). Returns 2. */
static int unknown_run(struct store *st, const char *db, const char *run)
{
	struct names_ctx c = { STRBUF_INIT, 0 };
	struct lb_error err = LB_ERROR_INIT;

	strbuf_init(&c.sb, 4096);
	if (query_run_names(st, on_name, &c, &err))
		c.n = -1;
	if (c.n > 0)
		fprintf(stderr, "llmbench: error: no run '%s' in '%s'; its runs: %s%s\n", run, db,
			c.sb.buf, c.n > 20 ? ", ..." : "");
	else if (c.n == 0)
		fprintf(stderr, "llmbench: error: no run '%s' in '%s': it has no runs\n", run, db);
	else
		fprintf(stderr, "llmbench: error: no run '%s' in '%s'\n", run, db);
	strbuf_release(&c.sb);
	return 2;
}

struct vllm_out {
	const struct vllm_opts *vo;
	FILE *f;
};

static struct vllm_out vllm_out_slot;

static struct vllm_out *vo_out_pair(const struct vllm_opts *vo, FILE *f)
{
	vllm_out_slot.vo = vo;
	vllm_out_slot.f = f;
	return &vllm_out_slot;
}

/* --format vllm: vLLM's flat result object per level, one a line */
static int vllm_line(void *ctx, const struct vllm_level *l, struct lb_error *err)
{
	struct vllm_out *v = ctx;

	return vllm_write_result(v->f, l, v->vo, err);
}

int cmd_export(int argc, char **argv, struct lb_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "run", required_argument, NULL, 'r' }, { "format", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' }, { "no-warmup", no_argument, NULL, 'W' },
		{ "chunks", no_argument, NULL, 'c' },    { "sessions", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },      { NULL, 0, NULL, 0 },
	};
	const char *db = ctx->db, *run = NULL, *out = NULL;
	struct export_out o = { .fmt = FMT_CSV };
	bool no_warmup = false, per_session = false;
	struct store *st = NULL;
	struct lb_error err = LB_ERROR_INIT;
	struct cmd_out of;
	char id[32];
	int64_t run_id;
	int c, rc, exit_code = 0;
	size_t i;

	optind = 1;
	while ((c = cmd_getopt(argc, argv, "export", "h", longopts)) != -1) {
		switch (c) {
		case 'r':
			if (run)
				return cmd_usage_error("export",
						       "--run is given once: export writes "
						       "one run ('%s' and '%s')",
						       run, optarg);
			run = optarg;
			break;
		case 'f':
			if (!strcmp(optarg, "csv"))
				o.fmt = FMT_CSV;
			else if (!strcmp(optarg, "json"))
				o.fmt = FMT_JSON;
			else if (!strcmp(optarg, "jsonl"))
				o.fmt = FMT_JSONL;
			else if (!strcmp(optarg, "md"))
				o.fmt = FMT_MD;
			else if (!strcmp(optarg, "vllm"))
				o.fmt = FMT_VLLM;
			else
				return cmd_usage_error(
					"export",
					"--format must be md, csv, json, jsonl or vllm, not '%s'",
					optarg);
			break;
		case 'o': out = optarg; break;
		case 'W': no_warmup = true; break;
		case 'c': o.chunks = true; break;
		case 'S': per_session = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return 2;
		}
	}
	if (optind < argc)
		return cmd_usage_error("export", "unexpected argument '%s'", argv[optind]);
	if (!run)
		return cmd_usage_error(
			"export", "--run NAME is required ('llmbench runs --db %s' lists them)",
			db);
	if (o.chunks && o.fmt != FMT_JSON && o.fmt != FMT_JSONL)
		return cmd_usage_error("export", "--chunks needs --format json or jsonl");
	if (per_session && (o.chunks || o.fmt == FMT_VLLM))
		return cmd_usage_error("export", "--sessions takes --format csv, json, jsonl or md "
						 "and no --chunks");

	rc = cmd_store(ctx, &st);
	if (rc)
		return rc;
	rc = store_run_find(st, run, &run_id, &err);
	if (rc)
		return rc == LB_ERR_USAGE ? unknown_run(st, db, run) : cmd_fail(&err);
	if (cmd_out_open(&of, out, LB_ERR_USAGE, &err))
		return cmd_fail(&err);
	o.f = of.f;

	if (o.fmt == FMT_VLLM) {
		struct vllm_opts vo = { 0 };
		static const double p99[] = { 99 };

		vo.request_rate = NAN; /* a stored run: the level's own mode and value are beside */
		vo.burstiness = NAN;
		vo.percentiles = p99;
		vo.n_percentiles = 1;
		vo.goodput_set = true;
		rc = vllm_levels(st, run, vllm_line, vo_out_pair(&vo, o.f), &err);
		goto done;
	}
	snprintf(id, sizeof(id), "%" PRId64, run_id);
	rc = query_run_has_sessions(st, id, &o.sessions, &err);
	if (rc)
		goto done;
	if (per_session) {
		if (!o.sessions) {
			rc = lb_error_set(
				&err, LB_ERR_USAGE,
				"run '%s' played no multi-turn sessions (load mode sessions "
				"or session_rate): --sessions has nothing to export",
				run);
			goto done;
		}
		session_header(&o);
		rc = query_export_sessions(st, id, no_warmup ? "1" : "0", on_session, &o, &err);
		goto done;
	}
	if (o.fmt == FMT_CSV) {
		for (i = 0; i < N_COLS; i++)
			fprintf(o.f, "%s%s", i ? "," : "", cols[i]);
		for (i = 0; o.sessions && i < N_SESS_COLS; i++)
			fprintf(o.f, ",%s", sess_cols[i]);
		putc('\n', o.f);
	} else if (o.fmt == FMT_MD) {
		size_t n_cols = N_COLS + (o.sessions ? N_SESS_COLS : 0);

		for (i = 0; i < n_cols; i++)
			fprintf(o.f, "| %s ", i < N_COLS ? cols[i] : sess_cols[i - N_COLS]);
		fputs("|\n", o.f);
		for (i = 0; i < n_cols; i++)
			fputs("| --- ", o.f);
		fputs("|\n", o.f);
	}
	{
		const char *params[] = { id, no_warmup ? "1" : "0" };

		rc = query_export_requests(st, params[0], params[1], o.sessions, on_request, &o,
					   &err);
	}
	if (!rc && o.oom)
		rc = lb_error_set(&err, LB_ERR_NOMEM, "out of memory decoding chunk times");
done:
	if (!rc && o.fmt == FMT_JSON)
		fputs(o.n ? "\n]\n" : "[]\n", o.f);
	{
		int crc = cmd_out_close(&of, !rc, &err);

		rc = rc ? rc : crc;
	}
	if (rc)
		exit_code = cmd_fail(&err);
	else if (o.n_bad)
		cmd_warn("%ld requests had malformed chunk blobs", o.n_bad);
	lb_free(o.t);
	lb_free(o.cn);
	return exit_code;
}
