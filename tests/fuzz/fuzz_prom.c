/* fuzz_prom.c: libFuzzer target for the Prometheus exposition parser and the figures drawn
 * from it (metrics/prom.c, metrics/prom_map.c): a server's /metrics is outside input.
 *
 * Input: the bytes of a document. It is parsed; a failure must say why and leave nothing; a
 * success must give samples whose names are valid and whose label values are bounded, and
 * figures and quantiles must not crash whatever the buckets say.
 * Needs: metrics/prom.c metrics/prom_map.c base/strbuf.c base/alloc.c base/error.c (or the
 * whole build-fuzz/libllmbench.a). */
#include "../../metrics/prom.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prom_doc d = { 0 };
	struct prom_figures a, b;
	struct lb_error err = LB_ERROR_INIT;
	size_t i, k;

	if (prom_parse((const char *)data, size, &d, &err)) {
		if (!err.msg[0] || d.n || d.v)
			abort();
		return 0;
	}
	for (i = 0; i < d.n; i++) {
		if (!d.v[i].name[0] || strlen(d.v[i].name) > PROM_MAX_NAME ||
		    d.v[i].n_labels > PROM_MAX_LABELS)
			abort();
		for (k = 0; k < d.v[i].n_labels; k++)
			if (strlen(d.v[i].labels[k].value) > PROM_MAX_VALUE)
				abort();
	}
	prom_figures(&d, &a);
	prom_figures(&d, &b);
	(void)prom_hit_rate(&a, &b);
	for (k = 0; k < 2; k++) {
		(void)prom_hist_quantile(NULL, &b.hist[k], 0.5);
		(void)prom_hist_quantile(&a.hist[k], &b.hist[k], 0.99);
	}
	prom_doc_free(&d);
	return 0;
}
