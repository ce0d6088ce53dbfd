/* vllm.c: a run's levels as `vllm bench serve` shows them: the summary block and the flat
 * --save-result JSON (reports/vllm.h). Statistics as vLLM computes them with numpy: mean,
 * median, population std, linear-interpolation percentiles; TTFT/TPOT/ITL/E2EL over completed
 * requests; ITL over every gap between streamed chunks. */
#include "vllm.h"
#include "query_cli.h"

#include "../base/alloc.h"
#include "../base/error.h"
#include "../base/jsonout.h"
#include "../metrics/record.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static int vec_push(struct vllm_vec *v, double x)
{
	if (v->n == v->alloc) {
		size_t na = v->alloc ? v->alloc * 2 : 64;
		double *p = lb_realloc(v->v, na * sizeof(*p));

		if (!p)
			return -1;
		v->v = p;
		v->alloc = na;
	}
	v->v[v->n++] = x;
	return 0;
}

static void vec_free(struct vllm_vec *v)
{
	lb_free(v->v);
	memset(v, 0, sizeof(*v));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* A level with no successful request has no values (and no array: qsort must not see NULL). */
static void sort_vec(struct vllm_vec *v)
{
	if (v->n)
		qsort(v->v, v->n, sizeof(double), cmp_double);
}

double vllm_percentile(const struct vllm_vec *s, double p)
{
	double pos, frac;
	size_t lo;

	if (!s->n)
		return NAN;
	pos = p / 100.0 * (double)(s->n - 1);
	lo = (size_t)floor(pos);
	frac = pos - (double)lo;
	if (lo + 1 >= s->n)
		return s->v[s->n - 1];
	return s->v[lo] + (s->v[lo + 1] - s->v[lo]) * frac;
}

static double vec_mean(const struct vllm_vec *v)
{
	double sum = 0;
	size_t i;

	if (!v->n)
		return NAN;
	for (i = 0; i < v->n; i++)
		sum += v->v[i];
	return sum / (double)v->n;
}

static double vec_std(const struct vllm_vec *v)
{
	double m = vec_mean(v), ss = 0;
	size_t i;

	if (!v->n)
		return NAN;
	for (i = 0; i < v->n; i++)
		ss += (v->v[i] - m) * (v->v[i] - m);
	return sqrt(ss / (double)v->n);
}

/* ---- loading ---- */

struct level_row {
	int64_t id;
	char *backend, *model, *mode;
	int idx, rep;
	double value, duration_s, goodput;
	bool valid;
	char *reason, *date, *api;
	double burstiness;
};

struct levels_ctx {
	struct level_row *rows;
	size_t n, alloc;
	bool oom;
};

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = lb_strdup(s);
	if (!d)
		*oom = true;
	return d;
}

static int on_level(void *ctx, const struct store_row *row)
{
	struct levels_ctx *c = ctx;
	struct level_row *r;

	if (c->n == c->alloc) {
		size_t na = c->alloc ? c->alloc * 2 : 16;
		struct level_row *p = lb_realloc(c->rows, na * sizeof(*p));

		if (!p) {
			c->oom = true;
			return 1;
		}
		c->rows = p;
		c->alloc = na;
	}
	r = &c->rows[c->n++];
	memset(r, 0, sizeof(*r));
	r->id = (int64_t)row->num[0];
	r->backend = dup_or_null(row->text[1], &c->oom);
	r->model = dup_or_null(row->text[2], &c->oom);
	r->mode = dup_or_null(row->text[3], &c->oom);
	r->value = row->num[4];
	r->idx = (int)row->num[5];
	r->rep = (int)row->num[6];
	r->duration_s = row->num[7];
	r->goodput = row->num[8];
	r->valid = !(row->num[9] == 0);
	r->reason = dup_or_null(row->text[10], &c->oom);
	r->date = dup_or_null(row->text[11], &c->oom);
	r->api = dup_or_null(row->text[12], &c->oom);
	r->burstiness = row->num[13];
	return c->oom;
}

