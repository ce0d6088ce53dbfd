/* plot.c: the report's plots (see plot.h). gnuplot runs as a child process, one per plot and
 * format; scripts and data stay under the plots folder so users can restyle and re-run them. */
#include "plot.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#define PLOT_MAX_TTFT (1u << 22)  /* TTFT samples kept over all backends */
#define PLOT_CDF_POINTS 400	  /* points per CDF curve */
#define GAP_BINS_PER_DEC 20
#define GAP_DECADES 8		  /* 0.01 ms .. 1e6 ms */
#define GAP_BINS (GAP_BINS_PER_DEC * GAP_DECADES)
#define GAP_MIN_MS 0.01
#define POS_MAX 4096		  /* output positions tracked for ITL by position */
#define PLOT_MAX_POWER (1u << 20) /* power samples kept */

struct bseries {
	size_t run;
	int64_t backend_id;
	char label[160];
	const struct report_row *row; /* any row of this backend (family, quant) */
	double *ttft;
	size_t n_ttft, alloc_ttft;
	uint64_t gaps[GAP_BINS];
	uint64_t n_gaps, gaps_out_of_range;
	double *pos_sum; /* POS_MAX */
	uint32_t *pos_n;
};

struct pseries {
	char name[96];
	size_t run;
	int64_t *t_ns;
	double *w;
	size_t n, alloc;
};

struct level_mark {
	size_t run;
	int64_t level_id;
	int64_t t0_ns;
};

struct plot_set {
	const struct report_data *d;
	struct bseries *b;
	size_t n_b;
	size_t n_ttft_total;
	uint64_t dropped;
	bool pos_by_chunk, pos_by_token;
	struct pseries *ps;
	size_t n_ps;
	struct level_mark *marks;
	size_t n_marks, alloc_marks;
	struct report_plot plots[16];
	size_t n_plots;
	struct strbuf text; /* titles, captions and skip reasons of the plots */
	char *texts[48];
	int n_texts;
	const char *gnuplot;
	const char *dir;
	bool png, svg;
};

static bool multi_run(const struct report_data *d)
{
	return d->n_runs > 1;
}

int plot_set_new(struct plot_set **out, const struct report_data *d, struct lb_error *err)
{
	struct plot_set *p = lb_calloc(1, sizeof(*p));
	size_t i, k;

	*out = NULL;
	if (!p)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	p->d = d;
	p->b = lb_calloc(d->n_rows + 1, sizeof(*p->b));
	if (!p->b)
		goto oom;
	for (i = 0; i < d->n_rows; i++) {
		const struct report_row *r = &d->rows[i];
		struct bseries *s = NULL;

		if (r->scope == REPORT_SCOPE_RUN)
			continue;
		for (k = 0; k < p->n_b; k++)
			if (p->b[k].run == r->run && p->b[k].backend_id == r->backend_id)
				s = &p->b[k];
		if (s)
			continue;
		s = &p->b[p->n_b++];
		s->run = r->run;
		s->backend_id = r->backend_id;
		s->row = r;
		if (multi_run(d))
			snprintf(s->label, sizeof(s->label), "%s/%s", d->runs[r->run].name,
				 r->backend ? r->backend : "?");
		else
			snprintf(s->label, sizeof(s->label), "%s", r->backend ? r->backend : "?");
	}
	strbuf_init(&p->text, 0);
	*out = p;
	return 0;
oom:
	plot_set_free(p);
	return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
}

void plot_set_free(struct plot_set *p)
{
	size_t i;
	int k;

	if (!p)
		return;
	for (i = 0; i < p->n_b; i++) {
		lb_free(p->b[i].ttft);
		lb_free(p->b[i].pos_sum);
		lb_free(p->b[i].pos_n);
	}
	lb_free(p->b);
	for (i = 0; i < p->n_ps; i++) {
		lb_free(p->ps[i].t_ns);
		lb_free(p->ps[i].w);
	}
	lb_free(p->ps);
	lb_free(p->marks);
	for (k = 0; k < p->n_texts; k++)
		lb_free(p->texts[k]);
	strbuf_release(&p->text);
	lb_free(p);
}

static struct bseries *series_of(struct plot_set *p, size_t run, int64_t backend_id)
{
	static size_t last;
	size_t i;

	if (last < p->n_b && p->b[last].run == run && p->b[last].backend_id == backend_id)
		return &p->b[last];
	for (i = 0; i < p->n_b; i++) {
		if (p->b[i].run == run && p->b[i].backend_id == backend_id) {
			last = i;
			return &p->b[i];
		}
	}
	return NULL;
}

void plot_set_add_request(struct plot_set *p, size_t run, const struct report_request *rq)
{
	struct bseries *s;
	uint64_t tok = 0;
	long k;

	if (rq->warmup || !rq->ok)
		return;
	s = series_of(p, run, rq->backend_id);
	if (!s)
		return;
	if (!isnan(rq->ttft_ms)) {
		if (p->n_ttft_total >= PLOT_MAX_TTFT) {
			p->dropped++;
		} else {
			if (s->n_ttft == s->alloc_ttft) {
				size_t na = s->alloc_ttft ? s->alloc_ttft * 2 : 1024;
				double *nv = lb_realloc(s->ttft, na * sizeof(*nv));

				if (!nv) {
					p->dropped++;
					goto gaps;
				}
				s->ttft = nv;
				s->alloc_ttft = na;
			}
			s->ttft[s->n_ttft++] = rq->ttft_ms;
			p->n_ttft_total++;
		}
	}
gaps:
	if (rq->n_chunks < 2)
		return;
	if (!s->pos_sum) {
		s->pos_sum = lb_calloc(POS_MAX, sizeof(*s->pos_sum));
		s->pos_n = lb_calloc(POS_MAX, sizeof(*s->pos_n));
		if (!s->pos_sum || !s->pos_n) {
			lb_free(s->pos_sum);
			lb_free(s->pos_n);
			s->pos_sum = NULL;
			s->pos_n = NULL;
		}
	}
	if (rq->chunk_n)
		p->pos_by_token = true;
	else
		p->pos_by_chunk = true;
	for (k = 1; k < rq->n_chunks; k++) {
		double gap = (double)(rq->chunk_off_ns[k] - rq->chunk_off_ns[k - 1]) / 1e6;
		uint64_t pos;
		int bin;

		if (rq->chunk_n)
			tok += rq->chunk_n[k - 1] > 0 ? (uint64_t)rq->chunk_n[k - 1] : 1;
		else
			tok = (uint64_t)k;
		pos = tok;
		s->n_gaps++;
		bin = gap > 0 ? (int)floor(log10(gap / GAP_MIN_MS) * GAP_BINS_PER_DEC) : -1;
		if (bin < 0 || bin >= GAP_BINS)
			s->gaps_out_of_range++;
		else
			s->gaps[bin]++;
		if (s->pos_sum && pos < POS_MAX) {
			s->pos_sum[pos] += gap;
			s->pos_n[pos]++;
		}
	}
}

/* ---- series (power) ---- */

struct series_load {
	struct plot_set *p;
	size_t run;
	bool oom;
};

static bool is_power_series(const char *name)
{
	return strstr(name, "power") || strstr(name, "watt") || !strcmp(name, "w");
}

