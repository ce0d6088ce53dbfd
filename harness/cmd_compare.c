/* cmd_compare.c: `llmbench compare --db FILE RUN_A RUN_B [--format md|csv] [--out FILE]`. */
#include "cmd.h"

#include "../metrics/store.h"
#include "../reports/compare.h"
#include "../base/error.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

static const char usage_text[] =
	"usage: llmbench compare --db FILE RUN_A RUN_B [--format md|csv] [--out FILE] [--all]\n"
	"\n"
	"Two runs side by side: per metric A, B, the difference B - A and the relative change\n"
	"(B - A) / |A|. Rows are matched by backend name and level (index and value); rows of\n"
	"one run only are listed (docs/cli/compare.md).\n"
	"\n"
	"  --db FILE      the store holding both runs\n"
	"  --format FMT   md (default) or csv (RFC 4180, every metric)\n"
	"  --out FILE     write there instead of standard output\n"
	"  --all          Markdown: every metric, not only those the report tables show\n"
	"\n"
	"Exit: 0 written, 2 bad option, missing store or unknown run, 3 runtime failure.\n";

int cmd_compare(int argc, char **argv, struct lb_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' }, { "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },	 { NULL, 0, NULL, 0 },
	};
	struct lb_error err = LB_ERROR_INIT;
	enum compare_fmt fmt = COMPARE_MD;
	const char *db = ctx->db, *outp = NULL;
	struct store *st = NULL;
	FILE *out = stdout;
	bool all = false;
	int c, rc;

	optind = 1;
	while ((c = cmd_getopt(argc, argv, "compare", "h", longopts)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "md"))
				fmt = COMPARE_MD;
			else if (!strcmp(optarg, "csv"))
				fmt = COMPARE_CSV;
			else
				return cmd_usage_error("compare", "unknown format '%s' (expected md or csv)",
						       optarg);
			break;
		case 'o':
			outp = optarg;
			break;
		case 'a':
			all = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (argc - optind != 2)
		return cmd_usage_error("compare", "expected two run names, got %d", argc - optind);
	rc = cmd_store(ctx, &st);
	if (rc)
		return rc;
	if (outp) {
		out = fopen(outp, "w");
		if (!out) {
			lb_error_set(&err, LB_ERR_IO, "cannot write '%s': %s", outp, strerror(errno));
			return cmd_fail(&err);
		}
	}
	rc = compare_render(st, argv[optind], argv[optind + 1], fmt, all, out, &err);
	if (out != stdout && fclose(out) && !rc)
		rc = lb_error_set(&err, LB_ERR_IO, "cannot write '%s': %s", outp, strerror(errno));
	if (rc) {
		if (rc == LB_ERR_USAGE)
			lb_error_prefix(&err, "'%s'", db);
		return cmd_fail(&err);
	}
	return 0;
}
