/* cmd_slurm.c: `llmbench slurm W.json --shards N [sbatch options]` — write a script that runs a
 * workload as N shards in a Slurm job array, then merges their stores and reports
 * (docs/scale-out.md). */
#include "cmd.h"

#include "../base/error.h"
#include "../base/strbuf.h"
#include "cmd_scale.h"
#include "shard.h"
#include "workload.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: llmbench slurm WORKLOAD.json --shards N [--dir DIR] [--name NAME] [-o FILE]\n"
	"                      [--level-window S] [--set key=value]...\n"
	"                      [--llmbench PATH] [sbatch options]...\n"
	"\n"
	"Write a bash script that runs WORKLOAD.json as N shards of a Slurm job array (each\n"
	"'llmbench run --shard auto' into DIR/shard-JOBID-K.db; the shards of a split load meet in\n"
	"DIR/rendezvous-JOBID and start together) and a job that depends on the array and\n"
	"merges them into DIR/merged-JOBID.db with a report in DIR/report-JOBID. Run the script\n"
	"with bash to submit both jobs; with sbatch, it submits the array only.\n"
	"\n"
	"  --shards N        the number of shards (array tasks 0 to N-1)\n"
	"  --dir DIR         where the stores, logs and report go; on a filesystem every node sees\n"
	"                    (default: llmbench-<workload> in the current directory)\n"
	"  --name NAME       run name (default: the workload's name)\n"
	"  -o, --out FILE    write the script to FILE (mode 755) instead of stdout\n"
	"  --level-window S  passed to run (levels of a split load bounded by time)\n"
	"  --set key=value   passed to every shard's run (repeatable)\n"
	"  --llmbench PATH   the llmbench the nodes run (default: this one's absolute path)\n"
	"  sbatch options    any other option is written as an #SBATCH line for the array:\n"
	"                    --partition=gpu, --time=01:00:00, --gres=gpu:1 (use the --opt=value\n"
	"                    form; a short option takes the next word: -p gpu)\n"
	"\n"
	"Exit: 0 written, 2 bad option or workload.\n";

void cmd_shell_quote(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			strbuf_adds(sb, "'\\''");
		else
			strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '\'');
}

char *cmd_abs_path(const char *path)
{
	char cwd[PATH_MAX], *out;
	size_t n;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return strdup(path);
	n = strlen(cwd) + strlen(path) + 2;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%s/%s", cwd, path);
	return out;
}

static int self_path(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* A name for files and Slurm: letters, digits, '-', '_', '.' kept, the rest '-'. */
static void safe_name(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < len; i++)
		out[i] = (char)((in[i] >= 'a' && in[i] <= 'z') || (in[i] >= 'A' && in[i] <= 'Z') ||
						(in[i] >= '0' && in[i] <= '9') ||
						strchr("-_.", in[i])
					? in[i]
					: '-');
	out[i] = 0;
}