static int on_series(void *ctx, int64_t backend_id, int64_t level_id, const char *series,
		     int64_t t_ns, double value)
{
	struct series_load *l = ctx;
	struct plot_set *p = l->p;
	struct pseries *s = NULL;
	size_t i;

	(void)backend_id;
	(void)level_id;
	if (!is_power_series(series) || isnan(value))
		return 0;
	for (i = 0; i < p->n_ps; i++)
		if (p->ps[i].run == l->run && !strcmp(p->ps[i].name, series))
			s = &p->ps[i];
	if (!s) {
		struct pseries *np = lb_realloc(p->ps, (p->n_ps + 1) * sizeof(*np));

		if (!np) {
			l->oom = true;
			return 1;
		}
		p->ps = np;
		s = &p->ps[p->n_ps++];
		memset(s, 0, sizeof(*s));
		s->run = l->run;
		snprintf(s->name, sizeof(s->name), "%s", series);
	}
	if (s->n >= PLOT_MAX_POWER)
		return 0;
	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 256;
		int64_t *nt = lb_realloc(s->t_ns, na * sizeof(*nt));
		double *nw;

		if (!nt) {
			l->oom = true;
			return 1;
		}
		s->t_ns = nt;
		nw = lb_realloc(s->w, na * sizeof(*nw));
		if (!nw) {
			l->oom = true;
			return 1;
		}
		s->w = nw;
		s->alloc = na;
	}
	s->t_ns[s->n] = t_ns;
	s->w[s->n++] = value;
	return 0;
}

static int on_level_time(void *ctx, int64_t level_id, int64_t t0, int64_t t1)
{
	struct series_load *l = ctx;
	struct plot_set *p = l->p;
	struct level_mark *m;

	(void)t1;
	if (p->n_marks == p->alloc_marks) {
		size_t na = p->alloc_marks ? p->alloc_marks * 2 : 32;

		m = lb_realloc(p->marks, na * sizeof(*m));
		if (!m) {
			l->oom = true;
			return 1;
		}
		p->marks = m;
		p->alloc_marks = na;
	}
	m = &p->marks[p->n_marks++];
	m->run = l->run;
	m->level_id = level_id;
	m->t0_ns = t0;
	return 0;
}

int plot_set_load_series(struct plot_set *p, struct store *st, size_t run, struct lb_error *err)
{
	struct series_load l = { p, run, false };
	size_t before = p->n_ps;
	int rc;

	rc = report_series_each(st, p->d->runs[run].id, on_series, &l, err);
	if (!rc && !l.oom && p->n_ps > before)
		rc = report_level_times(st, p->d->runs[run].id, on_level_time, &l, err);
	if (!rc && l.oom)
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory reading series");
	return rc;
}

/* ---- gnuplot ---- */

bool plot_gnuplot_available(const char *gnuplot, char *why, size_t len)
{
	const char *prog = gnuplot ? gnuplot : getenv("LLMBENCH_GNUPLOT");
	pid_t pid;
	int st, fd;

	if (!prog || !*prog)
		prog = "gnuplot";
	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "cannot start '%s': %s", prog, strerror(errno));
		return false;
	}
	if (!pid) {
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp(prog, prog, "--version", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(why, len,
			 "cannot run '%s': gnuplot is needed for plots; install the gnuplot-nox package"
			 " (apt-get install gnuplot-nox), or leave png and svg out of --format",
			 prog);
		return false;
	}
	return true;
}

/* Run gnuplot on <dir>/<name>.gp for one format; its messages go to <name>.log. */
static int run_gnuplot(struct plot_set *p, const char *name, const char *fmt, char *why, size_t len)
{
	const char *prog = p->gnuplot ? p->gnuplot : getenv("LLMBENCH_GNUPLOT");
	char expr[64], gp[256], log[256], path[4096];
	pid_t pid;
	int st, fd;

	if (!prog || !*prog)
		prog = "gnuplot";
	snprintf(expr, sizeof(expr), "fmt='%s'", fmt);
	snprintf(gp, sizeof(gp), "%s.gp", name);
	snprintf(log, sizeof(log), "%s.log", name);
	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "cannot start gnuplot: %s", strerror(errno));
		return -1;
	}
	if (!pid) {
		if (chdir(p->dir))
			_exit(126);
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp(prog, prog, "-e", expr, gp, (char *)NULL);
		_exit(127);
	}
	snprintf(path, sizeof(path), "%s/%s", p->dir, log);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		struct strbuf sb = STRBUF_INIT;
		struct lb_error e = LB_ERROR_INIT;
		char *nl;

		strbuf_read_file(&sb, path, 4096, &e);
		nl = strrchr(sb.buf, '\n');
		while (nl && nl > sb.buf && !nl[1]) {
			*nl = 0;
			nl = strrchr(sb.buf, '\n');
		}
		snprintf(why, len, "gnuplot failed on %s/%s (%s): %s", p->dir, gp, fmt,
			 nl ? nl + 1 : sb.buf);
		strbuf_release(&sb);
		return -1;
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s.%s", p->dir, name, fmt);
	if (access(path, R_OK)) {
		snprintf(why, len, "gnuplot wrote no %.900s", path);
		return -1;
	}
	return 0;
}

/* A gnuplot string literal (double quotes, backslash escapes). */
static void gq(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_addch(sb, '\\');
		if (*s == '\n' || *s == '\t')
			strbuf_addch(sb, ' ');
		else
			strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '"');
}

