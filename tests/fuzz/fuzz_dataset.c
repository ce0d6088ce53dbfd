/* fuzz_dataset.c: libFuzzer target for the dataset loaders (lines, jsonl, sharegpt).
 *
 * Input: byte 0 picks the loader (% 3: lines, jsonl, sharegpt), byte 1 the limit (% 8, 0: all),
 * the rest is the file, written to a scratch file (the loaders read files).
 * Needs: datasets/dataset.c datasets/lines.c datasets/jsonl.c datasets/sharegpt.c
 * datasets/lineread.c harness/strbuf.c harness/alloc.c harness/error.c; links -lcjson. */
#include "../../datasets/dataset.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const formats[] = { "lines", "jsonl", "sharegpt" };
	struct lb_items items = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	size_t i;
	FILE *f;
	int rc;

	if (size < 2)
		return 0;
	if (!path[0]) {
		int fd;

		snprintf(path, sizeof(path), "/tmp/llmbench-fuzz-dataset.XXXXXX");
		fd = mkstemp(path);
		if (fd < 0)
			abort();
		close(fd);
	}
	f = fopen(path, "wb");
	if (!f)
		abort();
	if (size > 2 && fwrite(data + 2, 1, size - 2, f) != size - 2)
		abort();
	fclose(f);
	rc = dataset_load(path, formats[data[0] % 3], data[1] % 8, &items, &err);
	if (rc && !err.msg[0])
		abort(); /* every error says something */
	if (!rc) {
		if (!items.n || (data[1] % 8 && items.n > (size_t)(data[1] % 8)))
			abort();
		for (i = 0; i < items.n; i++)
			if (!items.v[i].id || !items.v[i].prompt)
				abort();
	}
	lb_items_release(&items);
	return 0;
}
