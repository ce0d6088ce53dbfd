/* fuzz_trace.c: libFuzzer target for the trace loader and its summary (datasets/trace.c):
 * traces come from outside (Mooncake files, anyone's timestamped JSONL).
 *
 * Input: byte 0 picks the block size (1 + b % 600); the rest is the file. A load that fails
 * must say why; one that succeeds must be sorted, its hash ids must fit their input lengths,
 * and the summary must not crash. Needs: datasets/trace.c datasets/lineread.c
 * metrics/stats.c base/strbuf.c base/alloc.c base/error.c (or the whole
 * build-fuzz/libllmbench.a); links -lcjson -lm. */
#include "../../datasets/trace.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace t;
	struct trace_stats st;
	struct lb_error err = LB_ERROR_INIT;
	long block;
	size_t i;
	FILE *f;

	if (size < 1)
		return 0;
	block = 1 + data[0] % 600;
	if (!path[0]) {
		int fd;

		snprintf(path, sizeof(path), "/tmp/llmbench-fuzz-trace.XXXXXX");
		fd = mkstemp(path);
		if (fd < 0)
			abort();
		close(fd);
	}
	f = fopen(path, "wb");
	if (!f || (size > 1 && fwrite(data + 1, 1, size - 1, f) != size - 1))
		abort();
	fclose(f);
	if (trace_load(path, block, 0, &t, &err)) {
		if (!err.msg[0] || t.n)
			abort();
		return 0;
	}
	for (i = 0; i < t.n; i++) {
		if (i && t.v[i].ts_ms < t.v[i - 1].ts_ms)
			abort();
		if (t.v[i].n_hash && (long)t.v[i].n_hash > (t.v[i].in + block - 1) / block)
			abort();
	}
	if (trace_stats(&t, &st, &err) == 0 && st.hit_rate > 1.0000001)
		abort();
	trace_free(&t);
	return 0;
}