int cmd_slurm(int argc, char **argv, struct lb_ctx *ctx)
{
	const char *wpath = NULL, *dir = NULL, *name = NULL, *out = NULL, *exe = NULL;
	char **sets = NULL, **sb_opts = NULL, self[PATH_MAX], sname[128], dirbuf[300];
	size_t n_sets = 0, n_sb = 0, i;
	long shards = 0;
	double window = 0;
	struct workload wl = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	struct strbuf sb = STRBUF_INIT, runargs = STRBUF_INIT;
	char *awl = NULL, *adir = NULL;
	int a, rc = 2;

	(void)ctx;
	sets = calloc((size_t)argc, sizeof(*sets));
	sb_opts = calloc((size_t)argc, sizeof(*sb_opts));
	if (!sets || !sb_opts)
		goto oom;
	for (a = 1; a < argc; a++) {
		const char *s = argv[a];
		const char *v = a + 1 < argc ? argv[a + 1] : NULL;

#define NEED_VALUE(opt)                                                         \
	do {                                                                    \
		if (!v) {                                                       \
			rc = cmd_usage_error("slurm", "%s needs a value", opt); \
			goto done;                                              \
		}                                                               \
		a++;                                                            \
	} while (0)
		if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
			fputs(usage_text, stdout);
			rc = 0;
			goto done;
		} else if (!strcmp(s, "--shards")) {
			NEED_VALUE(s);
			if (cmd_parse_long(v, &shards) || shards < 1 || shards > SHARD_MAX) {
				rc = cmd_usage_error(
					"slurm", "--shards needs a count from 1 to %d, got '%s'",
					SHARD_MAX, v);
				goto done;
			}
		} else if (!strcmp(s, "--dir")) {
			NEED_VALUE(s);
			dir = v;
		} else if (!strcmp(s, "--name")) {
			NEED_VALUE(s);
			if ((rc = cmd_check_run_name("slurm", v)))
				goto done;
			name = v;
		} else if (!strcmp(s, "-o") || !strcmp(s, "--out")) {
			NEED_VALUE(s);
			out = v;
		} else if (!strcmp(s, "--level-window")) {
			NEED_VALUE(s);
			if (cmd_parse_double(v, &window) || !(window > 0)) {
				rc = cmd_usage_error(
					"slurm", "--level-window needs seconds > 0, got '%s'", v);
				goto done;
			}
		} else if (!strcmp(s, "--set")) {
			NEED_VALUE(s);
			if (!strchr(v, '=')) {
				rc = cmd_usage_error("slurm", "--set needs key=value, got '%s'", v);
				goto done;
			}
			sets[n_sets++] = (char *)v;
		} else if (!strcmp(s, "--llmbench")) {
			NEED_VALUE(s);
			exe = v;
		} else if (!strncmp(s, "--", 2) && s[2]) {
			if (!strncmp(s, "--array", 7) || !strncmp(s, "--dependency", 12)) {
				rc = cmd_usage_error("slurm",
						     "'%s' is set by llmbench slurm (--shards)", s);
				goto done;
			}
			sb_opts[n_sb++] = (char *)s;
		} else if (s[0] == '-' && s[1]) {
			if (s[1] == 'a' || s[1] == 'd') {
				rc = cmd_usage_error("slurm",
						     "'%s' is set by llmbench slurm (--shards)", s);
				goto done;
			}
			sb_opts[n_sb++] = (char *)s; /* "-p gpu": the value follows */
			if (!s[2] && v) {
				sb_opts[n_sb - 1] = NULL;
				{
					size_t l = strlen(s) + strlen(v) + 2;
					char *j = malloc(l);

					if (!j)
						goto oom;
					snprintf(j, l, "%s %s", s, v);
					sb_opts[n_sb - 1] = j;
					a++;
				}
			}
		} else if (!wpath) {
			wpath = s;
		} else {
			rc = cmd_usage_error("slurm", "one workload file is expected, got '%s' too",
					     s);
			goto done;
		}
#undef NEED_VALUE
	}
	if (!wpath) {
		rc = cmd_usage_error("slurm", "a workload file is required");
		goto done;
	}
	if (!shards) {
		rc = cmd_usage_error("slurm", "--shards N is required");
		goto done;
	}
	if (workload_load(&wl, wpath, (const char *const *)sets, n_sets, &err)) {
		rc = cmd_fail(&err);
		goto done;
	}
	/* what every shard would refuse, refused before the jobs are queued */
	if (shard_check_plan(&wl, (int)shards, window, &err)) {
		rc = cmd_usage_error("slurm", "%s", err.msg);
		goto done;
	}
	if (!exe) {
		if (self_path(self, sizeof(self))) {
			rc = cmd_usage_error("slurm",
					     "cannot find this llmbench's path: give --llmbench");
			goto done;
		}
		exe = self;
	}
	safe_name(name ? name : wl.name, sname, sizeof(sname));
	if (!dir) {
		snprintf(dirbuf, sizeof(dirbuf), "llmbench-%s", sname);
		dir = dirbuf;
	}
	awl = cmd_abs_path(wpath);
	adir = cmd_abs_path(dir);
	if (!awl || !adir)
		goto oom;

	for (i = 0; i < n_sets; i++) {
		strbuf_adds(&runargs, " --set ");
		cmd_shell_quote(&runargs, sets[i]);
	}
	if (window > 0)
		strbuf_addf(&runargs, " --level-window %g", window);

	strbuf_adds(&sb, "#!/bin/bash\n");
	strbuf_addf(&sb,
		    "# Written by llmbench slurm (%s; docs/scale-out.md): %ld shards of\n#   %s\n",
		    lb_version(), shards, awl);
	strbuf_adds(
		&sb,
		"# as a Slurm job array, then a job that merges the shards' stores and reports.\n"
		"#   bash THIS_FILE     submits the array and the dependent merge job\n"
		"#   sbatch THIS_FILE   submits the array only (then: bash THIS_FILE merge)\n");
	strbuf_addf(&sb, "#SBATCH --job-name=llmbench-%s\n", sname);
	strbuf_addf(&sb, "#SBATCH --array=0-%ld\n", shards - 1);
	/* sbatch reads a directive's value as a word: double quotes keep spaces and '#', '\\'
	 * escapes a quote or a backslash, and '%%' is a literal '%' in a file pattern */
	strbuf_adds(&sb, "#SBATCH --output=\"");
	for (const char *p = adir; *p; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_addch(&sb, '\\');
		strbuf_addch(&sb, *p);
		if (*p == '%')
			strbuf_addch(&sb, '%');
	}
	strbuf_adds(&sb, "/slurm-%A_%a.out\"\n");
	for (i = 0; i < n_sb; i++)
		strbuf_addf(&sb, "#SBATCH %s\n", sb_opts[i]);
	strbuf_adds(&sb, "set -euo pipefail\nLLMBENCH=${LLMBENCH:-");
	cmd_shell_quote(&sb, exe);
	strbuf_adds(&sb, "}\nWORKLOAD=");
	cmd_shell_quote(&sb, awl);
	strbuf_adds(&sb, "\nDIR=");
	cmd_shell_quote(&sb, adir);
	strbuf_adds(&sb, "\nNAME=");
	cmd_shell_quote(&sb,
			name ? name : wl.name); /* the run's name as given; sname names files */
	strbuf_addf(&sb, "\nSHARDS=%ld\nJOB=llmbench-%s\n", shards, sname);
	strbuf_adds(
		&sb,
		"if [ -n \"${SLURM_ARRAY_TASK_ID:-}\" ]; then\n"
		"\t# one shard: which one, and the group of the run, come from Slurm's variables; the\n"
		"\t# shards of a split load meet in a folder of DIR and start together\n"
		"\texec \"$LLMBENCH\" run \"$WORKLOAD\" --shard auto --shards \"$SHARDS\" --no-progress \\\n"
		"\t\t--rendezvous \"$DIR/rendezvous-$SLURM_ARRAY_JOB_ID\" \\\n"
		"\t\t--db \"$DIR/shard-$SLURM_ARRAY_JOB_ID-$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0})).db\" \\\n"
		"\t\t--name \"$NAME\"");
	strbuf_adds(&sb, runargs.buf ? runargs.buf : "");
	strbuf_adds(
		&sb,
		"\nelif [ \"${1:-}\" = merge ]; then\n"
		"\t# after the array: one run from the stores of one submission (its array job id;\n"
		"\t# without one, the only submission in DIR), and its report\n"
		"\tshopt -s nullglob\n"
		"\tjob=${2:-}\n"
		"\tif [ -z \"$job\" ]; then\n"
		"\t\tids=$(for f in \"$DIR\"/shard-*-*.db; do f=${f##*/shard-}; echo \"${f%%-*}\"; done | sort -u)\n"
		"\t\t[ \"$(echo \"$ids\" | grep -c .)\" = 1 ] || { echo \"llmbench slurm: give the array job id to merge"
		" (stores in $DIR: ${ids//$'\\n'/ })\" >&2; exit 2; }\n"
		"\t\tjob=$ids\n"
		"\tfi\n"
		"\tstores=(\"$DIR\"/shard-\"$job\"-*.db)\n"
		"\t[ ${#stores[@]} -gt 0 ] || { echo \"llmbench slurm: no shard store of job $job in $DIR\" >&2; exit 3; }\n"
		"\trm -f \"$DIR/merged-$job.db\"\n"
		"\t\"$LLMBENCH\" merge \"$DIR/merged-$job.db\" \"${stores[@]}\"\n"
		"\t\"$LLMBENCH\" report --db \"$DIR/merged-$job.db\" --run \"$NAME\" --out \"$DIR/report-$job\"\n"
		"else\n"
		"\t# submission: the array, then the merge once every task has ended\n"
		"\tcommand -v sbatch >/dev/null || { echo \"llmbench slurm: sbatch not found\" >&2; exit 2; }\n"
		"\tmkdir -p \"$DIR\"\n"
		"\tself=$(readlink -f \"$0\")\n"
		"\tjob=$(sbatch --parsable \"$self\")\n"
		"\tjob=${job%%;*}\n"
		"\tprintf -v qself %q \"$self\"\n"
		"\tmerge=$(sbatch --parsable --dependency=afterany:\"$job\" --job-name=\"$JOB-merge\" \\\n"
		"\t\t--output=\"${DIR//%/%%}/slurm-%j-merge.out\" --wrap=\"bash $qself merge $job\")\n"
		"\techo \"llmbench slurm: array job $job ($SHARDS shards), merge job ${merge%%;*}\"\n"
		"\techo \"llmbench slurm: merged run in $DIR/merged-$job.db, report in $DIR/report-$job\"\n"
		"fi\n");
	if (out) {
		FILE *f = fopen(out, "w");

		if (!f || fputs(sb.buf, f) == EOF || fclose(f)) {
			rc = lb_error_set(&err, LB_ERR_IO, "cannot write '%s': %s", out,
					  strerror(errno));
			rc = cmd_fail(&err);
			goto done;
		}
		if (chmod(out, 0755))
			cmd_warn("cannot make '%s' executable: %s", out, strerror(errno));
	} else {
		fputs(sb.buf, stdout);
	}
	rc = 0;
	goto done;
oom:
	fprintf(stderr, "llmbench: error: out of memory\n");
	rc = 3;
done:
	for (i = 0; sb_opts && i < n_sb; i++)
		if (sb_opts[i] && sb_opts[i][0] == '-' && sb_opts[i][1] != '-' &&
		    strchr(sb_opts[i], ' '))
			free(sb_opts[i]);
	free(sb_opts);
	free(sets);
	free(awl);
	free(adir);
	strbuf_release(&sb);
	strbuf_release(&runargs);
	workload_release(&wl);
	return rc;
}
