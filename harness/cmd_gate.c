/* cmd_gate.c: `llmbench gate`: fail (exit 1) when a candidate run regressed against a baseline
 * run or the history of its workload; JUnit XML, a Markdown summary and benchmark JSON. */
#include "cmd.h"

#include "../metrics/store.h"
#include "../reports/gate.h"
#include "../reports/gate_load.h"
#include "../base/error.h"

#include <errno.h>
#include <sys/stat.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: llmbench gate [--db FILE] (--baseline RUN | --history N) --candidate RUN\n"
	"   or: llmbench gate [--db FILE] --run BASELINE --run CANDIDATE [options]\n"
	"                     [--rules FILE] [--junit FILE] [--summary FILE] [--json FILE]\n"
	"                     [--json-bigger FILE] [--bencher FILE] [--ignore-host]\n"
	"                     [--fail-unmatched] [--all] [--format table|md]\n"
	"\n"
	"Compare a candidate run with a baseline run, or with the last N earlier runs of the same\n"
	"workload, metric by metric under rules, and fail when it regressed (docs/ci.md).\n"
	"Rows are matched by workload, host, backend, family, quant and level; rows of one side\n"
	"only are listed as unmatched in every output.\n"
	"\n"
	"  --db FILE          the store holding the runs (default: llmbench.db)\n"
	"  --run RUN          the baseline, then the candidate (with --history: the candidate)\n"
	"  --candidate RUN    the run under test\n"
	"  --baseline RUN     the run to compare with\n"
	"  --history N        instead: the last N earlier done runs of the candidate's workload\n"
	"                     (prediction interval as Bencher's t-test; N in 1..64)\n"
	"  --rules FILE       rules (a gate object, or a workload with a \"gate\" section); "
	"default:\n"
	"                     the candidate workload's \"gate\" section, else the default rules\n"
	"  --junit FILE       JUnit XML: one test case per key x metric\n"
	"  --summary FILE     Markdown summary (a table, < 1 MiB), e.g. \"$GITHUB_STEP_SUMMARY\"\n"
	"  --json FILE        github-action-benchmark customSmallerIsBetter JSON\n"
	"  --json-bigger FILE github-action-benchmark customBiggerIsBetter JSON\n"
	"  --bencher FILE     Bencher Metric Format (BMF) JSON\n"
	"  --ignore-host      compare runs made on different hosts (CI runners change names)\n"
	"  --fail-unmatched   an unmatched row fails the gate too\n"
	"  --all              print every check, not only failures and skips\n"
	"  --format FMT       table (default) or md: the --summary Markdown on stdout\n"
	"\n"
	"A candidate level with no successful request fails, whatever the rules. Each statistical\n"
	"check reports the smallest worsening it could have detected, and warns when that is\n"
	"larger than its rule's threshold (the pass then says little).\n"
	"\n"
	"Exit: 0 passed, 1 regression, 2 bad option, rules, unknown metric or missing run, or\n"
	"nothing compared (no row matches, every check skipped; the outputs are still written),\n"
	"3 store or runtime failure.\n";

enum {
	OPT_JSON_BIGGER = 256,
	OPT_BENCHER,
	OPT_IGNORE_HOST,
	OPT_FAIL_UNMATCHED,
	OPT_ALL,
	OPT_FORMAT
};

enum out_kind {
	OUT_JUNIT,
	OUT_SUMMARY,
	OUT_GAB_SMALLER,
	OUT_GAB_BIGGER,
	OUT_BENCHER,
	OUT_N
};

static int write_out(const struct gate_report *rep, enum out_kind k, const char *path,
		     struct lb_error *err)
{
	const char *gh = getenv("GITHUB_STEP_SUMMARY");
	struct stat a, b;
	/* GitHub's step summary file is appended to, as its docs ask (the same file by any path) */
	bool append = k == OUT_SUMMARY && gh &&
		      (!strcmp(gh, path) || (!stat(gh, &a) && !stat(path, &b) &&
					     a.st_dev == b.st_dev && a.st_ino == b.st_ino));
	struct cmd_out o = { 0 };
	FILE *f;
	int rc, crc;

	if (append) {
		f = fopen(path, "a");
		if (!f)
			return lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", path,
					    strerror(errno));
	} else {
		if (cmd_out_open(&o, path, LB_ERR_IO, err))
			return err->code;
		f = o.f;
	}
	switch (k) {
	case OUT_JUNIT: rc = gate_write_junit(rep, f, err); break;
	case OUT_SUMMARY: rc = gate_write_markdown(rep, f, GATE_MD_MAX, err); break;
	case OUT_GAB_SMALLER: rc = gate_write_gab(rep, GATE_LOWER_IS_BETTER, f, err); break;
	case OUT_GAB_BIGGER: rc = gate_write_gab(rep, GATE_HIGHER_IS_BETTER, f, err); break;
	default: rc = gate_write_bencher(rep, f, err); break;
	}
	if (append) {
		if (fclose(f) && !rc)
			rc = lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", path,
					  strerror(errno));
	} else {
		crc = cmd_out_close(&o, !rc, err);
		rc = rc ? rc : crc;
	}
	if (rc && !strstr(err->msg, path))
		lb_error_prefix(err, "'%s'", path);
	return rc;
}

