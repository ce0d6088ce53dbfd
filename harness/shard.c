/* shard.c: shard specs, the engines' variables, the split of a workload and the clock anchor
 * (see shard.h). */
#include "shard.h"

#include "../base/alloc.h"
#include "../base/clock.h"
#include "../datasets/dataset.h"
#include "../datasets/sessions.h"
#include "../metrics/store_merge.h"
#include "workload.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
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
				    "--shard auto: %s='%s' is not a whole number in [%ld, %ld]",
				    name, v, lo, hi);
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
			return lb_error_set(
				err, LB_ERR_USAGE,
				"--shard auto: SLURM_ARRAY_TASK_ID is set but "
				"SLURM_ARRAY_TASK_COUNT is not (Slurm 20.11 or later sets it)");
		out->k = (int)(id - (have_min ? min : 0));
		out->n = (int)count;
		out->source = "slurm array";
		return check_range(out->k, out->n,
				   "--shard auto (SLURM_ARRAY_TASK_ID - "
				   "SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT)",
				   err);
	}
	if (have_idx) {
		if (shards > 0)
			n = shards;
		else if (!have_n)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"--shard auto: JOB_COMPLETION_INDEX is set but the shard count "
				"is not: give --shards N or set LLMBENCH_SHARDS");
		out->k = (int)idx;
		out->n = (int)n;
		out->source = "kubernetes";
		return check_range(out->k, out->n, "--shard auto (JOB_COMPLETION_INDEX)", err);
	}
	if (have_proc != have_ntasks)
		return lb_error_set(
			err, LB_ERR_USAGE,
			"--shard auto: %s is set but %s is not (a Slurm step of several "
			"tasks sets both)",
			have_proc ? "SLURM_PROCID" : "SLURM_NTASKS",
			have_proc ? "SLURM_NTASKS" : "SLURM_PROCID");
	if (have_proc && have_ntasks) {
		out->k = (int)procid;
		out->n = (int)ntasks;
		out->source = "slurm tasks";
		return check_range(out->k, out->n, "--shard auto (SLURM_PROCID of SLURM_NTASKS)",
				   err);
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
			rc = lb_error_set(
				err, LB_ERR_USAGE,
				"--shard auto: the engine says %d shards (%s) but --shards "
				"says %d",
				out->n, out->source, shards);
		return rc;
	}
	slash = strchr(spec, '/');
	if (!slash || (size_t)(slash - spec) >= sizeof(kbuf))
		return lb_error_set(err, LB_ERR_USAGE,
				    "--shard '%s': expected K/N (0-based K, e.g. 0/4) or auto",
				    spec);
	memcpy(kbuf, spec, (size_t)(slash - spec));
	kbuf[slash - spec] = 0;
	if (parse_int(kbuf, -1000000000L, 1000000000L, &k) ||
	    parse_int(slash + 1, -1000000000L, 1000000000L, &n))
		return lb_error_set(
			err, LB_ERR_USAGE,
			"--shard '%s': expected K/N with whole numbers (0-based K, e.g. "
			"0/4) or auto",
			spec);
	rc = check_range(k, n, "--shard", err);
	if (rc)
		return rc;
	if (shards > 0 && shards != n)
		return lb_error_set(err, LB_ERR_USAGE, "--shard %s disagrees with --shards %d",
				    spec, shards);
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

#define SHARD_START_MAX_S (7 * 86400)

int shard_parse_start_at(const char *s, uint64_t now_wall_ns, uint64_t *wall_ns,
			 struct lb_error *err)
{
	double secs;
	char *end;

	if (!s || !*s)
		return lb_error_set(err, LB_ERR_USAGE,
				    "--start-at: expected a UTC time "
				    "(2026-12-06T21:30:00Z) or @EPOCH seconds");
	if (s[0] == '@') {
		errno = 0;
		secs = strtod(s + 1, &end);
		if (errno || *end || end == s + 1 || !(secs > 0) || secs > 1e11)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"--start-at '%s': expected @EPOCH seconds, e.g. @1765056600", s);
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
			return lb_error_set(err, LB_ERR_USAGE, "--start-at '%s': not a valid time",
					    s);
	}
	*wall_ns = (uint64_t)llround(secs * 1e9);
	if (*wall_ns <= now_wall_ns)
		return lb_error_set(err, LB_ERR_USAGE,
				    "--start-at '%s' is in the past (%.3f s ago): the shards of a "
				    "split load must start together at a time still to come",
				    s, (double)(now_wall_ns - *wall_ns) / 1e9);
	/* a queue may hold shards for hours, not for years: a typo, not a plan */
	if (*wall_ns - now_wall_ns > SHARD_START_MAX_S * 1000000000ull)
		return lb_error_set(err, LB_ERR_USAGE,
				    "--start-at '%s' is %.1f days away: at most %d days ahead "
				    "(a time still to come, when every shard will have started)",
				    s, (double)(*wall_ns - now_wall_ns) / 86400e9,
				    SHARD_START_MAX_S / 86400);
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