struct req_ctx {
	struct vllm_level *l;
	uint64_t *t;
	int32_t *cn;
	size_t alloc, req_alloc;
	/* events for peak concurrency and the 1 s output-token buckets */
	struct vllm_vec sends, ends, tok_t, tok_n;
	bool oom;
};

enum {
	R_STATUS,
	R_ERROR,
	R_TTFT,
	R_TPOT,
	R_E2E,
	R_PROMPT,
	R_OUTPUT,
	R_TIMES,
	R_TOKENS,
	R_SEND,
	R_END,
	R_TEXT
};

static int on_req(void *ctx, const struct store_row *row)
{
	struct req_ctx *c = ctx;
	struct vllm_level *l = c->l;
	struct vllm_req *q;
	bool ok = row->text[R_STATUS] && !strcmp(row->text[R_STATUS], "ok");
	size_t len = row->types[R_TIMES] == STORE_BLOB ? (size_t)row->blob_len[R_TIMES] : 0;
	long n = 0, nc = -1, i;
	double send = row->num[R_SEND];

	if (l->n_req == c->req_alloc) {
		size_t na = c->req_alloc ? c->req_alloc * 2 : 64;

		q = lb_realloc(l->req, na * sizeof(*q));
		if (!q)
			goto oom;
		l->req = q;
		c->req_alloc = na;
	}
	q = &l->req[l->n_req++];
	memset(q, 0, sizeof(*q));
	q->input_len = isnan(row->num[R_PROMPT]) ? -1 : (long)row->num[R_PROMPT];
	q->output_len = ok && !isnan(row->num[R_OUTPUT]) ? (long)row->num[R_OUTPUT] : ok ? -1 : 0;
	q->ttft_s = ok && !isnan(row->num[R_TTFT]) ? row->num[R_TTFT] / 1e3 : NAN;
	q->text = dup_or_null(row->text[R_TEXT], &c->oom);
	if (!ok) {
		char e[256];

		snprintf(e, sizeof(e), "%s%s%s",
			 row->text[R_STATUS] ? row->text[R_STATUS] : "failed",
			 row->text[R_ERROR] ? ": " : "",
			 row->text[R_ERROR] ? row->text[R_ERROR] : "");
		q->error = dup_or_null(e, &c->oom);
	}
	if (len > c->alloc) {
		uint64_t *t = lb_realloc(c->t, len * sizeof(*t));
		int32_t *cn;

		if (!t)
			goto oom;
		c->t = t;
		cn = lb_realloc(c->cn, len * sizeof(*cn));
		if (!cn)
			goto oom;
		c->cn = cn;
		c->alloc = len;
	}
	if (len)
		n = reqrec_decode_chunks(row->blob[R_TIMES], len, 0, c->t, (long)len);
	if (n > 0 && row->types[R_TOKENS] == STORE_BLOB && row->blob_len[R_TOKENS] > 0)
		nc = reqrec_decode_counts(row->blob[R_TOKENS], (size_t)row->blob_len[R_TOKENS],
					  c->cn, (long)c->alloc);
	if (!ok)
		return c->oom;
	/* vLLM's peaks are over the successful requests */
	if (!isnan(send) && !isnan(row->num[R_END]) &&
	    (vec_push(&c->sends, send) || vec_push(&c->ends, row->num[R_END])))
		goto oom;
	l->completed++;
	if (q->input_len > 0)
		l->total_input += q->input_len;
	if (q->output_len > 0)
		l->total_output += q->output_len;
	if ((!isnan(row->num[R_TTFT]) && vec_push(&l->ttft, row->num[R_TTFT])) ||
	    (!isnan(row->num[R_TPOT]) && vec_push(&l->tpot, row->num[R_TPOT])) ||
	    (!isnan(row->num[R_E2E]) && vec_push(&l->e2el, row->num[R_E2E])))
		goto oom;
	for (i = 0; i < n; i++) {
		double tok = nc == n && c->cn[i] >= 0 ? c->cn[i] : 1;

		if (!isnan(send) &&
		    (vec_push(&c->tok_t, send + (double)c->t[i]) || vec_push(&c->tok_n, tok)))
			goto oom;
		if (i && (vec_push(&l->itl, (double)(c->t[i] - c->t[i - 1]) / 1e6) ||
			  vec_push(&q->itl_s, (double)(c->t[i] - c->t[i - 1]) / 1e9)))
			goto oom;
	}
	return c->oom;
oom:
	c->oom = true;
	return 1;
}

