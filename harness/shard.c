/* shard.c: shard specs, the engines' variables, the split of a workload and the clock anchor
 * (see shard.h). */
#include "shard.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

/* A whole decimal number in [lo, hi]; 0 on success. */
static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int env_int(const char *name, long lo, long hi, long *out, bool *present,
		   struct lb_error *err)
{
	const char *v = getenv(name);

	*present = v && *v;
	if (!*present)
		return 0;
	if (parse_int(v, lo, hi, out))
		return lb_error_set(err, LB_ERR_USAGE,
				    "--shard auto: %s='%s' is not a whole number in [%ld, %ld]", name,
				    v, lo, hi);
	return 0;
}

static int check_range(long k, long n, const char *what, struct lb_error *err)
{
	if (n < 1 || n > SHARD_MAX)
		return lb_error_set(err, LB_ERR_USAGE, "%s: shard count %ld out of range (1 to %d)",
				    what, n, SHARD_MAX);
	if (k < 0 || k >= n)
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: shard %ld out of range for %ld shards (0-based: 0 to %ld)",
				    what, k, n, n - 1);
	return 0;
}

static int from_env(int shards, struct shard_spec *out, struct lb_error *err)
{
	long id, count, min = 0, procid, ntasks, idx, n;
	bool have_id, have_count, have_min, have_proc, have_ntasks, have_idx, have_n;
	int rc;

	if ((rc = env_int("SLURM_ARRAY_TASK_ID", 0, 100000000, &id, &have_id, err)) ||
	    (rc = env_int("SLURM_ARRAY_TASK_COUNT", 1, SHARD_MAX, &count, &have_count, err)) ||
	    (rc = env_int("SLURM_ARRAY_TASK_MIN", 0, 100000000, &min, &have_min, err)) ||
	    (rc = env_int("SLURM_PROCID", 0, SHARD_MAX, &procid, &have_proc, err)) ||
	    (rc = env_int("SLURM_NTASKS", 1, SHARD_MAX, &ntasks, &have_ntasks, err)) ||
	    (rc = env_int("JOB_COMPLETION_INDEX", 0, SHARD_MAX, &idx, &have_idx, err)) ||
	    (rc = env_int("LLMBENCH_SHARDS", 1, SHARD_MAX, &n, &have_n, err)))
		return rc;
	if (have_id) {
		if (!have_count)
			return lb_error_set(err, LB_ERR_USAGE,
					    "--shard auto: SLURM_ARRAY_TASK_ID is set but "
					    "SLURM_ARRAY_TASK_COUNT is not (Slurm 20.11 or later sets it)");
		out->k = (int)(id - (have_min ? min : 0));
		out->n = (int)count;
		out->source = "slurm array";
		return check_range(out->k, out->n, "--shard auto (SLURM_ARRAY_TASK_ID - "
						   "SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT)", err);
	}
	if (have_idx) {
		if (shards > 0)
			n = shards;
		else if (!have_n)
			return lb_error_set(err, LB_ERR_USAGE,
					    "--shard auto: JOB_COMPLETION_INDEX is set but the shard count "
					    "is not: give --shards N or set LLMBENCH_SHARDS");
		out->k = (int)idx;
		out->n = (int)n;
		out->source = "kubernetes";
		return check_range(out->k, out->n, "--shard auto (JOB_COMPLETION_INDEX)", err);
	}
	if (have_proc && have_ntasks) {
		out->k = (int)procid;
		out->n = (int)ntasks;
		out->source = "slurm tasks";
		return check_range(out->k, out->n, "--shard auto (SLURM_PROCID of SLURM_NTASKS)", err);
	}
	return lb_error_set(err, LB_ERR_USAGE,
			    "--shard auto: no engine variables: expected SLURM_ARRAY_TASK_ID and "
			    "SLURM_ARRAY_TASK_COUNT, SLURM_PROCID and SLURM_NTASKS, or "
			    "JOB_COMPLETION_INDEX (with --shards N)");
}

int shard_parse(const char *spec, int shards, struct shard_spec *out, struct lb_error *err)
{
	char kbuf[32];
	const char *slash;
	long k, n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!spec)
		return lb_error_set(err, LB_ERR_USAGE, "--shard: expected K/N or auto");
	if (!strcmp(spec, "auto")) {
		rc = from_env(shards, out, err);
		if (rc)
			memset(out, 0, sizeof(*out));
		else if (shards > 0 && shards != out->n)
			rc = lb_error_set(err, LB_ERR_USAGE,
					  "--shard auto: the engine says %d shards (%s) but --shards "
					  "says %d",
					  out->n, out->source, shards);
		return rc;
	}
	slash = strchr(spec, '/');
	if (!slash || (size_t)(slash - spec) >= sizeof(kbuf))
		return lb_error_set(err, LB_ERR_USAGE,
				    "--shard '%s': expected K/N (0-based K, e.g. 0/4) or auto", spec);
	memcpy(kbuf, spec, (size_t)(slash - spec));
	kbuf[slash - spec] = 0;
	if (parse_int(kbuf, -1000000000L, 1000000000L, &k) ||
	    parse_int(slash + 1, -1000000000L, 1000000000L, &n))
		return lb_error_set(err, LB_ERR_USAGE,
				    "--shard '%s': expected K/N with whole numbers (0-based K, e.g. "
				    "0/4) or auto",
				    spec);
	rc = check_range(k, n, "--shard", err);
	if (rc)
		return rc;
	if (shards > 0 && shards != n)
		return lb_error_set(err, LB_ERR_USAGE, "--shard %s disagrees with --shards %d", spec,
				    shards);
	out->k = (int)k;
	out->n = (int)n;
	out->source = "option";
	return 0;
}