static bool split_load(const struct shard_run *r)
{
	return r->spec.n > 1 && r->spec.split == SHARD_SPLIT_LOAD;
}

int shard_run_init(struct shard_run *r, const struct shard_spec *spec, const struct workload *wl,
		   uint64_t start_wall_ns, bool rendezvous, double window_s, const char *group,
		   struct lb_error *err)
{
	const struct wl_load *ld = &wl->load;
	struct shard_spec sp = *spec, last;
	size_t i;

	memset(r, 0, sizeof(*r));
	sp.split = wl->n_backends > 1 ? SHARD_SPLIT_CELL : SHARD_SPLIT_LOAD;
	r->spec = sp;
	last = sp;
	r->group = group;
	r->start_wall_ns = start_wall_ns;
	if (start_wall_ns)
		lb_iso8601(start_wall_ns, r->start_at, sizeof(r->start_at));
	if (sp.split == SHARD_SPLIT_CELL) {
		if ((size_t)sp.n > wl->n_backends)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"--shard %d/%d: the workload's matrix has %zu backends and is "
				"split by cell, so it takes at most %zu shards",
				sp.k, sp.n, wl->n_backends, wl->n_backends);
	} else if (sp.n > 1) {
		bool users = !strcmp(ld->mode, "concurrency") || !strcmp(ld->mode, "sessions");

		if (!users && strcmp(ld->mode, "rate") && strcmp(ld->mode, "session_rate"))
			return lb_error_set(
				err, LB_ERR_USAGE,
				"--shard %d/%d: a split load supports load modes concurrency, "
				"rate, sessions and session_rate, not %s",
				sp.k, sp.n, ld->mode);
		if (!start_wall_ns && !rendezvous)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"--shard %d/%d: the shards of a split load start together: give "
				"--start-at (or LLMBENCH_START_AT) with a time still to come, or "
				"--rendezvous DIR",
				sp.k, sp.n);
		if (window_s <= 0 && ld->duration_s > 0)
			window_s = ld->duration_s +
				   (ld->duration_s * 0.25 > 2 ? ld->duration_s * 0.25 : 2) +
				   (ld->warmup_s > 0 ? ld->warmup_s : 0);
		if (window_s <= 0 && (ld->n_levels > 1 || ld->repeat > 1))
			return lb_error_set(
				err, LB_ERR_USAGE,
				"--shard %d/%d: the levels of a split load are bounded by time "
				"to stay in step: set load.duration_s or give --level-window S",
				sp.k, sp.n);
		/* judged for the run, not this shard: every shard refuses what leaves the last
		 * one (the smallest share) idle, so none runs alone */
		last.k = sp.n - 1;
		for (i = 0; i < ld->n_levels; i++)
			if (users && shard_share((long)ld->levels[i], &last) < 1)
				return lb_error_set(err, LB_ERR_USAGE,
						    "--shard %d/%d: %s %g split over %d shards "
						    "leaves shard %d no %s: use at most %g shards",
						    sp.k, sp.n,
						    ld->sessions_mode ? "users" : "concurrency",
						    ld->levels[i], sp.n, last.k,
						    ld->sessions_mode ? "user" : "stream",
						    ld->levels[i]);
		if (ld->sessions > 0 && shard_share(ld->sessions, &last) < 1)
			return lb_error_set(err, LB_ERR_USAGE,
					    "--shard %d/%d: %ld sessions per level split over %d "
					    "shards leaves shard %d none",
					    sp.k, sp.n, ld->sessions, sp.n, last.k);
		if (ld->requests > 0 && shard_share(ld->requests, &last) < 1)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"--shard %d/%d: %ld requests per level split over %d shards "
				"leaves shard %d none",
				sp.k, sp.n, ld->requests, sp.n, last.k);
	}
	r->window_s = window_s;
	shard_clock_anchor(&r->clock);
	return 0;
}

