/* plot_gnuplot.c: gnuplot runs as a child process, one per plot and format; scripts and data
 * stay under the plots folder so users can restyle and re-run them. */
#include "plot_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

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
		snprintf(
			why, len,
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

/* A gnuplot string literal of outside text (run, backend, level names). Single quotes: gnuplot
 * substitutes backquoted shell commands and @macros inside double quotes, never inside single
 * ones, where the only escape is a doubled quote. */
void plot_gq(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			strbuf_addch(sb, '\'');
		strbuf_addch(sb, *s == '\n' || *s == '\t' || *s == '\r' ? ' ' : *s);
	}
	strbuf_addch(sb, '\'');
}

/* A data-file field: tabs and newlines would break the columns. */
void plot_dq(struct strbuf *sb, const char *s)
{
	for (; *s; s++)
		strbuf_addch(sb, *s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

void plot_gp_header(struct strbuf *gp, const char *name, const char *title, int w, int h)
{
	strbuf_addf(gp,
		    "# %s: drawn by `llmbench report` from %s.dat (tab-separated, '?' = missing).\n"
		    "# Re-draw: gnuplot -e \"fmt='svg'\" %s.gp   (fmt: png or svg)\n",
		    title, name, name);
	strbuf_adds(gp, "if (!exists(\"fmt\")) fmt = \"png\"\n"
			"if (fmt eq \"svg\") {\n");
	strbuf_addf(gp,
		    "\tset terminal svg size %d,%d dynamic noenhanced font \"Sans,13\" "
		    "background \"white\"\n} else {\n"
		    "\tif (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
		    "\t\tset terminal pngcairo size %d,%d noenhanced font \"Sans,12\" "
		    "background \"white\"\n\t} else {\n"
		    "\t\tset terminal png size %d,%d noenhanced font \"Sans\" 11\n\t}\n}\n",
		    w, h, w, h, w, h);
	strbuf_addf(gp, "set output \"%s.\" . fmt\n", name);
	strbuf_adds(
		gp,
		"set encoding utf8\nset datafile separator \"\\t\"\n"
		"set datafile missing \"?\"\nset grid lc rgb \"#dddddd\"\n"
		"set border lc rgb \"#444444\"\n"
		"set key outside right top vertical Left reverse noopaque box lc rgb \"#bbbbbb\"\n"
		"set key samplen 2 spacing 1.2 width 2\n");
	strbuf_adds(gp, "set title ");
	plot_gq(gp, title);
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

const char *plot_keep(struct plot_set *p, const char *fmt, ...)
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

struct report_plot *plot_new(struct plot_set *p, const char *name, const char *title)
{
	struct report_plot *pl = &p->plots[p->n_plots++];

	memset(pl, 0, sizeof(*pl));
	pl->name = name;
	pl->title = title;
	pl->caption = "";
	return pl;
}

/* Write data and script, then draw. A failure of gnuplot skips the plot with the reason. */
int plot_finish(struct plot_set *p, struct report_plot *pl, const struct strbuf *dat,
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
		pl->skipped = plot_keep(p, "%s", why);
		return 0;
	}
	pl->svg = p->svg;
	if (p->png && run_gnuplot(p, pl->name, "png", why, sizeof(why))) {
		pl->skipped = plot_keep(p, "%s", why);
		return 0;
	}
	pl->png = p->png;
	return 0;
}

int plot_done(struct plot_set *p, struct report_plot *pl, struct strbuf *dat, struct strbuf *gp,
	      struct lb_error *err)
{
	int rc = 0;

	if (!pl->skipped) {
		strbuf_addch(gp, '\n');
		rc = plot_finish(p, pl, dat, gp, err);
	}
	strbuf_release(dat);
	strbuf_release(gp);
	return rc;
}

void plot_series(struct strbuf *gp, bool first, const char *name, size_t block, const char *style,
		 const char *colour, const char *title)
{
	strbuf_addf(gp, "%s\"%s.dat\" index %zu using %s lc rgb \"%s\" title ",
		    first ? "" : ", \\\n     ", name, block, style, colour);
	plot_gq(gp, title);
}

int plot_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Pick gnuplot colours so that a backend keeps its colour across plots. */
const char *plot_colour(size_t i)
{
	static const char *const c[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
					 "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22" };

	return c[i % (sizeof(c) / sizeof(c[0]))];
}