/* A data-file field: tabs and newlines would break the columns. */
static void dq(struct strbuf *sb, const char *s)
{
	for (; *s; s++)
		strbuf_addch(sb, *s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

static void gp_header(struct strbuf *gp, const char *name, const char *title, int w, int h)
{
	strbuf_addf(gp, "# %s: drawn by `llmbench report` from %s.dat (tab-separated, '?' = missing).\n"
			"# Re-draw: gnuplot -e \"fmt='svg'\" %s.gp   (fmt: png or svg)\n",
		    title, name, name);
	strbuf_adds(gp, "if (!exists(\"fmt\")) fmt = \"png\"\n"
			"if (fmt eq \"svg\") {\n");
	strbuf_addf(gp, "\tset terminal svg size %d,%d dynamic noenhanced font \"Sans,13\" "
			"background \"white\"\n} else {\n"
			"\tif (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
			"\t\tset terminal pngcairo size %d,%d noenhanced font \"Sans,12\" "
			"background \"white\"\n\t} else {\n"
			"\t\tset terminal png size %d,%d noenhanced font \"Sans\" 11\n\t}\n}\n",
		    w, h, w, h, w, h);
	strbuf_addf(gp, "set output \"%s.\" . fmt\n", name);
	strbuf_adds(gp, "set encoding utf8\nset datafile separator \"\\t\"\n"
			"set datafile missing \"?\"\nset grid lc rgb \"#dddddd\"\n"
			"set border lc rgb \"#444444\"\n"
			"set key outside right top vertical Left reverse noopaque box lc rgb \"#bbbbbb\"\n"
			"set key samplen 2 spacing 1.2 width 2\n");
	strbuf_adds(gp, "set title ");
	gq(gp, title);
	strbuf_adds(gp, " font \",15\"\n");
}

static int write_file(const char *dir, const char *name, const char *ext, const struct strbuf *sb,
		      struct lb_error *err)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
	f = fopen(path, "w");
	if (!f)
		return lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
	if (fwrite(sb->buf, 1, sb->len, f) != sb->len || fclose(f)) {
		int e = errno;

		return lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", path, strerror(e));
	}
	return 0;
}

static const char *keep(struct plot_set *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *keep(struct plot_set *p, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (p->n_texts == (int)(sizeof(p->texts) / sizeof(p->texts[0]))) {
		strbuf_release(&sb);
		return "";
	}
	p->texts[p->n_texts] = strbuf_detach(&sb, NULL);
	return p->texts[p->n_texts++];
}

static struct report_plot *new_plot(struct plot_set *p, const char *name, const char *title)
{
	struct report_plot *pl = &p->plots[p->n_plots++];

	memset(pl, 0, sizeof(*pl));
	pl->name = name;
	pl->title = title;
	pl->caption = "";
	return pl;
}

/* Write data and script, then draw. A failure of gnuplot skips the plot with the reason. */
static int finish_plot(struct plot_set *p, struct report_plot *pl, const struct strbuf *dat,
		       const struct strbuf *gp, struct lb_error *err)
{
	char why[1024];
	int rc;

	rc = write_file(p->dir, pl->name, "dat", dat, err);
	if (!rc)
		rc = write_file(p->dir, pl->name, "gp", gp, err);
	if (rc)
		return rc;
	if (p->svg && run_gnuplot(p, pl->name, "svg", why, sizeof(why))) {
		pl->skipped = keep(p, "%s", why);
		return 0;
	}
	pl->svg = p->svg;
	if (p->png && run_gnuplot(p, pl->name, "png", why, sizeof(why))) {
		pl->skipped = keep(p, "%s", why);
		return 0;
	}
	pl->png = p->png;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Pick gnuplot colours so that a backend keeps its colour across plots. */
static const char *colour(size_t i)
{
	static const char *const c[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
					 "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22" };

	return c[i % (sizeof(c) / sizeof(c[0]))];
}

/* ---- the plots ---- */

static int plot_ttft_cdf(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = new_plot(p, "ttft_cdf", "TTFT distribution (CDF) per backend");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	size_t i, k, blocks = 0, total = 0;
	int rc = 0;

	for (i = 0; i < p->n_b; i++) {
		struct bseries *s = &p->b[i];
		size_t pts;

		if (!s->n_ttft)
			continue;
		qsort(s->ttft, s->n_ttft, sizeof(*s->ttft), cmp_double);
		strbuf_adds(&dat, "# ");
		dq(&dat, s->label);
		strbuf_adds(&dat, "\n# ttft_ms\tfraction\n");
		pts = s->n_ttft < PLOT_CDF_POINTS ? s->n_ttft : PLOT_CDF_POINTS;
		strbuf_addf(&dat, "%.4f\t0\n", s->ttft[0]);
		for (k = 0; k < pts; k++) {
			size_t j = pts == s->n_ttft ? k : (size_t)((double)k * (s->n_ttft - 1) / (pts - 1));

			strbuf_addf(&dat, "%.4f\t%.5f\n", s->ttft[j], (double)(j + 1) / s->n_ttft);
		}
		strbuf_adds(&dat, "\n\n");
		blocks++;
		total += s->n_ttft;
	}
	if (!blocks) {
		pl->skipped = "no measured request has a TTFT (no successful streamed request)";
		goto out;
	}
	pl->caption = keep(p,
			   "Share of successful measured requests whose time to first token is at most x "
			   "(%zu requests, every load level pooled; per-request ttft_ms, warm-up and failed "
			   "requests excluded; "
			   "at most %d points per curve).",
			   total, PLOT_CDF_POINTS);
	gp_header(&gp, pl->name, pl->title, 960, 540);
	strbuf_adds(&gp, "set xlabel \"TTFT (ms)\"\nset ylabel \"fraction of requests\"\n"
			 "set yrange [0:1.02]\nset ytics 0.1\nset xrange [0:*]\nplot ");
	for (i = 0, k = 0; i < p->n_b; i++) {
		if (!p->b[i].n_ttft)
			continue;
		strbuf_addf(&gp, "%s\"%s.dat\" index %zu using 1:2 with steps lw 2 lc rgb \"%s\" title ",
			    k ? ", \\\n     " : "", pl->name, k, colour(i));
		gq(&gp, p->b[i].label);
		k++;
	}
	strbuf_addch(&gp, '\n');
	rc = finish_plot(p, pl, &dat, &gp, err);
out:
	strbuf_release(&dat);
	strbuf_release(&gp);
	return rc;
}

static int plot_chunk_gaps(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = new_plot(p, "chunk_gaps", "Chunk-gap (ITL) distribution");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	size_t i, k, blocks = 0;
	uint64_t total = 0;
	int b, rc = 0;

	for (i = 0; i < p->n_b; i++) {
		struct bseries *s = &p->b[i];
		uint64_t in = s->n_gaps - s->gaps_out_of_range;

		if (!in)
			continue;
		strbuf_adds(&dat, "# ");
		dq(&dat, s->label);
		strbuf_adds(&dat, "\n# gap_ms_lo\tgap_ms_hi\tfraction\n");
		for (b = 0; b < GAP_BINS; b++) {
			double lo = GAP_MIN_MS * pow(10, (double)b / GAP_BINS_PER_DEC);
			double hi = GAP_MIN_MS * pow(10, (double)(b + 1) / GAP_BINS_PER_DEC);

			if (!s->gaps[b] && (b == 0 || !s->gaps[b - 1]) && (b + 1 == GAP_BINS || !s->gaps[b + 1]))
				continue;
			strbuf_addf(&dat, "%.6g\t%.6g\t%.6f\n", lo, hi, (double)s->gaps[b] / in);
		}
		strbuf_adds(&dat, "\n\n");
		blocks++;
		total += s->n_gaps;
	}
	if (!blocks) {
		pl->skipped = "no measured request has two or more stream chunks";
		goto out;
	}
	pl->caption = keep(p,
			   "Gaps between consecutive stream chunks (t_k - t_{k-1}, one sample per chunk, "
			   "%llu gaps from the stored chunk times), in log-spaced bins of %d per decade; "
			   "y is the share of gaps in each bin.",
			   (unsigned long long)total, GAP_BINS_PER_DEC);
	gp_header(&gp, pl->name, pl->title, 960, 540);
	strbuf_adds(&gp, "set logscale x\nset xlabel \"gap between chunks (ms, log scale)\"\n"
			 "set ylabel \"fraction of gaps per bin\"\nset yrange [0:*]\nplot ");
	for (i = 0, k = 0; i < p->n_b; i++) {
		if (p->b[i].n_gaps == p->b[i].gaps_out_of_range)
			continue;
		strbuf_addf(&gp, "%s\"%s.dat\" index %zu using (sqrt($1*$2)):3 with linespoints lw 2 pt 7 "
				 "ps 0.5 lc rgb \"%s\" title ",
			    k ? ", \\\n     " : "", pl->name, k, colour(i));
		gq(&gp, p->b[i].label);
		k++;
	}
	strbuf_addch(&gp, '\n');
	rc = finish_plot(p, pl, &dat, &gp, err);
out:
	strbuf_release(&dat);
	strbuf_release(&gp);
	return rc;
}

static int plot_itl_position(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = new_plot(p, "itl_position", "ITL by output position");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	size_t i, k, blocks = 0;
	int rc = 0;

	for (i = 0; i < p->n_b; i++) {
		struct bseries *s = &p->b[i];
		uint32_t maxn = 0, minn;
		size_t pos, pts = 0;

		if (!s->pos_n)
			continue;
		for (pos = 0; pos < POS_MAX; pos++)
			if (s->pos_n[pos] > maxn)
				maxn = s->pos_n[pos];
		/* positions reached by few requests are noise: keep those with >= 5% of the most */
		minn = maxn / 20 > 1 ? maxn / 20 : 1;
		strbuf_adds(&dat, "# ");
		dq(&dat, s->label);
		strbuf_adds(&dat, "\n# position\tmean_gap_ms\trequests\n");
		for (pos = 0; pos < POS_MAX; pos++) {
			if (s->pos_n[pos] < minn)
				continue;
			strbuf_addf(&dat, "%zu\t%.4f\t%u\n", pos, s->pos_sum[pos] / s->pos_n[pos],
				    s->pos_n[pos]);
			pts++;
		}
		strbuf_adds(&dat, "\n\n");
		if (pts)
			blocks++;
		else
			s->pos_n[0] = 0;
	}
	if (!blocks) {
		pl->skipped = "no measured request has two or more stream chunks";
		goto out;
	}
	pl->caption = keep(p,
			   "Mean gap before the chunk that starts at each output position, over "
			   "successful measured requests (positions reached by fewer than 5%% of the "
			   "requests are left out). Position: %s.",
			   p->pos_by_chunk ? (p->pos_by_token ? "token index where chunk token counts "
								"are stored, else chunk index"
							      : "chunk index (token counts per chunk not "
								"stored)")
					   : "output token index (from per-chunk token counts)");
	gp_header(&gp, pl->name, pl->title, 960, 540);
	strbuf_addf(&gp, "set xlabel \"%s\"\nset ylabel \"mean gap (ms)\"\nset yrange [0:*]\nplot ",
		    p->pos_by_chunk && !p->pos_by_token ? "chunk index" : "output token position");
	for (i = 0, k = 0; i < p->n_b; i++) {
		if (!p->b[i].pos_n)
			continue;
		strbuf_addf(&gp, "%s\"%s.dat\" index %zu using 1:2 with lines lw 2 lc rgb \"%s\" title ",
			    k ? ", \\\n     " : "", pl->name, k, colour(i));
		gq(&gp, p->b[i].label);
		k++;
	}
	strbuf_addch(&gp, '\n');
	rc = finish_plot(p, pl, &dat, &gp, err);
out:
	strbuf_release(&dat);
	strbuf_release(&gp);
	return rc;
}

/* Value and rep-sd of a metric (false when absent or unavailable). */
static bool val(const struct report_row *r, const char *name, double *v, double *sd)
{
	const struct report_metric *m = report_row_metric(r, name);

	if (!m || !m->n_reps)
		return false;
	*v = m->value;
	if (sd)
		*sd = isnan(m->sd) ? 0 : m->sd;
	return true;
}

/* Level rows of backend series s, in index order (rows are stored that way). */
static size_t level_rows(const struct plot_set *p, const struct bseries *s,
			 const struct report_row **out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < p->d->n_rows && n < max; i++) {
		const struct report_row *r = &p->d->rows[i];

		if (r->scope == REPORT_SCOPE_LEVEL && r->run == s->run && r->backend_id == s->backend_id)
			out[n++] = r;
	}
	return n;
}

static const char *level_axis(const struct plot_set *p)
{
	size_t i;
	const char *mode = NULL;

	for (i = 0; i < p->d->n_rows; i++) {
		const struct report_row *r = &p->d->rows[i];

		if (r->scope != REPORT_SCOPE_LEVEL || !r->mode)
			continue;
		if (mode && strcmp(mode, r->mode))
			return "load level (concurrency or request rate)";
		mode = r->mode;
	}
	if (mode && !strcmp(mode, "concurrency"))
		return "concurrency (requests in flight)";
	if (mode && !strcmp(mode, "rate"))
		return "offered request rate (req/s)";
	return "load level";
}

#define MAX_LEVELS 512

static int plot_throughput_load(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = new_plot(p, "throughput_load", "Throughput vs load");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	const struct report_row *rows[MAX_LEVELS];
	size_t i, k, n, blocks = 0, most = 0;
	size_t idx[64];
	int rc = 0;

	for (i = 0; i < p->n_b && blocks < 64; i++) {
		size_t pts = 0;

		n = level_rows(p, &p->b[i], rows, MAX_LEVELS);
		strbuf_adds(&dat, "# ");
		dq(&dat, p->b[i].label);
		strbuf_adds(&dat, "\n# level\toutput_tok_s\tsd\trequests_s\tsd\n");
		for (k = 0; k < n; k++) {
			double v, sd, rv = NAN, rsd = 0;

			if (isnan(rows[k]->value) || !val(rows[k], "output_token_throughput", &v, &sd))
				continue;
			val(rows[k], "request_throughput", &rv, &rsd);
			strbuf_addf(&dat, "%g\t%.4f\t%.4f\t", rows[k]->value, v, sd);
			if (isnan(rv))
				strbuf_adds(&dat, "?\t?\n");
			else
				strbuf_addf(&dat, "%.5f\t%.5f\n", rv, rsd);
			pts++;
		}
		strbuf_adds(&dat, "\n\n");
		if (pts > most)
			most = pts;
		if (pts)
			idx[blocks++] = i;
		else
			idx[blocks++] = (size_t)-1;
	}
	if (most < 2) {
		pl->skipped = "fewer than two load levels with an output token throughput for any backend";
		goto out;
	}
	pl->caption = keep(p, "Output token throughput (output_token_throughput, tok/s) per load level; "
			      "error bars: sd over repetitions where levels were repeated.");
	gp_header(&gp, pl->name, pl->title, 960, 540);
	strbuf_addf(&gp, "set xlabel \"%s\"\nset ylabel \"output tokens/s\"\nset yrange [0:*]\n"
			 "set xrange [0:*]\nset offsets graph 0.03, graph 0.03, graph 0.05, 0\nplot ",
		    level_axis(p));
	for (i = 0, k = 0; i < blocks; i++) {
		if (idx[i] == (size_t)-1)
			continue;
		strbuf_addf(&gp, "%s\"%s.dat\" index %zu using 1:2:3 with yerrorlines lw 2 pt 7 "
				 "lc rgb \"%s\" title ",
			    k ? ", \\\n     " : "", pl->name, i, colour(idx[i]));
		gq(&gp, p->b[idx[i]].label);
		k++;
	}
	strbuf_addch(&gp, '\n');
	rc = finish_plot(p, pl, &dat, &gp, err);
out:
	strbuf_release(&dat);
	strbuf_release(&gp);
	return rc;
}

int plot_knee(const double *x, const double *y, int n)
{
	double x0, x1, y0, y1, best = 0;
	int i, knee = -1;

	if (n < 3)
		return -1;
	x0 = x1 = x[0];
	y0 = y1 = y[0];
	for (i = 1; i < n; i++) {
		x0 = fmin(x0, x[i]);
		x1 = fmax(x1, x[i]);
		y0 = fmin(y0, y[i]);
		y1 = fmax(y1, y[i]);
	}
	if (x1 <= x0 || y1 <= y0)
		return -1;
	for (i = 1; i < n - 1; i++) {
		double dx = (x[i] - x0) / (x1 - x0), dy = (y[i] - y0) / (y1 - y0);

		if (dx - dy > best + 1e-12) {
			best = dx - dy;
			knee = i;
		}
	}
	return knee;
}

static int plot_latency_throughput(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = new_plot(p, "latency_throughput", "Latency vs throughput");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT, knees = STRBUF_INIT;
	const struct report_row *rows[MAX_LEVELS];
	double x[MAX_LEVELS], y50[MAX_LEVELS], y99[MAX_LEVELS];
	size_t i, k, n, blocks = 0, most = 0, idx[64];
	int n_knees = 0, rc = 0;
	const char *lat = "e2e";

	for (i = 0; i < p->d->n_metrics; i++)
		if (!strcmp(p->d->metrics[i], "e2e_p99_ms"))
			break;
	if (i == p->d->n_metrics)
		lat = "ttft";
	for (i = 0; i < p->n_b && blocks < 64; i++) {
		char m50[32], m99[32];
		int pts = 0, kn;

		snprintf(m50, sizeof(m50), "%s_p50_ms", lat);
		snprintf(m99, sizeof(m99), "%s_p99_ms", lat);
		n = level_rows(p, &p->b[i], rows, MAX_LEVELS);
		strbuf_adds(&dat, "# ");
		dq(&dat, p->b[i].label);
		strbuf_adds(&dat, "\n# output_tok_s\tp50_ms\tp99_ms\tlevel\n");
		for (k = 0; k < n; k++) {
			if (!val(rows[k], "output_token_throughput", &x[pts], NULL) ||
			    !val(rows[k], m50, &y50[pts], NULL) || !val(rows[k], m99, &y99[pts], NULL))
				continue;
			strbuf_addf(&dat, "%.4f\t%.4f\t%.4f\t%g\n", x[pts], y50[pts], y99[pts],
				    rows[k]->value);
			pts++;
		}
		strbuf_adds(&dat, "\n\n");
		kn = plot_knee(x, y99, pts);
		if (kn >= 0) {
			strbuf_adds(&knees, "# ");
			dq(&knees, p->b[i].label);
			strbuf_addf(&knees, "\n%.4f\t%.4f\n", x[kn], y99[kn]);
			n_knees++;
		}
		if ((size_t)pts > most)
			most = (size_t)pts;
		idx[blocks++] = pts ? i : (size_t)-1;
	}
	if (most < 2) {
		pl->skipped = "fewer than two load levels with throughput and latency percentiles for "
			      "any backend";
		goto out;
	}
	strbuf_adds(&dat, "# knees (p99)\n");
	strbuf_add(&dat, knees.buf, knees.len);
	strbuf_adds(&dat, "\n\n");
	pl->caption = keep(p,
			   "%s latency p50 (solid) and p99 (dashed) against output token throughput, one "
			   "point per load level (%s_p50_ms, %s_p99_ms, output_token_throughput). Circles "
			   "mark the knee of each p99 curve (largest normalized throughput minus latency, "
			   "Kneedle; needs three or more levels)%s.",
			   !strcmp(lat, "e2e") ? "End-to-end" : "Time-to-first-token", lat, lat,
			   n_knees ? "" : "; no curve has a knee");
	gp_header(&gp, pl->name, pl->title, 960, 540);
	strbuf_addf(&gp, "set xlabel \"output tokens/s\"\nset ylabel \"%s latency (ms)\"\n"
			 "set yrange [0:*]\nset xrange [0:*]\n"
			 "set offsets graph 0.03, graph 0.03, graph 0.05, 0\nplot ",
		    !strcmp(lat, "e2e") ? "E2E" : "TTFT");
	for (i = 0, k = 0; i < blocks; i++) {
		if (idx[i] == (size_t)-1)
			continue;
		strbuf_addf(&gp, "%s\"%s.dat\" index %zu using 1:2 with linespoints lw 2 pt 7 lc rgb \"%s\" "
				 "title ",
			    k ? ", \\\n     " : "", pl->name, i, colour(idx[i]));
		gq(&gp, keep(p, "%s p50", p->b[idx[i]].label));
		strbuf_addf(&gp, ", \\\n     \"%s.dat\" index %zu using 1:3 with linespoints lw 2 dt 2 "
				 "pt 5 lc rgb \"%s\" title ",
			    pl->name, i, colour(idx[i]));
		gq(&gp, keep(p, "%s p99", p->b[idx[i]].label));
		k++;
	}
	if (n_knees)
		strbuf_addf(&gp, ", \\\n     \"%s.dat\" index %zu using 1:2 with points pt 6 ps 3 lw 2 "
				 "lc rgb \"black\" title \"knee (p99)\"",
			    pl->name, blocks);
	strbuf_addch(&gp, '\n');
	rc = finish_plot(p, pl, &dat, &gp, err);
out:
	strbuf_release(&dat);
	strbuf_release(&gp);
	strbuf_release(&knees);
	return rc;
}

/* ---- per-backend figures by quantization level ---- */

static int quant_rank(const char *q)
{
	static const char *const order[] = {
		"F32",	  "F16",    "BF16",   "Q8_0",	"Q6_K",	  "Q5_K_M", "Q5_K_S", "Q5_1",
		"Q5_0",	  "Q4_K_M", "Q4_K_S", "Q4_1",	"Q4_0",	  "IQ4_NL", "IQ4_XS", "Q3_K_L",
		"Q3_K_M", "Q3_K_S", "IQ3_M",  "IQ3_XXS", "Q2_K",  "IQ2_XS", "IQ1_S",
	};
	size_t i;

	for (i = 0; q && i < sizeof(order) / sizeof(order[0]); i++)
		if (!strcasecmp(q, order[i]))
			return (int)i;
	return 1000;
}

struct cat {
	const char *name;
	int rank;
};

static int cat_cmp(const void *a, const void *b)
{
	const struct cat *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return strcmp(x->name, y->name);
}

static size_t cat_add(struct cat *c, size_t n, size_t max, const char *name, int rank)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return n;
	if (n < max) {
		c[n].name = name;
		c[n].rank = rank;
		n++;
	}
	return n;
}

static size_t cat_find(const struct cat *c, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return i;
	return (size_t)-1;
}

static const char *quant_of(const struct bseries *s)
{
	return s->row->quant ? s->row->quant : s->row->backend ? s->row->backend : "?";
}

static const char *family_of(const struct plot_set *p, const struct bseries *s)
{
	const char *f = s->row->family ? s->row->family : s->row->model ? s->row->model : "model";

	if (multi_run(p->d))
		return ((struct plot_set *)p)->n_texts < 40
			       ? keep((struct plot_set *)p, "%s (%s)", f, p->d->runs[s->run].name)
			       : f;
	return f;
}

/* A backend-wide figure: from its backend row, else any of its level rows. */
static bool backend_metric(const struct plot_set *p, const struct bseries *s, const char *name,
			   double *v, double *sd)
{
	size_t i;

	for (i = 0; i < p->d->n_rows; i++) {
		const struct report_row *r = &p->d->rows[i];

		if (r->run == s->run && r->backend_id == s->backend_id && r->scope == REPORT_SCOPE_BACKEND &&
		    val(r, name, v, sd))
			return true;
	}
	for (i = 0; i < p->d->n_rows; i++) {
		const struct report_row *r = &p->d->rows[i];

		if (r->run == s->run && r->backend_id == s->backend_id && val(r, name, v, sd))
			return true;
	}
	return false;
}

/* The level with the highest output throughput among those where metric is available. */
static bool peak_level_metric(const struct plot_set *p, const struct bseries *s, const char *metric,
			      double *v, double *sd, const char **note)
{
	const struct report_row *rows[MAX_LEVELS];
	size_t n = level_rows(p, s, rows, MAX_LEVELS), k;
	double best = -1, t, mv, msd;
	bool found = false;

	for (k = 0; k < n; k++) {
		const struct report_metric *m = report_row_metric(rows[k], metric);

		if (m && !m->n_reps && note && !*note)
			*note = m->note;
		if (!val(rows[k], metric, &mv, &msd))
			continue;
		if (!val(rows[k], "output_token_throughput", &t, NULL))
			t = 0;
		if (!found || t > best) {
			best = t;
			*v = mv;
			*sd = msd;
			found = true;
		}
	}
	return found;
}

typedef bool bar_value_fn(struct plot_set *p, const struct bseries *s, double *v, double *sd);

static bool toks_value(struct plot_set *p, const struct bseries *s, double *v, double *sd)
{
	if (backend_metric(p, s, "tg_tps", v, sd)) {
		double e;

		if (backend_metric(p, s, "tg_tps_sd", &e, NULL))
			*sd = e;
		return true;
	}
	return peak_level_metric(p, s, "output_token_throughput", v, sd, NULL);
}

static const char *energy_note;

static bool jpt_value(struct plot_set *p, const struct bseries *s, double *v, double *sd)
{
	return peak_level_metric(p, s, "j_per_output_token", v, sd, &energy_note);
}

/* Clustered bars: x = quantization level, one bar per family. */
static int plot_bars_by_quant(struct plot_set *p, struct report_plot *pl, bar_value_fn *fn,
			      const char *ylabel, struct lb_error *err)
{
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	struct cat q[64], f[16];
	double v[64][16], sd[64][16];
	size_t nq = 0, nf = 0, i, j, n_vals = 0;
	int rc = 0;

	for (i = 0; i < 64; i++)
		for (j = 0; j < 16; j++)
			v[i][j] = NAN;
	for (i = 0; i < p->n_b; i++) {
		double x, s;
		size_t qi, fi;

		if (!fn(p, &p->b[i], &x, &s))
			continue;
		nq = cat_add(q, nq, 64, quant_of(&p->b[i]), quant_rank(quant_of(&p->b[i])));
		nf = cat_add(f, nf, 16, family_of(p, &p->b[i]), 0);
		qsort(q, nq, sizeof(*q), cat_cmp);
		qi = cat_find(q, nq, quant_of(&p->b[i]));
		fi = cat_find(f, nf, family_of(p, &p->b[i]));
		(void)qi;
		(void)fi;
	}
	for (i = 0; i < p->n_b; i++) {
		double x, s;
		size_t qi, fi;

		if (!fn(p, &p->b[i], &x, &s))
			continue;
		qi = cat_find(q, nq, quant_of(&p->b[i]));
		fi = cat_find(f, nf, family_of(p, &p->b[i]));
		if (qi == (size_t)-1 || fi == (size_t)-1)
			continue;
		v[qi][fi] = x;
		sd[qi][fi] = s;
		n_vals++;
	}
	if (!n_vals)
		return 1; /* caller says why */
	strbuf_adds(&dat, "# quant");
	for (j = 0; j < nf; j++) {
		strbuf_adds(&dat, "\t");
		dq(&dat, f[j].name);
		strbuf_adds(&dat, "\tsd");
	}
	strbuf_addch(&dat, '\n');
	for (i = 0; i < nq; i++) {
		dq(&dat, q[i].name);
		for (j = 0; j < nf; j++) {
			if (isnan(v[i][j]))
				strbuf_adds(&dat, "\t?\t?");
			else
				strbuf_addf(&dat, "\t%.6g\t%.6g", v[i][j], sd[i][j]);
		}
		strbuf_addch(&dat, '\n');
	}
	gp_header(&gp, pl->name, pl->title, 960, 540);
	strbuf_addf(&gp, "set style data histograms\nset style histogram errorbars gap 1 lw 1\n"
			 "set style fill solid 0.85 border rgb \"#333333\"\nset boxwidth 0.9\n"
			 "set xlabel \"quantization level\"\nset ylabel \"%s\"\nset yrange [0:*]\n"
			 "set grid noxtics\nplot ",
		    ylabel);
	for (j = 0; j < nf; j++) {
		strbuf_addf(&gp, "%s\"%s.dat\" using %zu:($%zu-$%zu):($%zu+$%zu)%s lc rgb \"%s\" title ",
			    j ? ", \\\n     " : "", pl->name, 2 + 2 * j, 2 + 2 * j, 3 + 2 * j, 2 + 2 * j,
			    3 + 2 * j, j ? "" : ":xtic(1)", colour(j));
		gq(&gp, f[j].name);
	}
	strbuf_addch(&gp, '\n');
	rc = finish_plot(p, pl, &dat, &gp, err);
	strbuf_release(&dat);
	strbuf_release(&gp);
	return rc;
}

static int plot_toks_by_quant(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = new_plot(p, "toks_by_quant", "Tokens/s by quantization level");
	int rc;

	pl->caption = "Per backend: in-process generation speed (tg_tps, llama-bench tg, ± sd) where "
		      "measured, else the highest output_token_throughput over its load levels (± sd "
		      "over repetitions). Bars grouped by quantization level, one colour per family.";
	rc = plot_bars_by_quant(p, pl, toks_value, "tokens/s", err);
	if (rc == 1) {
		pl->skipped = "no backend has tg_tps or an output token throughput";
		rc = 0;
	}
	return rc;
}

static int plot_j_per_token(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = new_plot(p, "j_per_token", "Energy per output token by quantization level");
	int rc;

	energy_note = NULL;
	pl->caption = "j_per_output_token (J) at each backend's highest-throughput load level where "
		      "energy was measured (± sd over repetitions); lower is better.";
	rc = plot_bars_by_quant(p, pl, jpt_value, "J per output token", err);
	if (rc == 1) {
		pl->skipped = energy_note ? keep(p, "energy %s", energy_note)
					  : "no energy figures stored (no power source in the workload)";
		rc = 0;
	}
	return rc;
}

static int plot_ppl_size(struct plot_set *p, struct lb_error *err)
{
	static const char *const size_names[] = { "model_size_mib", "model_size_bytes", "model_bytes",
						  "model_params" };
	struct report_plot *pl = new_plot(p, "ppl_kld", "Perplexity and KL divergence by model size");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	struct cat q[64], f[16];
	const char *size_metric = NULL, *left = "ppl", *left_err = "ppl_err";
	size_t nq = 0, nf = 0, i, j, n_left = 0, n_kld = 0;
	int rc = 0;
	double v;

	for (i = 0; i < p->n_b; i++) {
		for (j = 0; !size_metric && j < sizeof(size_names) / sizeof(size_names[0]); j++)
			if (backend_metric(p, &p->b[i], size_names[j], &v, NULL))
				size_metric = size_names[j];
		nf = cat_add(f, nf, 16, family_of(p, &p->b[i]), 0);
	}
	/* token perplexities of different tokenizers do not compare: bits per byte then */
	if (nf > 1) {
		for (i = 0; i < p->n_b; i++)
			if (backend_metric(p, &p->b[i], "bpb", &v, NULL))
				left = "bpb";
		if (!strcmp(left, "bpb"))
			left_err = "bpb_err";
	}
	nf = 0;
	for (i = 0; i < p->n_b; i++) {
		bool l = backend_metric(p, &p->b[i], left, &v, NULL);
		bool k = backend_metric(p, &p->b[i], "kld_mean", &v, NULL);

		if (!l && !k)
			continue;
		n_left += l;
		n_kld += k;
		nq = cat_add(q, nq, 64, quant_of(&p->b[i]), quant_rank(quant_of(&p->b[i])));
		nf = cat_add(f, nf, 16, family_of(p, &p->b[i]), 0);
	}
	if (!n_left && !n_kld) {
		pl->skipped = "no perplexity, bits-per-byte or KL-divergence figures (run `llmbench "
			      "perplexity` or a workload with a perplexity task)";
		goto out;
	}
	qsort(q, nq, sizeof(*q), cat_cmp);
	for (j = 0; j < nf; j++) {
		strbuf_adds(&dat, "# ");
		dq(&dat, f[j].name);
		strbuf_addf(&dat, "\n# x\tquant\t%s\t%s_err\tkld_mean\tkld_err\n", left, left);
		for (i = 0; i < p->n_b; i++) {
			const struct bseries *s = &p->b[i];
			double x, l = NAN, le = 0, k = NAN, ke = 0;

			if (strcmp(family_of(p, s), f[j].name))
				continue;
			if (!backend_metric(p, s, left, &l, NULL))
				l = NAN;
			if (!backend_metric(p, s, left_err, &le, NULL))
				le = 0;
			if (!backend_metric(p, s, "kld_mean", &k, NULL))
				k = NAN;
			if (!backend_metric(p, s, "kld_err", &ke, NULL))
				ke = 0;
			if (isnan(l) && isnan(k))
				continue;
			if (size_metric) {
				if (!backend_metric(p, s, size_metric, &x, NULL))
					continue;
			} else {
				x = (double)cat_find(q, nq, quant_of(s));
			}
			strbuf_addf(&dat, "%.6g\t", x);
			dq(&dat, quant_of(s));
			if (isnan(l))
				strbuf_adds(&dat, "\t?\t?");
			else
				strbuf_addf(&dat, "\t%.6g\t%.6g", l, le);
			if (isnan(k))
				strbuf_adds(&dat, "\t?\t?\n");
			else
				strbuf_addf(&dat, "\t%.6g\t%.6g\n", k, ke);
		}
		strbuf_adds(&dat, "\n\n");
	}
	pl->caption = keep(p,
			   "Left: %s; right: mean KL divergence against the same model's base precision "
			   "(kld_mean), both ± their stored errors. x: %s. One colour per family.%s",
			   !strcmp(left, "bpb") ? "bits per byte (bpb; families tokenize differently, "
						  "so token perplexities are not compared)"
						: "perplexity (ppl)",
			   size_metric ? keep(p, "model size (%s)", size_metric)
				       : "quantization level (no model size stored)",
			   n_kld ? "" : " No KL divergence stored.");
	gp_header(&gp, pl->name, pl->title, 1100, 520);
	strbuf_adds(&gp, "set multiplot layout 1,2 title ");
	gq(&gp, pl->title);
	strbuf_adds(&gp, " font \",15\"\nunset title\nset key inside top right opaque box\n");
	if (size_metric) {
		strbuf_adds(&gp, "set xlabel ");
		gq(&gp, !strcmp(size_metric, "model_size_mib")	   ? "model size (MiB)"
			: !strcmp(size_metric, "model_params") ? "parameters"
							       : "model size (bytes)");
		strbuf_adds(&gp, "\n");
	} else {
		strbuf_adds(&gp, "set xlabel \"quantization level\"\nset xtics (");
		for (i = 0; i < nq; i++) {
			strbuf_adds(&gp, i ? ", " : "");
			gq(&gp, q[i].name);
			strbuf_addf(&gp, " %zu", i);
		}
		strbuf_addf(&gp, ")\nset xrange [-0.5:%zu.5]\n", nq ? nq - 1 : 0);
	}
	strbuf_addf(&gp, "set offsets graph 0.05, graph 0.05, graph 0.1, graph 0.1\n"
			 "set ylabel \"%s\"\n",
		    !strcmp(left, "bpb") ? "bits per byte" : "perplexity");
	if (n_left) {
		strbuf_adds(&gp, "plot ");
		for (j = 0; j < nf; j++) {
			strbuf_addf(&gp, "%s\"%s.dat\" index %zu using 1:3:4 with yerrorlines lw 2 pt 7 "
					 "lc rgb \"%s\" title ",
				    j ? ", \\\n     " : "", pl->name, j, colour(j));
			gq(&gp, f[j].name);
			strbuf_addf(&gp, ", \\\n     \"%s.dat\" index %zu using 1:3:2 with labels "
					 "offset 2.2,0.8 font \",10\" tc rgb \"%s\" notitle",
				    pl->name, j, colour(j));
		}
		strbuf_addch(&gp, '\n');
	} else {
		strbuf_adds(&gp, "set label 1 \"no perplexity stored\" at graph 0.5, graph 0.5 center\n"
				 "plot NaN notitle\nunset label 1\n");
	}
	strbuf_adds(&gp, "set ylabel \"KL divergence (nats/token)\"\n");
	if (n_kld) {
		strbuf_adds(&gp, "plot ");
		for (j = 0; j < nf; j++) {
			strbuf_addf(&gp, "%s\"%s.dat\" index %zu using 1:5:6 with yerrorlines lw 2 pt 7 "
					 "lc rgb \"%s\" title ",
				    j ? ", \\\n     " : "", pl->name, j, colour(j));
			gq(&gp, f[j].name);
			strbuf_addf(&gp, ", \\\n     \"%s.dat\" index %zu using 1:5:2 with labels "
					 "offset 2.2,0.8 font \",10\" tc rgb \"%s\" notitle",
				    pl->name, j, colour(j));
		}
		strbuf_addch(&gp, '\n');
	} else {
		strbuf_adds(&gp, "set label 1 \"no KL divergence stored\" at graph 0.5, graph 0.5 center\n"
				 "plot NaN notitle\n");
	}
	strbuf_adds(&gp, "unset multiplot\n");
	rc = finish_plot(p, pl, &dat, &gp, err);
out:
	strbuf_release(&dat);
	strbuf_release(&gp);
	return rc;
}

static const struct report_row *row_of_level_id(const struct plot_set *p, size_t run, int64_t id)
{
	size_t i;
	int k;

	for (i = 0; i < p->d->n_rows; i++) {
		const struct report_row *r = &p->d->rows[i];

		if (r->run != run || r->scope != REPORT_SCOPE_LEVEL)
			continue;
		for (k = 0; k < r->n_reps; k++)
			if (r->level_ids[k] == id)
				return r;
	}
	return NULL;
}

static int plot_power(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = new_plot(p, "power_time", "Power over time");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	size_t i, k, run;
	int64_t t0 = INT64_MAX, t1 = INT64_MIN;
	int rc = 0;

	if (!p->n_ps) {
		pl->skipped = "no power samples stored (the workload has no power source, or none was "
			      "readable)";
		goto out;
	}
	run = p->ps[0].run;
	for (i = 0; i < p->n_ps; i++) {
		if (p->ps[i].run != run || !p->ps[i].n)
			continue;
		if (p->ps[i].t_ns[0] < t0)
			t0 = p->ps[i].t_ns[0];
		if (p->ps[i].t_ns[p->ps[i].n - 1] > t1)
			t1 = p->ps[i].t_ns[p->ps[i].n - 1];
	}
	for (i = 0; i < p->n_ps; i++) {
		if (p->ps[i].run != run)
			continue;
		strbuf_adds(&dat, "# ");
		dq(&dat, p->ps[i].name);
		strbuf_adds(&dat, "\n# t_s\twatts\n");
		for (k = 0; k < p->ps[i].n; k++)
			strbuf_addf(&dat, "%.3f\t%.3f\n", (double)(p->ps[i].t_ns[k] - t0) / 1e9,
				    p->ps[i].w[k]);
		strbuf_adds(&dat, "\n\n");
	}
	pl->caption = keep(p,
			   "Power samples of run %s (series table: %s...), seconds from the first sample "
			   "or request; dashed lines mark the start of each load level's measured "
			   "requests.",
			   p->d->runs[run].name, p->ps[0].name);
	gp_header(&gp, pl->name, pl->title, 1100, 500);
	strbuf_addf(&gp, "set xlabel \"time (s)\"\nset ylabel \"power (W)\"\nset yrange [0:*]\n"
			 "set offsets 0, 0, graph 0.3, 0\nset xrange [0:%.3f]\n",
		    (double)(t1 - t0) / 1e9);
	for (i = 0, k = 0; i < p->n_marks; i++) {
		const struct report_row *r;
		char lv[64], v[32];

		int rep;

		/* only levels that start inside the sampled window */
		if (p->marks[i].run != run || p->marks[i].t0_ns < t0 || p->marks[i].t0_ns >= t1)
			continue;
		r = row_of_level_id(p, run, p->marks[i].level_id);
		if (!r)
			continue;
		for (rep = 0; rep < r->n_reps && r->level_ids[rep] != p->marks[i].level_id; rep++)
			;
		snprintf(lv, sizeof(lv), "%s %s=%s%s", p->n_b > 1 && r->backend ? r->backend : "",
			 r->mode && !strcmp(r->mode, "rate") ? "rate" : "c",
			 report_fmt_level_value(r->value, v, sizeof(v)),
			 r->n_reps > 1 ? keep(p, " #%d", rep + 1) : "");
		strbuf_addf(&gp, "set arrow from %.3f, graph 0 to %.3f, graph 1 nohead dt 2 lc rgb "
				 "\"#888888\"\n",
			    (double)(p->marks[i].t0_ns - t0) / 1e9, (double)(p->marks[i].t0_ns - t0) / 1e9);
		strbuf_addf(&gp, "set label %zu ", ++k);
		gq(&gp, lv[0] == ' ' ? lv + 1 : lv);
		strbuf_addf(&gp, " at %.3f, graph 0.98 rotate by 90 right offset 0.9,0 font \",10\" "
				 "tc rgb \"#555555\"\n",
			    (double)(p->marks[i].t0_ns - t0) / 1e9);
	}
	strbuf_adds(&gp, "plot ");
	for (i = 0, k = 0; i < p->n_ps; i++) {
		if (p->ps[i].run != run)
			continue;
		strbuf_addf(&gp, "%s\"%s.dat\" index %zu using 1:2 with lines lw 1.5 lc rgb \"%s\" title ",
			    k ? ", \\\n     " : "", pl->name, k, colour(k));
		gq(&gp, p->ps[i].name);
		k++;
	}
	strbuf_addch(&gp, '\n');
	rc = finish_plot(p, pl, &dat, &gp, err);
out:
	strbuf_release(&dat);
	strbuf_release(&gp);
	return rc;
}

static int plot_quality(struct plot_set *p, struct lb_error *err)
{
	static const char *const names[] = { "qa_correct", "qa_accuracy_given_attempted",
					     "qa_hallucination_rate", "qa_f", "mc1", "mc2", "mc3" };
	struct report_plot *pl = new_plot(p, "quality", "Answer quality by backend");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	bool used[sizeof(names) / sizeof(names[0])] = { 0 };
	size_t i, j, n_used = 0, n_rows = 0, col;
	int rc = 0;
	double v, lo, hi;
	char nb[64];

	for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
		for (i = 0; i < p->n_b; i++)
			if (backend_metric(p, &p->b[i], names[j], &v, NULL))
				used[j] = true;
		n_used += used[j];
	}
	if (!n_used) {
		pl->skipped = "no QA or multiple-choice scores stored (the workload has no quality task)";
		goto out;
	}
	strbuf_adds(&dat, "# backend");
	for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
		if (used[j])
			strbuf_addf(&dat, "\t%s\tlo\thi", names[j]);
	strbuf_addch(&dat, '\n');
	for (i = 0; i < p->n_b; i++) {
		bool any = false;

		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			any |= used[j] && backend_metric(p, &p->b[i], names[j], &v, NULL);
		if (!any)
			continue;
		dq(&dat, p->b[i].label);
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			if (!used[j])
				continue;
			if (!backend_metric(p, &p->b[i], names[j], &v, NULL)) {
				strbuf_adds(&dat, "\t?\t?\t?");
				continue;
			}
			snprintf(nb, sizeof(nb), "%s_lo", names[j]);
			if (!backend_metric(p, &p->b[i], nb, &lo, NULL))
				lo = v;
			snprintf(nb, sizeof(nb), "%s_hi", names[j]);
			if (!backend_metric(p, &p->b[i], nb, &hi, NULL))
				hi = v;
			strbuf_addf(&dat, "\t%.6g\t%.6g\t%.6g", v, lo, hi);
		}
		strbuf_addch(&dat, '\n');
		n_rows++;
	}
	pl->caption = "Reference-QA shares (regex-graded; correct, accuracy given attempted, "
		      "hallucination rate, F) and TruthfulQA-style MC1/MC2/MC3 by log-likelihood, per "
		      "backend; error bars: Wilson 95% intervals where stored (<metric>_lo/_hi).";
	gp_header(&gp, pl->name, pl->title, 1000, 540);
	strbuf_adds(&gp, "set style data histograms\nset style histogram errorbars gap 1 lw 1\n"
			 "set style fill solid 0.85 border rgb \"#333333\"\nset boxwidth 0.9\n"
			 "set ylabel \"score (fraction)\"\nset yrange [0:1]\nset ytics 0.1\n"
			 "set grid noxtics\n");
	if (n_rows > 4)
		strbuf_adds(&gp, "set xtics rotate by -30\n");
	strbuf_adds(&gp, "plot ");
	for (j = 0, col = 2, i = 0; j < sizeof(names) / sizeof(names[0]); j++) {
		if (!used[j])
			continue;
		strbuf_addf(&gp, "%s\"%s.dat\" using %zu:%zu:%zu%s lc rgb \"%s\" title \"%s\"",
			    i ? ", \\\n     " : "", pl->name, col, col + 1, col + 2, i ? "" : ":xtic(1)",
			    colour(i), names[j]);
		col += 3;
		i++;
	}
	strbuf_addch(&gp, '\n');
	rc = finish_plot(p, pl, &dat, &gp, err);
out:
	strbuf_release(&dat);
	strbuf_release(&gp);
	return rc;
}

int plot_set_render(struct plot_set *p, const char *dir, const char *gnuplot, bool png, bool svg,
		    const struct report_plot **plots, size_t *n_plots, struct lb_error *err)
{
	typedef int plot_fn(struct plot_set *, struct lb_error *);
	static plot_fn *const all[] = {
		plot_ttft_cdf,	 plot_chunk_gaps,    plot_itl_position, plot_throughput_load,
		plot_latency_throughput, plot_toks_by_quant, plot_ppl_size,	plot_j_per_token,
		plot_power,	 plot_quality,
	};
	size_t i;
	int rc = 0;

	p->dir = dir;
	p->gnuplot = gnuplot;
	p->png = png;
	p->svg = svg;
	p->n_plots = 0;
	for (i = 0; !rc && i < sizeof(all) / sizeof(all[0]); i++)
		rc = all[i](p, err);
	*plots = p->plots;
	*n_plots = p->n_plots;
	return rc;
}