int shard_check_plan(const struct workload *wl, int n, double window_s, struct lb_error *err)
{
	struct shard_spec sp = { 0, n, "option", SHARD_SPLIT_LOAD };
	struct shard_run r;
	const char *colon;
	char msg[LB_ERROR_MSG_MAX];

	if (!shard_run_init(&r, &sp, wl, 0, true, window_s, NULL, err))
		return 0;
	/* "--shard 0/N: why" is what every shard would say: "--shards N: why" */
	colon = strstr(err->msg, ": ");
	snprintf(msg, sizeof(msg), "%s", colon ? colon + 2 : err->msg);
	return lb_error_set(err, LB_ERR_USAGE, "--shards %d: %s", n, msg);
}

int shard_workload(const struct workload *wl, const struct shard_run *r, struct workload *out,
		   struct lb_error *err)
{
	size_t i, n = 0;

	*out = *wl;
	out->priv = NULL; /* the copy owns only the two arrays below */
	out->backends = NULL;
	out->load.levels = NULL;
	out->backends = lb_calloc(wl->n_backends ? wl->n_backends : 1, sizeof(*out->backends));
	out->load.levels = lb_calloc(wl->load.n_levels ? wl->load.n_levels : 1, sizeof(double));
	if (!out->backends || !out->load.levels) {
		shard_workload_release(out);
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < wl->n_backends; i++)
		if (r->spec.split != SHARD_SPLIT_CELL || shard_owns(i, &r->spec))
			out->backends[n++] = wl->backends[i];
	out->n_backends = n;
	for (i = 0; i < wl->load.n_levels; i++)
		out->load.levels[i] = wl->load.levels[i];
	if (split_load(r)) {
		for (i = 0; i < wl->load.n_levels; i++)
			out->load.levels[i] =
				!strcmp(wl->load.mode, "rate") ||
						!strcmp(wl->load.mode, "session_rate")
					? shard_rate(wl->load.levels[i], &r->spec)
					: (double)shard_share((long)wl->load.levels[i], &r->spec);
		out->load.requests = shard_share(wl->load.requests, &r->spec);
		out->load.sessions = shard_share(wl->load.sessions, &r->spec);
		out->load.warmup = shard_share(wl->load.warmup, &r->spec);
		out->load.cooldown = shard_share(wl->load.cooldown, &r->spec);
		out->load.seed = shard_seed(wl->load.seed, &r->spec);
		if (wl->load.max_inflight > 0) {
			out->load.max_inflight = shard_share(wl->load.max_inflight, &r->spec);
			if (out->load.max_inflight < 1)
				out->load.max_inflight = 1;
		}
	}
	return 0;
}

void shard_workload_release(struct workload *w)
{
	lb_free(w->backends);
	lb_free(w->load.levels);
	w->backends = NULL;
	w->load.levels = NULL;
}

void shard_items(struct lb_items *items, const struct shard_run *r)
{
	size_t i, k = 0;

	if (!split_load(r))
		return;
	for (i = 0; i < items->n; i++) {
		if (shard_owns(i, &r->spec)) {
			items->v[k++] = items->v[i];
			continue;
		}
		lb_item_free(items, &items->v[i]);
	}
	items->n = k;
}

void shard_sessions(struct lb_sessions *convs, const struct shard_run *r)
{
	if (split_load(r))
		sessions_partition(convs, (size_t)r->spec.k, (size_t)r->spec.n);
}

long shard_item_index(long local, const struct shard_run *r)
{
	if (!r || !split_load(r))
		return local;
	return local * r->spec.n + r->spec.k;
}

int shard_record(struct store *st, int64_t run_id, const struct shard_run *r, const char *host,
		 struct lb_error *err)
{
	struct store_shard sh = {
		.shard = r->spec.k,
		.n_shards = r->spec.n,
		.group = r->group,
		.split = r->spec.split == SHARD_SPLIT_CELL ? "cell" : "load",
		.engine = r->spec.source,
		.host = host,
		.start_at = r->start_at[0] ? r->start_at : NULL,
		.anchor_realtime_ns = r->clock.realtime_ns,
		.anchor_monotonic_ns = r->clock.monotonic_ns,
		.anchor_read_gap_ns = r->clock.read_gap_ns,
		.have_adj = r->clock.have_adj,
		.synced = r->clock.synced,
		.esterror_us = r->clock.esterror_us,
		.maxerror_us = r->clock.maxerror_us,
	};

	return store_shard_put(st, run_id, &sh, err);
}