static void level_free(struct vllm_level *l)
{
	size_t i;

	for (i = 0; i < l->n_req; i++) {
		lb_free(l->req[i].text);
		lb_free(l->req[i].error);
		vec_free(&l->req[i].itl_s);
	}
	lb_free(l->req);
	vec_free(&l->ttft);
	vec_free(&l->tpot);
	vec_free(&l->itl);
	vec_free(&l->e2el);
}

/* vLLM's peaks (vllm bench serve's calculate_metrics), over the successful requests, in 1 s
 * buckets from the earliest of their sends: the most output tokens that arrived in one bucket,
 * and the most requests active in one bucket (a request is active in every bucket from its
 * send's to its end's). */
static void peaks(struct req_ctx *c, struct vllm_level *l)
{
	double t0 = INFINITY, t1 = -INFINITY, best = 0;
	size_t k, nb;
	long *active, cur = 0;
	double *b;

	l->peak_output_tps = NAN;
	for (k = 0; k < c->sends.n; k++) {
		if (c->sends.v[k] < t0)
			t0 = c->sends.v[k];
		if (c->ends.v[k] > t1)
			t1 = c->ends.v[k];
	}
	if (!c->sends.n || !(t1 >= t0))
		return;
	nb = (size_t)ceil((t1 - t0) / 1e9) + 1; /* as vLLM: np.ceil(max_end - min_start) + 1 */
	active = lb_calloc(nb + 1, sizeof(*active));
	b = lb_calloc(nb, sizeof(*b));
	if (active && b) {
		for (k = 0; k < c->sends.n; k++) {
			active[(size_t)((c->sends.v[k] - t0) / 1e9)]++;
			active[(size_t)((c->ends.v[k] - t0) / 1e9) + 1]--;
		}
		for (k = 0; k < nb; k++) {
			cur += active[k];
			if (cur > l->peak_concurrency)
				l->peak_concurrency = cur;
		}
		for (k = 0; k < c->tok_t.n; k++) {
			double d = (c->tok_t.v[k] - t0) / 1e9;

			if (d >= 0 && d < (double)nb)
				b[(size_t)d] += c->tok_n.v[k];
		}
		for (k = 0; k < nb; k++)
			if (b[k] > best)
				best = b[k];
		if (c->tok_t.n)
			l->peak_output_tps = best;
	}
	lb_free(active);
	lb_free(b);
}

int vllm_levels(struct store *st, const char *run, vllm_level_fn *fn, void *ctx,
		struct lb_error *err)
{
	struct levels_ctx lc = { 0 };
	const char *p[1] = { run };
	int64_t run_id;
	size_t i;
	int rc;

