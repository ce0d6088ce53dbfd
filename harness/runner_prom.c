/* runner_prom.c: the server's own metrics beside the client's (docs/traffic.md). With the
 * workload's "server_metrics" section, a scraper (metrics/prom_scrape.h) runs during each level
 * of an OpenAI backend; at the level's end its scrapes are stored (server_scrapes + series) and
 * summarized into level figures (server_running_mean, server_prefix_cache_hit_rate,
 * server_ttft_p50_ms, ...), each a value or "unavailable: <reason>". A server that cannot be
 * scraped never stops the run. */
#include "runner_prom.h"

#include "../base/alloc.h"
#include "../metrics/store_prom.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static const char *const keys[] = { "url", "interval_ms", "timeout_ms", NULL };

int runner_prom_config(const char *json, struct runner_prom_cfg *cfg, struct lb_error *err)
{
	cJSON *j;
	const cJSON *e;
	int rc = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->interval_ms = 1000;
	cfg->timeout_ms = 2000;
	if (!json)
		return 0;
	j = cJSON_Parse(json);
	if (cJSON_IsTrue(j) || cJSON_IsFalse(j)) {
		cfg->enabled = cJSON_IsTrue(j);
		cJSON_Delete(j);
		return 0;
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return lb_error_set(err, LB_ERR_USAGE,
				    "server_metrics: expected true, false or an object "
				    "{\"url\", \"interval_ms\", \"timeout_ms\"}");
	}
	cfg->enabled = true;
	cJSON_ArrayForEach(e, j)
	{
		size_t k;

		for (k = 0; keys[k] && strcmp(keys[k], e->string); k++)
			;
		if (!keys[k]) {
			rc = lb_error_set(
				err, LB_ERR_USAGE,
				"server_metrics: unknown key '%s' (valid: url, interval_ms, "
				"timeout_ms)",
				e->string);
			goto out;
		}
		if (!strcmp(e->string, "url")) {
			if (!cJSON_IsString(e) || strncmp(e->valuestring, "http", 4)) {
				rc = lb_error_set(err, LB_ERR_USAGE,
						  "server_metrics.url: expected an http(s) URL");
				goto out;
			}
			snprintf(cfg->url, sizeof(cfg->url), "%s", e->valuestring);
		} else {
			double v = cJSON_IsNumber(e) ? e->valuedouble : -1;

			if (v < 10 || v > 3600000 || v != (double)(long)v) {
				rc = lb_error_set(
					err, LB_ERR_USAGE,
					"server_metrics.%s: expected whole ms in 10..3600000",
					e->string);
				goto out;
			}
			if (!strcmp(e->string, "interval_ms"))
				cfg->interval_ms = (unsigned)v;
			else
				cfg->timeout_ms = (unsigned)v;
		}
	}
out:
	cJSON_Delete(j);
	return rc;
}

void runner_prom_url(const struct runner_prom_cfg *cfg, const char *base_url, char *out, size_t cap)
{
	const char *p, *root_end;

	if (cfg->url[0]) {
		snprintf(out, cap, "%s", cfg->url);
		return;
	}
	/* the URL root: scheme://host[:port], without the path (".../v1") */
	p = strstr(base_url ? base_url : "", "://");
	root_end = p ? strchr(p + 3, '/') : NULL;
	if (!base_url)
		out[0] = 0;
	else if (root_end)
		snprintf(out, cap, "%.*s/metrics", (int)(root_end - base_url), base_url);
	else
		snprintf(out, cap, "%s/metrics", base_url);
}

int runner_prom_begin(struct runner_prom *rp, const struct runner_prom_cfg *cfg,
		      const char *base_url, const char *api_key, struct lb_error *err)
{
	struct prom_scrape_cfg sc = { 0 };

	memset(rp, 0, sizeof(*rp));
	if (!cfg->enabled || !base_url)
		return 0;
	runner_prom_url(cfg, base_url, rp->url, sizeof(rp->url));
	sc.url = rp->url;
	sc.interval_ms = cfg->interval_ms;
	sc.timeout_ms = cfg->timeout_ms;
	sc.bearer = api_key;
	return prom_scraper_start(&rp->scraper, &sc, err);
}

int runner_prom_end(struct runner_prom *rp, struct store *st, int64_t run_id, int64_t backend_id,
		    int64_t level_id, uint64_t t0_ns, uint64_t t1_ns, struct lb_error *err)
{
	const struct prom_scrape *v;
	struct prom_summary sum;
	size_t n, i;
	int rc = 0;

	if (!rp->scraper)
		return 0;
	prom_scraper_stop(rp->scraper);
	v = prom_scraper_scrapes(rp->scraper, &n);
	for (i = 0; i < n && !rc; i++)
		rc = store_server_scrape_add(st, run_id, backend_id, level_id, rp->url, &v[i], err);
	(void)t1_ns; /* the scraper lives for this level only: its last scrape, taken at the
		      * stop above, closes the window (it sees every reply of the level) */
	prom_summarize(v, n, t0_ns, UINT64_MAX, &sum);
	rp->n_scrapes = sum.n_scrapes;
	rp->n_ok = sum.n_ok;
	for (i = 0; i < PROM_SUM_COUNT && !rc; i++) {
		struct store_summary sm = { 0 };

		sm.run_id = run_id;
		sm.backend_id = backend_id;
		sm.level_id = level_id;
		sm.metric = prom_sum_name((enum prom_sum)i);
		sm.has_value = sum.ok[i];
		sm.value = sum.value[i];
		sm.n = sum.ok[i] ? sum.n[i] : -1;
		sm.unit = prom_sum_unit((enum prom_sum)i);
		sm.provenance = sum.server[0] ? sum.server : "server metrics";
		sm.note = sum.ok[i] ? NULL : sum.reason[i];
		rc = store_summary_put(st, &sm, err);
	}
	prom_scraper_free(rp->scraper);
	rp->scraper = NULL;
	return rc;
}

void runner_prom_abort(struct runner_prom *rp)
{
	prom_scraper_free(rp->scraper);
	rp->scraper = NULL;
}