void shard_level_begin(struct shard_run *r, volatile sig_atomic_t *stop)
{
	uint64_t start, now;

	r->late[0] = 0;
	r->level_end_mono = 0;
	if (!r->start_wall_ns || !split_load(r)) {
		r->level_no++;
		return;
	}
	start = shard_wall_to_mono(
		&r->clock, r->start_wall_ns + (uint64_t)llround(r->level_no * r->window_s * 1e9));
	if (r->window_s > 0)
		r->level_end_mono = start + (uint64_t)llround(r->window_s * 1e9);
	r->level_no++;
	while ((now = lb_now_ns()) < start && !(stop && *stop)) {
		uint64_t step = start - now > 100000000u ? now + 100000000u : start;

		lb_sleep_until_ns(step);
	}
	now = lb_now_ns();
	if (now > start + 100000000u)
		snprintf(r->late, sizeof(r->late),
			 "shard %d/%d began the level %.3f s after its common start (the previous "
			 "level overran its window)",
			 r->spec.k, r->spec.n, (double)(now - start) / 1e9);
}

bool shard_level_end(struct shard_run *r, char *reason, size_t len)
{
	uint64_t now = lb_now_ns();

	if (r->late[0]) {
		snprintf(reason, len, "%s", r->late);
		return false;
	}
	if (r->level_end_mono && now > r->level_end_mono) {
		snprintf(
			reason, len,
			"shard %d/%d ended the level %.3f s after its window of %.3f s closed: the "
			"shards were out of step",
			r->spec.k, r->spec.n, (double)(now - r->level_end_mono) / 1e9, r->window_s);
		return false;
	}
	return true;
}

/* The wall time shard k wrote into its ready file, or 0 while it is not there (or partial). */
static uint64_t ready_time(const char *dir, int k)
{
	char path[4200], buf[64];
	FILE *f;
	size_t n;
	uint64_t v = 0;
	char *end;

	snprintf(path, sizeof(path), "%s/ready-%d", dir, k);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end == buf || *end != '\n')
		return 0;
	return v;
}

int shard_rendezvous(struct shard_run *r, const char *dir, double timeout_s,
		     volatile sig_atomic_t *stop, struct lb_error *err)
{
	char tmp[4200], path[4200], line[32];
	uint64_t deadline = lb_now_ns() + (uint64_t)(timeout_s * 1e9), latest, *seen;
	int fd, k, arrived;
	ssize_t len;

	if (mkdir(dir, 0777) && errno != EEXIST)
		return lb_error_set(err, LB_ERR_IO, "--rendezvous: cannot create '%s': %s", dir,
				    strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s/.ready-%d.%ld", dir, r->spec.k, (long)getpid());
	snprintf(path, sizeof(path), "%s/ready-%d", dir, r->spec.k);
	len = snprintf(line, sizeof(line), "%llu\n", (unsigned long long)lb_wall_ns());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (fd < 0 || write(fd, line, (size_t)len) != len || fsync(fd) || close(fd) ||
	    rename(tmp, path)) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return lb_error_set(err, LB_ERR_IO, "--rendezvous: cannot write '%s': %s", path,
				    strerror(e));
	}
	seen = lb_calloc((size_t)r->spec.n, sizeof(*seen));
	if (!seen)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	for (arrived = 0, latest = 0;;) {
		/* a shard seen once is not read again: N shards cost N reads each, not N per poll */
		for (k = 0; k < r->spec.n; k++) {
			if (seen[k] || !(seen[k] = ready_time(dir, k)))
				continue;
			arrived++;
			if (seen[k] > latest)
				latest = seen[k];
		}
		if (arrived == r->spec.n)
			break;
		if (stop && *stop) {
			lb_free(seen);
			return lb_error_set(
				err, LB_ERR_INTERRUPTED,
				"--rendezvous: interrupted with %d of %d shards arrived", arrived,
				r->spec.n);
		}
		if (lb_now_ns() > deadline) {
			lb_free(seen);
			return lb_error_set(
				err, LB_ERR_IO,
				"--rendezvous '%s': only %d of %d shards arrived within %.0f s",
				dir, arrived, r->spec.n, timeout_s);
		}
		lb_sleep_until_ns(lb_now_ns() + 100000000u);
	}
	lb_free(seen);
	r->start_wall_ns = latest + (uint64_t)(SHARD_RENDEZVOUS_MARGIN_S * 1e9);
	lb_iso8601(r->start_wall_ns, r->start_at, sizeof(r->start_at));
	return 0;
}