	rc = store_run_find(st, run, &run_id, err);
	if (rc)
		return rc;
	rc = query_vllm_levels(st, p[0], on_level, &lc, err);
	if (!rc && lc.oom)
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory reading the levels of '%s'",
				  run);
	for (i = 0; !rc && i < lc.n; i++) {
		struct level_row *r = &lc.rows[i];
		struct vllm_level l = { 0 };
		struct req_ctx c = { .l = &l };
		char id[32];
		const char *q[1] = { id };

		l.run = run;
		l.backend = r->backend;
		l.model = r->model;
		l.mode = r->mode;
		l.level_id = r->id;
		l.idx = r->idx;
		l.rep = r->rep;
		l.value = r->value;
		l.duration_s = r->duration_s;
		l.goodput = r->goodput;
		l.valid = r->valid;
		l.invalid_reason = r->reason;
		l.date = r->date;
		l.api = r->api;
		l.burstiness = r->burstiness;
		snprintf(id, sizeof(id), "%lld", (long long)r->id);
		rc = query_vllm_requests(st, q[0], on_req, &c, err);
		if (!rc && c.oom)
			rc = lb_error_set(err, LB_ERR_NOMEM,
					  "out of memory reading requests of '%s'", run);
		if (!rc) {
			l.failed = (long)l.n_req - l.completed;
			sort_vec(&l.ttft);
			sort_vec(&l.tpot);
			sort_vec(&l.itl);
			sort_vec(&l.e2el);
			peaks(&c, &l);
			rc = fn(ctx, &l, err);
		}
		level_free(&l);
		lb_free(c.t);
		lb_free(c.cn);
		vec_free(&c.sends);
		vec_free(&c.ends);
		vec_free(&c.tok_t);
		vec_free(&c.tok_n);
	}
	for (i = 0; i < lc.n; i++) {
		lb_free(lc.rows[i].backend);
		lb_free(lc.rows[i].model);
		lb_free(lc.rows[i].mode);
		lb_free(lc.rows[i].reason);
		lb_free(lc.rows[i].date);
		lb_free(lc.rows[i].api);
	}
	lb_free(lc.rows);
	return rc;
}

/* ---- output ---- */

static double per_s(double x, double d)
{
	return d > 0 && !isnan(d) ? x / d : NAN;
}

/* A throughput of the level: unavailable (null, n/a) when no request succeeded, as the store
 * has it (docs/METRICS.md, validity 1), not 0. */
static double level_rate(const struct vllm_level *l, double x)
{
	return l->completed ? per_s(x, l->duration_s) : NAN;
}

/* "99" for 99, "99.9" for 99.9: vLLM's p_word */
static void p_word(char *buf, size_t len, double p)
{
	if (p == floor(p))
		snprintf(buf, len, "%d", (int)p);
	else
		snprintf(buf, len, "%g", p);
}

static bool selected(const struct vllm_opts *o, const char *m)
{
	const char *s = o->percentile_metrics ? o->percentile_metrics : "ttft,tpot,itl";
	size_t n = strlen(m);

	while (*s) {
		size_t k = strcspn(s, ",");

		if (k == n && !strncmp(s, m, n))
			return true;
		s += k;
		if (*s)
			s++;
	}
	return false;
}

static const struct metric {
	const char *key, *name, *header;
	size_t off;
} metrics[] = {
	{ "ttft", "TTFT", "Time to First Token", offsetof(struct vllm_level, ttft) },
	{ "tpot", "TPOT", "Time per Output Token (excl. 1st token)",
	  offsetof(struct vllm_level, tpot) },
	{ "itl", "ITL", "Inter-token Latency", offsetof(struct vllm_level, itl) },
	{ "e2el", "E2EL", "End-to-end Latency", offsetof(struct vllm_level, e2el) },
};

static const struct vllm_vec *metric_vec(const struct vllm_level *l, const struct metric *m)
{
	return (const struct vllm_vec *)((const char *)l + m->off);
}

/* Python's "{s:{c}^{n}}".format(...): s centred in n columns of c, the extra one on the right. */
static void centred(FILE *f, const char *s, char c, int n)
{
	int len = (int)strlen(s), left = (n - len) / 2, right = n - len - left, i;

	for (i = 0; i < left; i++)
		putc(c, f);
	fputs(s, f);
	for (i = 0; i < right; i++)
		putc(c, f);
	putc('\n', f);
}

static void line_l(FILE *f, const char *label, long v)
{
	fprintf(f, "%-40s %-10ld\n", label, v);
}

static void line_f(FILE *f, const char *label, double v)
{
	if (isnan(v))
		fprintf(f, "%-40s %-10s\n", label, "n/a");
	else
		fprintf(f, "%-40s %-10.2f\n", label, v);
}

