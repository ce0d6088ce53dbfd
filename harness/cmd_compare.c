/* cmd_compare.c: `llmbench compare [--db FILE] --run A --run B [--format FMT] [--out FILE]`. */
#include "cmd.h"

#include "../metrics/store.h"
#include "../reports/compare.h"
#include "../base/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: llmbench compare [--db FILE] --run A --run B [--format md|csv|json|jsonl]\n"
	"                        [--out FILE] [--all]\n"
	"   or: llmbench compare [--db FILE] RUN_A RUN_B [...]\n"
	"\n"
	"Two runs side by side: per metric A, B, the relative change (B - A) / |A|, better or\n"
	"worse by the metric's direction, and Welch's p where both runs have repetitions. Rows\n"
	"are matched by backend name and level (index and value); rows of one run only are\n"
	"listed (docs/cli/compare.md).\n"
	"\n"
	"  --db FILE      the store holding both runs (default: llmbench.db)\n"
	"  --run NAME     run A, then run B (or give them as two arguments)\n"
	"  --format FMT   md (default: one table of the key figures), csv (RFC 4180, every\n"
	"                 metric), json (every metric with better/worse and Welch's p) or\n"
	"                 jsonl (the csv rows as one JSON object a line)\n"
	"  --out FILE     write there instead of standard output\n"
	"  --all          Markdown: every metric, not only the key figures\n"
	"\n"
	"Exit: 0 written, 2 bad option, missing store or unknown run, 3 runtime failure.\n";

int cmd_compare(int argc, char **argv, struct lb_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' }, { "run", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },    { "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	struct lb_error err = LB_ERROR_INIT;
	enum cmd_format fmt = CMD_FMT_MD;
	const char *runs[2] = { NULL, NULL };
	int n_runs = 0;
	char *mem = NULL;
	size_t mem_len = 0;
	FILE *render;
	const char *db = ctx->db, *outp = NULL;
	struct store *st = NULL;
	FILE *out = stdout;
	struct cmd_out of;
	bool all = false;
	int c, rc;

	optind = 1;
	while ((c = cmd_getopt(argc, argv, "compare", "h", longopts)) != -1) {
		switch (c) {
		case 'f':
			if (cmd_parse_format("compare", optarg,
					     1u << CMD_FMT_MD | 1u << CMD_FMT_CSV |
						     1u << CMD_FMT_JSON | 1u << CMD_FMT_JSONL,
					     &fmt))
				return 2;
			break;
		case 'r':
			if (n_runs == 2)
				return cmd_usage_error("compare",
						       "--run is given twice at most (A, B)");
			runs[n_runs++] = optarg;
			break;
		case 'o': outp = optarg; break;
		case 'a': all = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return 2;
		}
	}
	while (optind < argc && n_runs < 2)
		runs[n_runs++] = argv[optind++];
	if (n_runs != 2 || optind < argc)
		return cmd_usage_error("compare", "expected two runs (--run A --run B), got %d",
				       n_runs + argc - optind);
	rc = cmd_store(ctx, &st);
	if (rc)
		return rc;
	if (cmd_out_open(&of, outp, LB_ERR_IO, &err))
		return cmd_fail(&err);
	out = of.f;
	if (fmt == CMD_FMT_JSONL) {
		/* the csv rows, every metric, as JSON objects */
		render = open_memstream(&mem, &mem_len);
		if (!render) {
			lb_error_set(&err, LB_ERR_NOMEM, "out of memory");
			cmd_out_close(&of, false, &err);
			return cmd_fail(&err);
		}
		rc = compare_render(st, runs[0], runs[1], COMPARE_CSV, true, render, &err);
		if (fclose(render) && !rc)
			rc = lb_error_set(&err, LB_ERR_NOMEM, "out of memory");
		if (!rc && cmd_csv_to_json(mem ? mem : "", out, true))
			rc = lb_error_set(&err, LB_ERR_IO, "cannot write '%s'",
					  outp ? outp : "stdout");
		free(mem);
	} else {
		rc = compare_render(st, runs[0], runs[1],
				    fmt == CMD_FMT_CSV    ? COMPARE_CSV
				    : fmt == CMD_FMT_JSON ? COMPARE_JSON
							  : COMPARE_MD,
				    all, out, &err);
	}
	{
		int crc = cmd_out_close(&of, !rc, &err);

		rc = rc ? rc : crc;
	}
	if (rc) {
		if (rc == LB_ERR_USAGE)
			lb_error_prefix(&err, "'%s'", db);
		return cmd_fail(&err);
	}
	return 0;
}
