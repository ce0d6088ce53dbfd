/* store_merge_inspect.c: the checks `llmbench merge` makes on its inputs before writing
 * anything (store_merge.h): each is a readable store holding one shard run, all of one workload
 * text, shard count and shard group; a shard given twice is marked. */
#include "store_merge.h"

#include "../base/alloc.h"
#include "store_merge_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

char *merge_dup_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? lb_strdup((const char *)t) : NULL;
}

static int usage_from(struct lb_error *err, const char *path)
{
	if (err->code == LB_ERR_NOMEM)
		return err->code;
	lb_error_prefix(err, "'%s' is not a readable llmbench store (truncated or corrupt?)", path);
	err->code = LB_ERR_USAGE;
	return err->code;
}

static int inspect_one(const char *path, struct merge_input *in, struct merge_plan *plan,
		       bool first, struct lb_error *err)
{
	struct store *s = NULL;
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc, step, n_rows = 0;
	char *wj = NULL;

	memset(in, 0, sizeof(*in));
	in->path = path;
	rc = store_open(&s, path, true, err);
	if (rc) {
		if (err->code != LB_ERR_NOMEM)
			err->code = LB_ERR_USAGE;
		return err->code;
	}
	db = store_db(s);
	st = merge_prep(
		db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'shards'",
		path, err);
	if (!st || sqlite3_step(st) != SQLITE_ROW) {
		rc = st ? merge_sql_fail(db, err, "read", path) : err->code;
		rc = usage_from(err, path);
		goto out;
	}
	if (!sqlite3_column_int(st, 0)) {
		rc = lb_error_set(
			err, LB_ERR_USAGE,
			"'%s' holds no shard of a sharded run (its runs were not run with "
			"--shard)",
			path);
		goto out;
	}
	sqlite3_finalize(st);
	st = merge_prep(
		db,
		"SELECT r.id, r.name, r.status, r.workload_json, r.workload_name, r.workload_path,"
		" r.version, s.shard, s.n_shards, s.shard_group,"
		" s.anchor_realtime_ns - s.anchor_monotonic_ns,"
		" (SELECT count(*) FROM requests q WHERE q.run_id = r.id)"
		" FROM runs r JOIN shards s ON s.run_id = r.id WHERE s.source IS NULL",
		path, err);
	if (!st) {
		rc = usage_from(err, path);
		goto out;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n_rows++)
			continue;
		in->run_id = sqlite3_column_int64(st, 0);
		snprintf(in->run_name, sizeof(in->run_name), "%s",
			 (const char *)sqlite3_column_text(st, 1));
		snprintf(in->status, sizeof(in->status), "%s",
			 (const char *)sqlite3_column_text(st, 2));
		wj = merge_dup_col(st, 3);
		if (first) {
			plan->workload_json = wj;
			wj = NULL;
			plan->workload_name = merge_dup_col(st, 4);
			plan->workload_path = merge_dup_col(st, 5);
			plan->version = merge_dup_col(st, 6);
		}
		in->shard = sqlite3_column_int(st, 7);
		in->n_shards = sqlite3_column_int(st, 8);
		in->have_group = sqlite3_column_type(st, 9) != SQLITE_NULL;
		snprintf(in->group, sizeof(in->group), "%s",
			 in->have_group ? (const char *)sqlite3_column_text(st, 9) : "");
		in->anchor_off_ns = sqlite3_column_int64(st, 10);
		in->rows = (long)sqlite3_column_int64(st, 11);
	}
	if (step != SQLITE_DONE) {
		merge_sql_fail(db, err, "read", path);
		rc = usage_from(err, path);
		goto out;
	}
	if (n_rows != 1) {
		rc = lb_error_set(
			err, LB_ERR_USAGE,
			n_rows ? "'%s' holds %d shard runs: merge takes one shard per store"
			       : "'%s' holds no shard of a sharded run (%d shard rows)",
			path, n_rows);
		goto out;
	}
	if (in->n_shards < 1 || in->shard < 0 || in->shard >= in->n_shards) {
		rc = lb_error_set(err, LB_ERR_USAGE, "'%s': shard %d of %d is out of range", path,
				  in->shard, in->n_shards);
		goto out;
	}
	if (!first && (!plan->workload_json || !wj || strcmp(plan->workload_json, wj))) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "'%s' is a shard of a different workload than '%s' (the stored "
				  "workload texts differ): merge only shards of one run",
				  path, plan->in[0].path);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	lb_free(wj);
	store_close(s);
	return rc;
}

void store_merge_plan_release(struct merge_plan *plan)
{
	lb_free(plan->in);
	lb_free(plan->workload_json);
	lb_free(plan->workload_name);
	lb_free(plan->workload_path);
	lb_free(plan->version);
	memset(plan, 0, sizeof(*plan));
}

int store_merge_inspect(const char *const *paths, size_t n, struct merge_plan *plan,
			struct lb_error *err)
{
	size_t i, j;
	int rc;

	memset(plan, 0, sizeof(*plan));
	if (!n || n > MERGE_MAX_INPUTS)
		return lb_error_set(err, LB_ERR_USAGE, "merge takes 1 to %d input stores, got %zu",
				    MERGE_MAX_INPUTS, n);
	plan->in = lb_calloc(n, sizeof(*plan->in));
	if (!plan->in)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		struct merge_input *in = &plan->in[i];

		rc = inspect_one(paths[i], in, plan, i == 0, err);
		if (rc)
			goto fail;
		plan->n_in++;
		if (i == 0) {
			plan->n_shards = in->n_shards;
			continue;
		}
		if (in->n_shards != plan->n_shards) {
			rc = lb_error_set(
				err, LB_ERR_USAGE,
				"different shard counts: '%s' is shard %d of %d, '%s' shard %d "
				"of %d: merge only shards of one run",
				paths[0], plan->in[0].shard, plan->n_shards, paths[i], in->shard,
				in->n_shards);
			goto fail;
		}
		if (in->have_group != plan->in[0].have_group ||
		    strcmp(in->group, plan->in[0].group)) {
			rc = lb_error_set(
				err, LB_ERR_USAGE,
				"'%s' is not a shard of this run: its shard group is '%s', "
				"'%s' has '%s'",
				paths[i], in->group, paths[0], plan->in[0].group);
			goto fail;
		}
		for (j = 0; j < i; j++)
			if (!plan->in[j].dup && plan->in[j].shard == in->shard) {
				in->dup = true;
				break;
			}
	}
	return 0;
fail:
	store_merge_plan_release(plan);
	return rc;
}