void vllm_print_summary(FILE *f, const struct vllm_level *l, const struct vllm_opts *o)
{
	size_t i, k;
	char label[96], pw[32];

	centred(f, " Serving Benchmark Result ", '=', 50);
	line_l(f, "Successful requests:", l->completed);
	line_l(f, "Failed requests:", l->failed);
	if (o->max_concurrency > 0)
		line_l(f, "Maximum request concurrency:", o->max_concurrency);
	if (isinf(o->request_rate))
		fprintf(f, "%-40s %-10s\n", "Request rate configured (RPS):", "inf");
	else
		line_f(f, "Request rate configured (RPS):", o->request_rate);
	line_f(f, "Benchmark duration (s):", l->duration_s);
	line_l(f, "Total input tokens:", l->total_input);
	line_l(f, "Total generated tokens:", l->total_output);
	line_f(f, "Request throughput (req/s):", level_rate(l, (double)l->completed));
	if (o->goodput_set)
		line_f(f, "Request goodput (req/s):", l->goodput);
	line_f(f, "Output token throughput (tok/s):", level_rate(l, (double)l->total_output));
	line_f(f, "Peak output token throughput (tok/s):", l->peak_output_tps);
	line_l(f, "Peak concurrent requests:", l->peak_concurrency);
	line_f(f, "Total Token throughput (tok/s):",
	       level_rate(l, (double)(l->total_input + l->total_output)));
	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		const struct metric *m = &metrics[i];
		const struct vllm_vec *v = metric_vec(l, m);

		if (!selected(o, m->key))
			continue;
		centred(f, m->header, '-', 50);
		snprintf(label, sizeof(label), "Mean %s (ms):", m->name);
		line_f(f, label, vec_mean(v));
		snprintf(label, sizeof(label), "Median %s (ms):", m->name);
		line_f(f, label, vllm_percentile(v, 50));
		for (k = 0; k < o->n_percentiles; k++) {
			p_word(pw, sizeof(pw), o->percentiles[k]);
			snprintf(label, sizeof(label), "P%s %s (ms):", pw, m->name);
			line_f(f, label, vllm_percentile(v, o->percentiles[k]));
		}
	}
	centred(f, "", '=', 50);
}

static void num(FILE *f, const char *key, double v)
{
	fprintf(f, ",\"%s\":", key);
	if (isnan(v) || isinf(v))
		fputs("null", f);
	else
		fprintf(f, "%.17g", v);
}

static void text(FILE *f, const char *key, const char *v)
{
	fprintf(f, ",\"%s\":", key);
	if (v)
		jsonout_strz(f, v);
	else
		fputs("null", f);
}

int vllm_write_result(FILE *f, const struct vllm_level *l, const struct vllm_opts *o,
		      struct lb_error *err)
{
	char key[64], pw[32];
	size_t i, k;

	fputs("{\"date\":", f);
	if (o->date || l->date)
		jsonout_strz(f, o->date ? o->date : l->date);
	else
		fputs("null", f);
	const char *be = o->backend_name                     ? o->backend_name
			 : l->api && !strcmp(l->api, "chat") ? "openai-chat"
							     : "openai";

	text(f, "backend", be);
	text(f, "endpoint_type", be);
	text(f, "label", NULL);
	text(f, "model_id", l->model);
	text(f, "tokenizer_id", o->tokenizer_id ? o->tokenizer_id : l->model);
	double rate = o->request_rate, burst = o->burstiness;
	double maxc = o->max_concurrency > 0 ? (double)o->max_concurrency : NAN;

