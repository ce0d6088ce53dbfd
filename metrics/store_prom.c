/* store_prom.c: the SQL of store_prom.h (the server_scrapes table; samples go to series). */
#include "store_prom.h"

#include "../base/strbuf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* 'server:' + name + {k="v",...} with the exposition format's escapes. */
static void series_name(struct strbuf *sb, const struct prom_sample *smp)
{
	size_t i;

	strbuf_reset(sb);
	strbuf_addf(sb, "server:%s", smp->name);
	if (!smp->n_labels)
		return;
	strbuf_addch(sb, '{');
	for (i = 0; i < smp->n_labels; i++) {
		const char *v = smp->labels[i].value;

		strbuf_addf(sb, "%s%s=\"", i ? "," : "", smp->labels[i].name);
		for (; *v; v++) {
			if (*v == '\\' || *v == '"')
				strbuf_addch(sb, '\\');
			if (*v == '\n')
				strbuf_adds(sb, "\\n");
			else
				strbuf_addch(sb, *v);
		}
		strbuf_addch(sb, '"');
	}
	strbuf_addch(sb, '}');
}

int store_server_scrape_add(struct store *s, int64_t run_id, int64_t backend_id, int64_t level_id,
			    const char *url, const struct prom_scrape *sc, struct lb_error *err)
{
	static const char sql[] =
		"INSERT INTO server_scrapes (run_id, backend_id, level_id, t_ns, url, ok, reason, "
		"n_samples, duration_ms, server) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	char run[24], be[24], lv[24], t[24], ok[4], ns[24], dur[32];
	const char *params[10];
	struct strbuf name = STRBUF_INIT;
	size_t i;
	int rc;

	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	snprintf(be, sizeof(be), "%lld", (long long)backend_id);
	snprintf(lv, sizeof(lv), "%lld", (long long)level_id);
	snprintf(t, sizeof(t), "%llu", (unsigned long long)sc->t_ns);
	snprintf(ok, sizeof(ok), "%d", sc->ok ? 1 : 0);
	snprintf(ns, sizeof(ns), "%zu", sc->doc.n);
	snprintf(dur, sizeof(dur), "%.3f", sc->dur_ms);
	params[0] = run;
	params[1] = be;
	params[2] = lv;
	params[3] = t;
	params[4] = url;
	params[5] = ok;
	params[6] = sc->ok ? NULL : sc->reason;
	params[7] = sc->ok ? ns : NULL;
	params[8] = dur;
	params[9] = sc->ok && sc->fig.server && sc->fig.server[0] ? sc->fig.server : NULL;
	rc = store_exec(s, sql, params, 10, err);
	for (i = 0; !rc && sc->ok && i < sc->doc.n; i++) {
		const struct prom_sample *smp = &sc->doc.v[i];

		if (!isfinite(smp->value))
			continue; /* NaN/Inf are not figures; the scrape row keeps the count */
		series_name(&name, smp);
		rc = store_series_add(s, run_id, backend_id, level_id, name.buf, sc->t_ns,
				      smp->value, err);
	}
	strbuf_release(&name);
	return rc;
}
