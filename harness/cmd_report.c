/* cmd_report.c: `llmbench report --db FILE [--run NAME]... --out DIR [--format LIST]`. */
#include "cmd.h"

#include "../metrics/store.h"
#include "../reports/writer.h"
#include "../base/alloc.h"
#include "../base/error.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: llmbench report [--db FILE] [--run NAME]... --out DIR [--format LIST]\n"
	"                       [--max-kld X | --max-ppl-ratio X]\n"
	"\n"
	"Render a run's tables, plots and an HTML page from a store (docs/reports.md).\n"
	"\n"
	"  --db FILE      the store written by 'llmbench run' (default: llmbench.db)\n"
	"  --run NAME     a run to report (repeatable; default: the latest run)\n"
	"  --out DIR      output folder (created): index.html, report.md, report.csv,\n"
	"                 report.json, requests.jsonl, plots/*.{png,svg,dat,gp}\n"
	"  --format LIST  comma-separated: html, md, csv, json, jsonl, png, svg (default: all; all\n"
	"                 names every one)\n"
	"  --max-kld X    quality bound of the decision view: mean KL divergence to the\n"
	"                 family's base, nats/token (default 0.05)\n"
	"  --max-ppl-ratio X\n"
	"                 bound as perplexity / base perplexity instead (default 1.05; used\n"
	"                 when given alone, or when no KL divergence is stored)\n"
	"\n"
	"Plots need gnuplot (Debian package gnuplot-nox); set LLMBENCH_GNUPLOT to use another\n"
	"program. LLMBENCH_REPORT_NORMALIZE=1 leaves this llmbench's version out of the files.\n"
	"Exit: 0 written, 2 bad option, missing store or unknown run, 3 runtime failure.\n";

int cmd_report(int argc, char **argv, struct lb_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "run", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "max-kld", required_argument, NULL, 'k' },
		{ "max-ppl-ratio", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lb_error err = LB_ERROR_INIT;
	struct report_opts o = { 0 };
	struct report_result res;
	struct store *st = NULL;
	const char *db = ctx->db, *fmt = NULL, **runs = NULL, *norm;
	size_t n_runs = 0;
	int c, rc;

	runs = lb_calloc((size_t)argc + 1, sizeof(*runs));
	if (!runs) {
		fprintf(stderr, "llmbench: error: out of memory\n");
		return 3;
	}
	optind = 1;
	while ((c = cmd_getopt(argc, argv, "report", "h", longopts)) != -1) {
		switch (c) {
		case 'r':
			for (size_t i = 0; i < n_runs; i++)
				if (!strcmp(runs[i], optarg)) {
					rc = cmd_usage_error("report", "--run '%s' is given twice",
							     optarg);
					goto out;
				}
			runs[n_runs++] = optarg;
			break;
		case 'o': o.out_dir = optarg; break;
		case 'f': fmt = optarg; break;
		case 'k':
		case 'p': {
			char *end;
			double v;

			errno = 0;
			v = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(v > 0) || (c == 'p' && v < 1)) {
				rc = cmd_usage_error(
					"report", "--%s: expected a number %s, got '%s'",
					c == 'k' ? "max-kld" : "max-ppl-ratio",
					c == 'k' ? "above 0 (nats/token)" : "of 1 or more", optarg);
				goto out;
			}
			if (c == 'k')
				o.max_kld = v;
			else
				o.max_ppl_ratio = v;
			break;
		}
		case 'h':
			fputs(usage_text, stdout);
			rc = 0;
			goto out;
		default: rc = 2; goto out;
		}
	}
	if (optind < argc) {
		rc = cmd_usage_error("report", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!o.out_dir) {
		rc = cmd_usage_error("report", "--out DIR is required");
		goto out;
	}
	if (o.max_kld > 0 && o.max_ppl_ratio > 0) {
		rc = cmd_usage_error("report", "give --max-kld or --max-ppl-ratio, not both: the "
					       "decision view takes one quality bound");
		goto out;
	}
	o.formats = REPORT_FMT_ALL;
	if (fmt && report_parse_formats(fmt, &o.formats, &err)) {
		rc = cmd_usage_error("report", "%s", err.msg);
		goto out;
	}
	o.runs = runs;
	o.n_runs = n_runs;
	o.version = lb_version();
	norm = getenv("LLMBENCH_REPORT_NORMALIZE");
	o.normalize = norm && *norm && strcmp(norm, "0");
	rc = cmd_store(ctx, &st);
	if (rc)
		goto out;
	/* the runs exist before DIR is made: a refused report leaves no empty folder */
	{
		bool any = false;
		int64_t id;

		for (size_t i = 0; !rc && i < n_runs; i++)
			rc = store_run_find(st, runs[i], &id, &err);
		if (!rc && !n_runs && !(rc = store_has_runs(st, &any, &err)) && !any)
			rc = lb_error_set(&err, LB_ERR_USAGE, "the store holds no run");
		if (rc) {
			if (rc == LB_ERR_USAGE && !strstr(err.msg, db))
				lb_error_prefix(&err, "'%s'", db);
			rc = cmd_fail(&err);
			goto out;
		}
	}
	if (cmd_mkdirs(o.out_dir)) {
		lb_error_set(&err, LB_ERR_IO, "cannot create '%s': %s", o.out_dir, strerror(errno));
		rc = cmd_fail(&err);
		goto out;
	}
	rc = report_render(st, &o, &res, &err);
	if (rc) {
		if (rc == LB_ERR_USAGE && !strstr(err.msg, db))
			lb_error_prefix(&err, "'%s'", db);
		rc = cmd_fail(&err);
		goto out;
	}
	if (res.warning[0])
		cmd_warn("%s", res.warning);
	if (res.index_html[0])
		printf("%s\n", res.index_html);
	else
		printf("%s\n", o.out_dir);
	if (res.n_plots_skipped &&
	    (o.formats & (REPORT_FMT_PNG | REPORT_FMT_SVG | REPORT_FMT_HTML)))
		fprintf(stderr, "llmbench: %d plots drawn, %d skipped (reasons in the report)\n",
			res.n_plots_drawn, res.n_plots_skipped);
out:
	lb_free(runs);
	return rc;
}
