/* xsort.c: exact statistics of columns larger than memory (see xsort.h). */
#include "xsort.h"

#include "../base/alloc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIGN (1ull << 63)
#define XSORT_DEFAULT_BUDGET (1u << 19) /* values: 4 MiB of keys */
#define RUN_BUF 2048                    /* keys read at a time from one run */

static inline uint64_t key_of(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return (u & SIGN) ? ~u : (u | SIGN);
}

static inline double val_of(uint64_t k)
{
	uint64_t u = (k & SIGN) ? (k & ~SIGN) : ~k;
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* LSD radix sort, 8 bits a pass, passes where every key has the same byte skipped. */
static void radix_sort(uint64_t *a, size_t n)
{
	size_t(*cnt)[256], i;
	uint64_t *tmp, *src = a, *dst;
	int p;

	if (n < 2)
		return;
	if (n < 256) {
		qsort(a, n, sizeof(*a), cmp_u64);
		return;
	}
	tmp = lb_malloc(n * sizeof(*tmp));
	cnt = lb_calloc(8, sizeof(*cnt));
	if (!tmp || !cnt) { /* in place, slower */
		lb_free(tmp);
		lb_free(cnt);
		qsort(a, n, sizeof(*a), cmp_u64);
		return;
	}
	dst = tmp;
	for (i = 0; i < n; i++)
		for (p = 0; p < 8; p++)
			cnt[p][(a[i] >> (8 * p)) & 0xff]++;
	for (p = 0; p < 8; p++) {
		size_t sum = 0, c;
		uint64_t *t;
		int b;

		if (cnt[p][(src[0] >> (8 * p)) & 0xff] == n)
			continue;
		for (b = 0; b < 256; b++) {
			c = cnt[p][b];
			cnt[p][b] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[cnt[p][(src[i] >> (8 * p)) & 0xff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
	lb_free(tmp);
	lb_free(cnt);
}

int xsort_doubles(double *v, size_t n)
{
	uint64_t *k = lb_malloc(n ? n * sizeof(*k) : 1);
	size_t i;

	if (!k)
		return -1;
	for (i = 0; i < n; i++)
		k[i] = key_of(v[i]);
	radix_sort(k, n);
	for (i = 0; i < n; i++)
		v[i] = val_of(k[i]);
	lb_free(k);
	return 0;
}

void xsort_init(struct xsort *x, size_t budget)
{
	memset(x, 0, sizeof(*x));
	x->fd = -1;
	x->budget = budget ? budget : XSORT_DEFAULT_BUDGET;
}

void xsort_free(struct xsort *x)
{
	if (x->fd >= 0)
		close(x->fd);
	lb_free(x->cols);
	x->cols = NULL;
	x->fd = -1;
}

static int io_fail(struct xsort *x, int e)
{
	if (!x->err_no)
		x->err_no = e ? e : EIO;
	return -1;
}

static int open_tmp(struct xsort *x)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];

	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/llmbench-merge-XXXXXX", dir);
	x->fd = mkstemp(path);
	if (x->fd < 0)
		return io_fail(x, errno);
	unlink(path);
	return 0;
}

static int write_at(struct xsort *x, const void *p, size_t len, uint64_t off)
{
	const char *b = p;

	while (len) {
		ssize_t w = pwrite(x->fd, b, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return io_fail(x, w < 0 ? errno : ENOSPC);
		b += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int read_at(struct xsort *x, void *p, size_t len, uint64_t off)
{
	char *b = p;

	while (len) {
		ssize_t r = pread(x->fd, b, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return io_fail(x, r < 0 ? errno : EIO);
		b += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Write c's held values as one run and free them. */
static int spill(struct xsort *x, struct xcol *c)
{
	struct xrun *r;

	if (!c->n)
		return 0;
	if (x->fd < 0 && open_tmp(x))
		return -1;
	if (c->n_runs == c->runs_alloc) {
		size_t na = c->runs_alloc ? c->runs_alloc * 2 : 8;

		r = lb_realloc(c->runs, na * sizeof(*r));
		if (!r) {
			x->oom = true;
			return -1;
		}
		c->runs = r;
		c->runs_alloc = na;
	}
	if (!c->ordered)
		radix_sort(c->k, c->n);
	if (write_at(x, c->k, c->n * sizeof(*c->k), x->end))
		return -1;
	c->runs[c->n_runs++] = (struct xrun){ x->end, c->n };
	x->end += c->n * sizeof(*c->k);
	x->spilled += c->n;
	x->held -= c->n;
	lb_free(c->k);
	c->k = NULL;
	c->n = c->alloc = 0;
	return 0;
}

static int track(struct xsort *x, struct xcol *c)
{
	if (x->n_cols == x->cols_alloc) {
		size_t na = x->cols_alloc ? x->cols_alloc * 2 : 16;
		struct xcol **nc = lb_realloc(x->cols, na * sizeof(*nc));

		if (!nc) {
			x->oom = true;
			return -1;
		}
		x->cols = nc;
		x->cols_alloc = na;
	}
	x->cols[x->n_cols++] = c;
	c->tracked = true;
	return 0;
}

int xcol_push(struct xsort *x, struct xcol *c, double v)
{
	if (isnan(v))
		return 0;
	if (!c->tracked && track(x, c))
		return -1;
	if (c->n == c->alloc) {
		size_t na = c->alloc ? c->alloc * 2 : 256;
		uint64_t *nk;

		if (na > x->budget)
			na = x->budget > c->n ? x->budget : c->n + 1;
		nk = lb_realloc(c->k, na * sizeof(*nk));
		if (!nk) {
			x->oom = true;
			return -1;
		}
		c->k = nk;
		c->alloc = na;
	}
	c->k[c->n++] = key_of(v);
	c->total++;
	if (++x->held > x->budget) {
		struct xcol *big = c;
		size_t i;

		for (i = 0; i < x->n_cols; i++)
			if (x->cols[i]->n > big->n)
				big = x->cols[i];
		return spill(x, big);
	}
	return 0;
}

void xcol_release(struct xsort *x, struct xcol *c)
{
	size_t i;

	x->held -= c->n;
	for (i = 0; i < x->n_cols; i++)
		if (x->cols[i] == c) {
			x->cols[i] = x->cols[--x->n_cols];
			break;
		}
	lb_free(c->k);
	lb_free(c->runs);
	memset(c, 0, sizeof(*c));
}

/* ---- the statistics of a sorted stream, as stats_compute computes them ---- */

static const double pct[5] = { 50, 90, 95, 99, 99.9 };

struct sacc {
	size_t n, i, lo[5];
	double frac[5], lo_v[5], hi_v[5], m, m2, min, last;
};

static void sacc_init(struct sacc *a, size_t n)
{
	int k;

	memset(a, 0, sizeof(*a));
	a->n = n;
	for (k = 0; k < 5 && n; k++) {
		double rank = pct[k] / 100.0 * (double)(n - 1);

		a->lo[k] = (size_t)rank;
		a->frac[k] = rank - (double)a->lo[k];
	}
}

static inline void sacc_add(struct sacc *a, double v)
{
	double d = v - a->m;
	int k;

	if (!a->i)
		a->min = v;
	a->m += d / (double)(a->i + 1);
	a->m2 += d * (v - a->m);
	for (k = 0; k < 5; k++) {
		if (a->i == a->lo[k])
			a->lo_v[k] = v;
		else if (a->i == a->lo[k] + 1)
			a->hi_v[k] = v;
	}
	a->last = v;
	a->i++;
}

static void sacc_end(const struct sacc *a, struct lb_stats *out)
{
	double *res[5] = { &out->p50, &out->p90, &out->p95, &out->p99, &out->p999 };
	int k;

	out->n = a->n;
	if (!a->n) {
		out->mean = out->sd = out->min = out->p50 = out->p90 = out->p95 = out->p99 =
			out->p999 = out->max = NAN;
		return;
	}
	out->mean = a->m;
	out->sd = a->n > 1 ? sqrt(a->m2 / (double)(a->n - 1)) : NAN;
	out->min = a->min;
	out->max = a->last;
	for (k = 0; k < 5; k++)
		*res[k] = a->lo[k] + 1 >= a->n
				  ? a->last
				  : a->lo_v[k] + a->frac[k] * (a->hi_v[k] - a->lo_v[k]);
}

/* one run being read: its next keys */
struct stream {
	uint64_t *buf, off;
	size_t pos, len, left; /* left: keys not yet read from the file */
};

static int stream_fill(struct xsort *x, struct stream *s)
{
	size_t n = s->left < RUN_BUF ? s->left : RUN_BUF;

	if (read_at(x, s->buf, n * sizeof(*s->buf), s->off))
		return -1;
	s->off += n * sizeof(*s->buf);
	s->left -= n;
	s->pos = 0;
	s->len = n;
	return 0;
}

static inline uint64_t head(const struct stream *s)
{
	return s->buf[s->pos];
}

static void sift_down(struct stream **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct stream *t;

		if (l < n && head(h[l]) < head(h[m]))
			m = l;
		if (l + 1 < n && head(h[l + 1]) < head(h[m]))
			m = l + 1;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

int xcol_stats(struct xsort *x, struct xcol *c, struct lb_stats *out)
{
	struct stream *st = NULL, **h = NULL;
	struct sacc a;
	size_t i, ns = 0, total = c->n;
	int rc = -1;

	for (i = 0; i < c->n_runs; i++)
		total += c->runs[i].n;
	sacc_init(&a, total);
	radix_sort(c->k, c->n);
	if (!c->n_runs) {
		for (i = 0; i < c->n; i++)
			sacc_add(&a, val_of(c->k[i]));
		sacc_end(&a, out);
		return 0;
	}
	st = lb_calloc(c->n_runs + 1, sizeof(*st));
	h = lb_calloc(c->n_runs + 1, sizeof(*h));
	if (!st || !h)
		goto oom;
	for (i = 0; i < c->n_runs; i++) {
		st[i].buf = lb_malloc(RUN_BUF * sizeof(*st[i].buf));
		if (!st[i].buf)
			goto oom;
		st[i].off = c->runs[i].off;
		st[i].left = c->runs[i].n;
		if (stream_fill(x, &st[i]))
			goto out;
		h[ns++] = &st[i];
	}
	if (c->n) { /* the held values: one more stream, already in memory */
		st[i].buf = c->k;
		st[i].len = c->n;
		h[ns++] = &st[i];
	}
	for (i = ns; i-- > 0;)
		sift_down(h, ns, i);
	while (ns) {
		struct stream *s = h[0];

		sacc_add(&a, val_of(head(s)));
		if (++s->pos == s->len) {
			if (s->left) {
				if (stream_fill(x, s))
					goto out;
			} else {
				h[0] = h[--ns];
			}
		}
		if (ns)
			sift_down(h, ns, 0);
	}
	if (a.i != total) {
		io_fail(x, EIO);
		goto out;
	}
	sacc_end(&a, out);
	rc = 0;
	goto out;
oom:
	x->oom = true;
out:
	for (i = 0; st && i < c->n_runs; i++)
		lb_free(st[i].buf);
	lb_free(st);
	lb_free(h);
	return rc;
}

int xcol_replay(struct xsort *x, struct xcol *c, void (*fn)(void *ctx, double v), void *ctx)
{
	uint64_t *buf = NULL;
	size_t i, j;

	if (c->n_runs) {
		buf = lb_malloc(RUN_BUF * sizeof(*buf));
		if (!buf) {
			x->oom = true;
			return -1;
		}
	}
	for (i = 0; i < c->n_runs; i++) {
		uint64_t off = c->runs[i].off;
		size_t left = c->runs[i].n;

		while (left) {
			size_t n = left < RUN_BUF ? left : RUN_BUF;

			if (read_at(x, buf, n * sizeof(*buf), off)) {
				lb_free(buf);
				return -1;
			}
			for (j = 0; j < n; j++)
				fn(ctx, val_of(buf[j]));
			off += n * sizeof(*buf);
			left -= n;
		}
	}
	lb_free(buf);
	for (i = 0; i < c->n; i++)
		fn(ctx, val_of(c->k[i]));
	return 0;
}

int xcol_replay_rev(struct xsort *x, struct xcol *c, void (*fn)(void *ctx, double v), void *ctx)
{
	uint64_t *buf = NULL;
	size_t i, j;

	for (i = c->n; i-- > 0;)
		fn(ctx, val_of(c->k[i]));
	if (c->n_runs) {
		buf = lb_malloc(RUN_BUF * sizeof(*buf));
		if (!buf) {
			x->oom = true;
			return -1;
		}
	}
	for (i = c->n_runs; i-- > 0;) {
		size_t left = c->runs[i].n;

		while (left) {
			size_t n = left < RUN_BUF ? left : RUN_BUF;

			left -= n;
			if (read_at(x, buf, n * sizeof(*buf),
				    c->runs[i].off + left * sizeof(*buf))) {
				lb_free(buf);
				return -1;
			}
			for (j = n; j-- > 0;)
				fn(ctx, val_of(buf[j]));
		}
	}
	lb_free(buf);
	return 0;
}