int cmd_gate(int argc, char **argv, struct lb_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "baseline", required_argument, NULL, 'b' },
		{ "history", required_argument, NULL, 'H' },
		{ "candidate", required_argument, NULL, 'c' },
		{ "run", required_argument, NULL, 'R' },
		{ "rules", required_argument, NULL, 'r' },
		{ "junit", required_argument, NULL, 'j' },
		{ "summary", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'J' },
		{ "json-bigger", required_argument, NULL, OPT_JSON_BIGGER },
		{ "bencher", required_argument, NULL, OPT_BENCHER },
		{ "ignore-host", no_argument, NULL, OPT_IGNORE_HOST },
		{ "fail-unmatched", no_argument, NULL, OPT_FAIL_UNMATCHED },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lb_error err = LB_ERROR_INIT;
	struct gate_opts o = { 0 };
	struct gate_report rep;
	const char *db = ctx->db, *outs[OUT_N] = { NULL };
	struct store *st = NULL;
	bool all = false;
	enum cmd_format fmt = CMD_FMT_TABLE;
	const char *runs[2] = { NULL, NULL };
	int n_runs = 0;
	long n;
	int c, rc, k;

	optind = 1;
	while ((c = cmd_getopt(argc, argv, "gate", "h", longopts)) != -1) {
		switch (c) {
		case 'b': o.baseline = optarg; break;
		case 'H':
			if (cmd_parse_long(optarg, &n) || n < 1 || n > 64)
				return cmd_usage_error("gate",
						       "--history takes a number of runs in 1..64, "
						       "got '%s'",
						       optarg);
			o.history = n;
			break;
		case 'c': o.candidate = optarg; break;
		case 'R':
			if (n_runs == 2)
				return cmd_usage_error("gate",
						       "--run is given twice at most (baseline, "
						       "candidate)");
			runs[n_runs++] = optarg;
			break;
		case 'r': o.rules_path = optarg; break;
		case 'j': outs[OUT_JUNIT] = optarg; break;
		case 's': outs[OUT_SUMMARY] = optarg; break;
		case 'J': outs[OUT_GAB_SMALLER] = optarg; break;
		case OPT_JSON_BIGGER: outs[OUT_GAB_BIGGER] = optarg; break;
		case OPT_BENCHER: outs[OUT_BENCHER] = optarg; break;
		case OPT_IGNORE_HOST: o.ignore_host = true; break;
		case OPT_FAIL_UNMATCHED: o.fail_unmatched = true; break;
		case OPT_ALL: all = true; break;
		case OPT_FORMAT:
			if (cmd_parse_format("gate", optarg, 1u << CMD_FMT_TABLE | 1u << CMD_FMT_MD,
					     &fmt))
				return 2;
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return 2;
		}
	}
	if (optind < argc)
		return cmd_usage_error("gate", "unexpected argument '%s'", argv[optind]);
	/* --run A --run B: baseline A, candidate B; with --history, --run is the candidate */
	if (n_runs && (o.candidate || o.baseline))
		return cmd_usage_error("gate", "give the runs either with --run or with "
					       "--baseline/--candidate");
	if (n_runs == 2) {
		o.baseline = runs[0];
		o.candidate = runs[1];
	} else if (n_runs == 1) {
		if (o.history)
			o.candidate = runs[0];
		else
			return cmd_usage_error("gate",
					       "--run BASELINE --run CANDIDATE (or --history N "
					       "--run CANDIDATE)");
	}
	if (!o.candidate)
		return cmd_usage_error("gate", "--candidate RUN is required");
	if (!o.baseline == !o.history)
		return cmd_usage_error("gate", "give one of --baseline RUN and --history N");
	rc = cmd_store(ctx, &st);
	if (rc)
		return rc;
	gate_report_init(&rep);
	rc = gate_load_and_evaluate(st, &o, &rep, &err);
	if (rc) {
		gate_report_release(&rep);
		/* the store's name, unless the error is about another file (the rules) */
		if (rc == LB_ERR_USAGE && !strstr(err.msg, db) &&
		    !(o.rules_path && strstr(err.msg, o.rules_path)))
			lb_error_prefix(&err, "'%s'", db);
		return cmd_fail(&err);
	}
	for (k = 0; k < OUT_N && !rc; k++)
		if (outs[k])
			rc = write_out(&rep, (enum out_kind)k, outs[k], &err);
	if (!rc)
		rc = fmt == CMD_FMT_MD
			     ? gate_write_markdown(&rep, stdout, GATE_MD_MAX, &err)
			     : gate_write_text(&rep, stdout, all || (ctx && ctx->verbose), &err);
	if (rc) {
		gate_report_release(&rep);
		return cmd_fail(&err);
	}
	switch (gate_report_verdict(&rep)) {
	case GATE_VERDICT_FAIL: rc = 1; break;
	case GATE_VERDICT_NOTHING:
		/* no verdict is not a pass: a gate over nothing must not go green */
		fprintf(stderr, "llmbench: error: '%s': the gate compared nothing: %s\n", db,
			rep.nothing ? rep.nothing : "no check passed or failed");
		rc = 2;
		break;
	default: rc = 0; break;
	}
	gate_report_release(&rep);
	return rc;
}
