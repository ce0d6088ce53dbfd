/* trace.c: loading, checking, summarizing and generating timestamped request traces
 * (trace.h). docs/traffic.md describes the format and the figures. */
#include "trace.h"

#include "../base/alloc.h"
#include "../metrics/stats.h"
#include "lineread.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void trace_free(struct trace *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		lb_free(t->v[i].hash);
		lb_free(t->v[i].prompt);
	}
	lb_free(t->v);
	memset(t, 0, sizeof(*t));
}

/* A whole number in [lo, hi], or -1 with what = the field's name. */
static int whole(const cJSON *v, double lo, double hi, long *out)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
	    v->valuedouble > hi || v->valuedouble != floor(v->valuedouble))
		return -1;
	*out = (long)v->valuedouble;
	return 0;
}

static int line_err(struct lb_error *err, const char *path, long line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int line_err(struct lb_error *err, const char *path, long line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return lb_error_set(err, LB_ERR_PARSE, "%s:%ld: %s", path, line, msg);
}

static int parse_line(const char *path, long line, const char *text, size_t len, long block,
		      struct trace_req *r, struct lb_error *err)
{
	cJSON *j = cJSON_ParseWithLength(text, len);
	const cJSON *ts, *in, *out, *h, *p, *e;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->line = line;
	if (!cJSON_IsObject(j)) {
		rc = line_err(err, path, line, "not a JSON object");
		goto done;
	}
	ts = cJSON_GetObjectItemCaseSensitive(j, "timestamp");
	in = cJSON_GetObjectItemCaseSensitive(j, "input_length");
	out = cJSON_GetObjectItemCaseSensitive(j, "output_length");
	h = cJSON_GetObjectItemCaseSensitive(j, "hash_ids");
	p = cJSON_GetObjectItemCaseSensitive(j, "prompt");
	if (!ts) {
		rc = line_err(err, path, line,
			      "'timestamp' is missing (ms from the trace's start)");
		goto done;
	}
	if (!cJSON_IsNumber(ts) || !isfinite(ts->valuedouble) || ts->valuedouble < 0 ||
	    ts->valuedouble > 1e12) {
		rc = line_err(err, path, line, "'timestamp' must be a number of ms >= 0");
		goto done;
	}
	r->ts_ms = ts->valuedouble;
	if (p && !in) {
		if (!cJSON_IsString(p) || !p->valuestring[0]) {
			rc = line_err(err, path, line, "'prompt' must be a non-empty string");
			goto done;
		}
		r->in = -1;
		r->prompt = lb_strdup(p->valuestring);
		if (!r->prompt) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto done;
		}
	} else if (!in) {
		rc = line_err(err, path, line,
			      "'input_length' is missing (or give a 'prompt' text instead)");
		goto done;
	} else if (whole(in, 1, TRACE_MAX_LEN, &r->in)) {
		rc = line_err(err, path, line, "'input_length' must be a whole number in 1..%ld",
			      TRACE_MAX_LEN);
		goto done;
	} else if (p) {
		rc = line_err(err, path, line, "give 'input_length' or 'prompt', not both");
		goto done;
	}
	if (!out && r->in > 0) {
		rc = line_err(err, path, line, "'output_length' is missing (tokens to generate)");
		goto done;
	}
	if (out && whole(out, 1, TRACE_MAX_LEN, &r->out)) {
		rc = line_err(err, path, line, "'output_length' must be a whole number in 1..%ld",
			      TRACE_MAX_LEN);
		goto done;
	}
	if (h) {
		size_t n = 0, k = 0;
		long most;

		if (!cJSON_IsArray(h) || r->in < 0) {
			rc = line_err(
				err, path, line,
				r->in < 0 ? "'hash_ids' needs 'input_length', not 'prompt'"
					  : "'hash_ids' must be an array of whole numbers >= 0");
			goto done;
		}
		n = (size_t)cJSON_GetArraySize(h);
		most = (r->in + block - 1) / block;
		if ((long)n > most) {
			rc = line_err(err, path, line,
				      "%zu hash ids, but input_length %ld holds at most %ld blocks "
				      "of %ld tokens",
				      n, r->in, most, block);
			goto done;
		}
		r->hash = n ? lb_malloc(n * sizeof(*r->hash)) : NULL;
		if (n && !r->hash) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto done;
		}
		cJSON_ArrayForEach(e, h)
		{
			if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 9e15 ||
			    e->valuedouble != floor(e->valuedouble)) {
				rc = line_err(err, path, line,
					      "hash_ids[%zu] must be a whole number >= 0", k);
				goto done;
			}
			r->hash[k++] = (uint64_t)e->valuedouble;
		}
		r->n_hash = n;
	}