	if (isnan(rate)) { /* a stored run: from the level (a closed loop is vLLM's inf) */
		bool open = l->mode && !strcmp(l->mode, "rate");

		rate = open ? l->value : INFINITY;
		burst = l->burstiness;
		if (!open)
			maxc = l->value;
	}
	num(f, "num_prompts", o->num_prompts > 0 ? (double)o->num_prompts : (double)l->n_req);
	if (isinf(rate))
		fputs(",\"request_rate\":\"inf\"", f); /* as vLLM writes it */
	else
		num(f, "request_rate", rate);
	num(f, "burstiness", burst);
	num(f, "max_concurrency", maxc);
	num(f, "duration", l->duration_s);
	num(f, "completed", (double)l->completed);
	num(f, "failed", (double)l->failed);
	num(f, "total_input_tokens", (double)l->total_input);
	num(f, "total_output_tokens", (double)l->total_output);
	num(f, "request_throughput", level_rate(l, (double)l->completed));
	num(f, "request_goodput", o->goodput_set ? l->goodput : NAN);
	num(f, "output_throughput", level_rate(l, (double)l->total_output));
	num(f, "total_token_throughput", level_rate(l, (double)(l->total_input + l->total_output)));
	num(f, "max_output_tokens_per_s", l->peak_output_tps);
	num(f, "max_concurrent_requests", (double)l->peak_concurrency);
	fputs(",\"input_lens\":[", f);
	for (i = 0; i < l->n_req; i++)
		if (l->req[i].input_len < 0) /* unknown: the server did not say (vLLM knows it) */
			fputs(i ? ",null" : "null", f);
		else
			fprintf(f, i ? ",%ld" : "%ld", l->req[i].input_len);
	fputs("],\"output_lens\":[", f);
	for (i = 0; i < l->n_req; i++)
		fprintf(f, i ? ",%ld" : "%ld", l->req[i].output_len < 0 ? 0 : l->req[i].output_len);
	fputs("],\"ttfts\":[", f);
	for (i = 0; i < l->n_req; i++) {
		if (i)
			putc(',', f);
		if (isnan(l->req[i].ttft_s))
			fputs("0.0", f); /* vLLM: 0.0 for a failed request */
		else
			fprintf(f, "%.9g", l->req[i].ttft_s);
	}
	fputs("],\"itls\":[", f);
	for (i = 0; i < l->n_req; i++) {
		fputs(i ? ",[" : "[", f);
		for (k = 0; k < l->req[i].itl_s.n; k++)
			fprintf(f, k ? ",%.9g" : "%.9g", l->req[i].itl_s.v[k]);
		putc(']', f);
	}
	fputs("],\"generated_texts\":[", f);
	for (i = 0; i < l->n_req; i++) {
		if (i)
			putc(',', f);
		jsonout_strz(f, l->req[i].text ? l->req[i].text : "");
	}
	fputs("],\"errors\":[", f);
	for (i = 0; i < l->n_req; i++) {
		if (i)
			putc(',', f);
		jsonout_strz(f, l->req[i].error ? l->req[i].error : "");
	}
	putc(']', f);
	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		const struct vllm_vec *v = metric_vec(l, &metrics[i]);

		/* every metric's figures, not only the selected ones: a superset of vLLM's keys */
		snprintf(key, sizeof(key), "mean_%s_ms", metrics[i].key);
		num(f, key, vec_mean(v));
		snprintf(key, sizeof(key), "median_%s_ms", metrics[i].key);
		num(f, key, vllm_percentile(v, 50));
		snprintf(key, sizeof(key), "std_%s_ms", metrics[i].key);
		num(f, key, vec_std(v));
		for (k = 0; k < o->n_percentiles; k++) {
			p_word(pw, sizeof(pw), o->percentiles[k]);
			snprintf(key, sizeof(key), "p%s_%s_ms", pw, metrics[i].key);
			num(f, key, vllm_percentile(v, o->percentiles[k]));
		}
	}
	/* llmbench's own, beside vLLM's */
	text(f, "llmbench_run", l->run);
	text(f, "llmbench_backend", l->backend);
	text(f, "llmbench_level_mode", l->mode);
	num(f, "llmbench_level_value", l->value);
	num(f, "llmbench_level_rep", (double)l->rep);
	fprintf(f, ",\"llmbench_level_valid\":%s", l->valid ? "true" : "false");
	text(f, "llmbench_invalid_reason", l->invalid_reason);
	fputs("}\n", f);
	if (ferror(f))
		return lb_error_set(err, LB_ERR_IO, "cannot write the result JSON");
	return 0;
}