const char *shard_group(const char *fallback)
{
	static const char *const vars[] = { "LLMBENCH_SHARD_GROUP", "SLURM_ARRAY_JOB_ID",
					    "SLURM_JOB_ID" };
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return v;
	}
	return fallback;
}

int shard_parse_start_at(const char *s, uint64_t now_wall_ns, uint64_t *wall_ns,
			 struct lb_error *err)
{
	double secs;
	char *end;

	if (!s || !*s)
		return lb_error_set(err, LB_ERR_USAGE, "--start-at: expected a UTC time "
						       "(2026-12-06T21:30:00Z) or @EPOCH seconds");
	if (s[0] == '@') {
		errno = 0;
		secs = strtod(s + 1, &end);
		if (errno || *end || end == s + 1 || !(secs > 0) || secs > 1e11)
			return lb_error_set(err, LB_ERR_USAGE,
					    "--start-at '%s': expected @EPOCH seconds, e.g. @1765056600",
					    s);
	} else {
		struct tm tm;
		const char *p;
		double frac = 0;

		memset(&tm, 0, sizeof(tm));
		p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
		if (p && *p == '.') {
			errno = 0;
			frac = strtod(p, &end);
			p = errno ? NULL : end;
		}
		if (!p || strcmp(p, "Z"))
			return lb_error_set(err, LB_ERR_USAGE,
					    "--start-at '%s': expected a UTC time like "
					    "2026-12-06T21:30:00Z or @EPOCH seconds",
					    s);
		secs = (double)timegm(&tm) + frac;
		if (!(secs > 0))
			return lb_error_set(err, LB_ERR_USAGE, "--start-at '%s': not a valid time", s);
	}
	*wall_ns = (uint64_t)llround(secs * 1e9);
	if (*wall_ns <= now_wall_ns)
		return lb_error_set(err, LB_ERR_USAGE,
				    "--start-at '%s' is in the past (%.3f s ago): the shards of a "
				    "split load must start together at a time still to come",
				    s, (double)(now_wall_ns - *wall_ns) / 1e9);
	return 0;
}

long shard_share(long total, const struct shard_spec *s)
{
	if (!s || s->n <= 1 || total <= 0)
		return total;
	return total / s->n + (s->k < total % s->n ? 1 : 0);
}

double shard_rate(double rate, const struct shard_spec *s)
{
	if (!s || s->n <= 1)
		return rate;
	return rate / s->n;
}

uint64_t shard_seed(uint64_t seed, const struct shard_spec *s)
{
	uint64_t z;

	if (!s || s->n <= 1)
		return seed;
	z = seed + 0x9e3779b97f4a7c15ull * (uint64_t)(s->k + 1);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

bool shard_owns(size_t i, const struct shard_spec *s)
{
	if (!s || s->n <= 1)
		return true;
	return i % (size_t)s->n == (size_t)s->k;
}

static uint64_t ts_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec;
}

void shard_clock_anchor(struct shard_clock *c)
{
	struct timex tx;
	int i, st;

	memset(c, 0, sizeof(*c));
	c->read_gap_ns = UINT64_MAX;
	for (i = 0; i < 5; i++) {
		struct timespec m1, r, m2;
		uint64_t gap;

		clock_gettime(CLOCK_MONOTONIC, &m1);
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &m2);
		gap = ts_ns(&m2) - ts_ns(&m1);
		if (gap < c->read_gap_ns) {
			c->read_gap_ns = gap;
			c->monotonic_ns = ts_ns(&m1) + gap / 2;
			c->realtime_ns = ts_ns(&r);
		}
	}
	memset(&tx, 0, sizeof(tx)); /* modes 0: read only, no privilege needed */
	st = adjtimex(&tx);
	if (st >= 0) {
		c->have_adj = true;
		c->synced = st != TIME_ERROR && !(tx.status & STA_UNSYNC);
		c->esterror_us = tx.esterror;
		c->maxerror_us = tx.maxerror;
	}
}

uint64_t shard_wall_to_mono(const struct shard_clock *c, uint64_t wall_ns)
{
	int64_t d = (int64_t)(wall_ns - c->realtime_ns);

	if (d < 0 && (uint64_t)(-d) > c->monotonic_ns)
		return 0;
	return (uint64_t)((int64_t)c->monotonic_ns + d);
}