done:
	cJSON_Delete(j);
	if (rc) {
		lb_free(r->hash);
		lb_free(r->prompt);
		memset(r, 0, sizeof(*r));
	}
	return rc;
}

int trace_load(const char *path, long block_size, long limit, struct trace *t, struct lb_error *err)
{
	struct lineread lr;
	char *line;
	size_t len;
	int rc;

	memset(t, 0, sizeof(*t));
	t->block_size = block_size > 0 ? block_size : TRACE_DEFAULT_BLOCK;
	if ((rc = lineread_open(&lr, path, err)))
		return rc;
	while ((rc = lineread_next(&lr, &line, &len, err)) == 1) {
		struct trace_req r;
		size_t i = 0;

		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			continue;
		if (t->n >= (size_t)TRACE_MAX_LINES) {
			rc = line_err(err, path, lr.lineno, "more than %ld requests",
				      TRACE_MAX_LINES);
			break;
		}
		if ((rc = parse_line(path, lr.lineno, line, len, t->block_size, &r, err)))
			break;
		if (t->n && r.ts_ms < t->v[t->n - 1].ts_ms) {
			rc = line_err(
				err, path, lr.lineno,
				"timestamp %.17g is before line %ld's %.17g (the trace must be "
				"sorted by timestamp)",
				r.ts_ms, t->v[t->n - 1].line, t->v[t->n - 1].ts_ms);
			lb_free(r.hash);
			lb_free(r.prompt);
			break;
		}
		if (t->n == t->cap) {
			size_t ncap = t->cap ? t->cap * 2 : 1024;
			struct trace_req *nv = lb_realloc(t->v, ncap * sizeof(*nv));

			if (!nv) {
				lb_free(r.hash);
				lb_free(r.prompt);
				rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
				break;
			}
			t->v = nv;
			t->cap = ncap;
		}
		t->v[t->n++] = r;
		if (limit > 0 && (long)t->n >= limit)
			break;
	}
	lineread_close(&lr);
	if (rc == 1)
		rc = 0;
	if (!rc && !t->n)
		rc = lb_error_set(err, LB_ERR_PARSE, "%s: no requests in the trace", path);
	if (rc)
		trace_free(t);
	return rc;
}

/* Summaries */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A set of hash ids: open addressing over id + 1 (0: empty). */
struct idset {
	uint64_t *slot;
	size_t mask, n;
};

static int idset_init(struct idset *s, size_t expect)
{
	size_t cap = 64;

	while (cap < 2 * expect + 2)
		cap *= 2;
	s->slot = lb_calloc(cap, sizeof(*s->slot));
	s->mask = cap - 1;
	s->n = 0;
	return s->slot ? 0 : -1;
}

/* 1 when id was there, 0 when it was added. */
static int idset_put(struct idset *s, uint64_t id)
{
	uint64_t k = id + 1;
	size_t i = (size_t)mix64(k) & s->mask;

	while (s->slot[i]) {
		if (s->slot[i] == k)
			return 1;
		i = (i + 1) & s->mask;
	}
	s->slot[i] = k;
	s->n++;
	return 0;
}

static void len_stats(double *v, size_t n, double *mean, double *p50, double *p90, double *p99,
		      double *max, double *total)
{
	struct lb_stats st;
	size_t i;

	*total = 0;
	for (i = 0; i < n; i++)
		*total += v[i];
	stats_compute(v, n, &st);
	*mean = st.mean;
	*p50 = st.p50;
	*p90 = st.p90;
	*p99 = st.p99;
	*max = st.max;
}

