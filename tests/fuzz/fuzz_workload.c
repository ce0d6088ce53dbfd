/* fuzz_workload.c: libFuzzer target for workload_parse (JSON, validation, --set overrides).
 *
 * Input: workload JSON; if it holds a 0x01 byte, what follows is a list of --set overrides
 * separated by 0x01 ("load.requests=10\x01backends.0.base_url=http://x").
 * Needs: harness/workload.c harness/strbuf.c harness/alloc.c harness/error.c backends/backend.c
 * (and the backend ops tables it references: backends/openai.c backends/llamacpp.c, or the whole
 * build-fuzz/libllmbench.a) datasets/dataset.c datasets/lines.c datasets/jsonl.c
 * datasets/sharegpt.c datasets/lineread.c; links -lcjson. */
#include "../../harness/workload.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SETS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *sets[MAX_SETS];
	struct lb_error err = LB_ERROR_INIT;
	struct workload wl;
	size_t json_len = size, n_sets = 0;
	char *copy = NULL, *p, *sep;

	sep = memchr(data, 0x01, size);
	if (sep) {
		json_len = (size_t)((const uint8_t *)sep - data);
		copy = malloc(size - json_len);
		if (!copy)
			return 0;
		memcpy(copy, data + json_len + 1, size - json_len - 1);
		copy[size - json_len - 1] = 0;
		for (p = copy; n_sets < MAX_SETS;) {
			sets[n_sets++] = p;
			p = strchr(p, 0x01);
			if (!p)
				break;
			*p++ = 0;
		}
	}
	if (!workload_parse(&wl, (const char *)data, json_len, "fuzz/workload.json", sets, n_sets,
			    &err)) {
		/* a valid workload is fully formed */
		if (!wl.name || !wl.text || !wl.n_backends || !wl.load.n_levels)
			abort();
	} else if (!err.msg[0]) {
		abort(); /* every error says something */
	}
	workload_release(&wl);
	free(copy);
	return 0;
}