int trace_stats(const struct trace *t, struct trace_stats *out, struct lb_error *err)
{
	double *in = NULL, *outl = NULL, first, dur;
	size_t i, n_ids = 0, n_out = 0;
	struct idset ids = { 0 };
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->n = t->n;
	out->hit_rate = -1;
	if (!t->n)
		return 0;
	first = t->v[0].ts_ms;
	dur = (t->v[t->n - 1].ts_ms - first) / 1000.0;
	if (!(dur > 0))
		dur = 0; /* not -0 */
	out->duration_s = dur;
	out->rate = dur > 0 ? (double)t->n / dur : 0;
	out->bin_s = dur / TRACE_RATE_BINS;
	for (i = 0; i < t->n; i++) {
		int b = out->bin_s > 0 ? (int)((t->v[i].ts_ms - first) / 1000.0 / out->bin_s) : 0;

		if (b >= TRACE_RATE_BINS)
			b = TRACE_RATE_BINS - 1;
		out->bin_rate[b] += 1;
		n_ids += t->v[i].n_hash;
	}
	for (i = 0; i < TRACE_RATE_BINS; i++)
		out->bin_rate[i] = out->bin_s > 0 ? out->bin_rate[i] / out->bin_s : 0;
	in = lb_malloc(t->n * sizeof(*in));
	outl = lb_malloc(t->n * sizeof(*outl));
	if (!in || !outl || idset_init(&ids, n_ids)) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < t->n; i++) {
		const struct trace_req *r = &t->v[i];
		size_t k;
		bool leading = true;

		if (r->in > 0)
			in[out->n_len++] = (double)r->in;
		if (r->out > 0)
			outl[n_out++] = (double)r->out;
		for (k = 0; k < r->n_hash; k++) {
			long blen = k + 1 < (size_t)((r->in + t->block_size - 1) / t->block_size)
					    ? t->block_size
					    : r->in - (long)k * t->block_size;
			int seen = idset_put(&ids, r->hash[k]);

			if (!seen)
				leading = false;
			if (leading)
				out->hit_tokens += (double)blen;
		}
	}
	out->total_ids = n_ids;
	out->unique_ids = ids.n;
	len_stats(in, out->n_len, &out->in_mean, &out->in_p50, &out->in_p90, &out->in_p99,
		  &out->in_max, &out->in_total);
	len_stats(outl, n_out, &out->out_mean, &out->out_p50, &out->out_p90, &out->out_p99,
		  &out->out_max, &out->out_total);
	if (n_ids && out->in_total > 0)
		out->hit_rate = out->hit_tokens / out->in_total;
done:
	lb_free(in);
	lb_free(outl);
	lb_free(ids.slot);
	return rc;
}

/* The generator */

static uint64_t gen_next(uint64_t *x)
{
	return mix64(*x += 0x9e3779b97f4a7c15ull);
}

static double gen_unit(uint64_t *x) /* (0, 1) */
{
	return ((double)(gen_next(x) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static long gen_range(uint64_t *x, long lo, long hi)
{
	return hi > lo ? lo + (long)(gen_next(x) % (uint64_t)(hi - lo + 1)) : lo;
}

int trace_gen(const struct trace_gen_cfg *cfg, struct strbuf *out, struct lb_error *err)
{
	uint64_t x = cfg->seed * 0x9e3779b97f4a7c15ull + 0x7ace, next_id = 0;
	uint64_t **ids = lb_calloc((size_t)cfg->requests, sizeof(*ids));
	size_t *n_full = lb_calloc((size_t)cfg->requests, sizeof(*n_full));
	double t = 0;
	long i, block = cfg->block_size > 0 ? cfg->block_size : TRACE_DEFAULT_BLOCK;
	int rc = 0;

	if (!ids || !n_full) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < cfg->requests; i++) {
		long in = gen_range(&x, cfg->in_min, cfg->in_max);
		long outl = gen_range(&x, cfg->out_min, cfg->out_max);
		size_t nb = (size_t)((in + block - 1) / block), k, shared = 0;

		if (i > 0)
			t += cfg->poisson ? -log(gen_unit(&x)) / cfg->rate * 1000.0
					  : 1000.0 / cfg->rate;
		ids[i] = lb_malloc((nb ? nb : 1) * sizeof(**ids));
		if (!ids[i]) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto done;
		}
		if (i > 0 && gen_unit(&x) < cfg->reuse) {
			/* share the leading whole blocks of an earlier request */
			long j = (long)(gen_next(&x) % (uint64_t)i);
			size_t full = (size_t)(in / block);

			/* whole blocks of both: an id names one full block of tokens */
			shared = n_full[j] < full ? n_full[j] : full;
			memcpy(ids[i], ids[j], shared * sizeof(**ids));
		}
		for (k = shared; k < nb; k++)
			ids[i][k] = next_id++;
		n_full[i] = (size_t)(in / block);
		strbuf_addf(out,
			    "{\"timestamp\": %.0f, \"input_length\": %ld, \"output_length\": %ld, "
			    "\"hash_ids\": [",
			    floor(t), in, outl);
		for (k = 0; k < nb; k++)
			strbuf_addf(out, "%s%llu", k ? ", " : "", (unsigned long long)ids[i][k]);
		if (strbuf_adds(out, "]}\n")) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto done;
		}
	}
done:
	if (ids)
		for (i = 0; i < cfg->requests; i++)
			lb_free(ids[i]);
	lb_free(ids);
	lb_free(n_full);
	return rc;
}
