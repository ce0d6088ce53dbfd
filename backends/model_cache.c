/* model_cache.c: quantized copies of a base GGUF keyed by its content hash. */
#include "model_cache.h"

#include "../base/alloc.h"
#include "gguf_make.h"
#include "llama_common.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef LB_HAVE_LLAMA
#include <gguf.h>
#endif

int model_cache_hash_file(const char *path, uint64_t *hash, struct lb_error *err)
{
	const size_t cap = 1 << 20;
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned char *buf;
	FILE *f = fopen(path, "rb");
	size_t n, i;
	int rc = 0;

	if (!f)
		return lb_error_set(err, LB_ERR_USAGE, "cannot open model '%s': %s", path,
				    strerror(errno));
	buf = lb_malloc(cap);
	if (!buf) {
		fclose(f);
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	while ((n = fread(buf, 1, cap, f)) > 0)
		for (i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ull;
	if (ferror(f))
		rc = lb_error_set(err, LB_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
	fclose(f);
	lb_free(buf);
	if (!rc)
		*hash = h;
	return rc;
}

#ifdef LB_HAVE_LLAMA

/* general.file_type of a GGUF (-1 if absent). */
static int file_type(const char *path)
{
	struct gguf_init_params gp = { .no_alloc = true, .ctx = NULL };
	struct gguf_context *g = gguf_init_from_file(path, gp);
	int64_t id;
	int t = -1;

	if (!g)
		return -1;
	id = gguf_find_key(g, "general.file_type");
	if (id >= 0 && gguf_get_kv_type(g, id) == GGUF_TYPE_UINT32)
		t = (int)gguf_get_val_u32(g, id);
	gguf_free(g);
	return t;
}

int model_cache_get(const char *base_path, const char *quant, const char *cache_dir,
		    char **out_path, struct lb_error *err)
{
	char q[32], *path = NULL;
	uint64_t hash;
	struct stat st;
	size_t i, n;
	int ftype, rc;

	rc = llama_common_gguf_check(base_path, err);
	if (rc)
		return rc;
	if (!quant || !strcmp(quant, "base") ||
	    (ftype = lb_gguf_quant_type(quant)) == file_type(base_path)) {
		*out_path = lb_strdup(base_path);
		return *out_path ? 0 : lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	if (ftype < 0)
		return lb_error_set(err, LB_ERR_USAGE, "unknown quantization type '%s' (known: %s)",
				    quant, lb_gguf_quant_types());
	for (i = 0; quant[i] && i + 1 < sizeof(q); i++)
		q[i] = (char)tolower((unsigned char)quant[i]);
	q[i] = '\0';
	if (mkdir(cache_dir, 0777) < 0 && errno != EEXIST)
		return lb_error_set(err, LB_ERR_IO, "cannot create cache folder '%s': %s",
				    cache_dir, strerror(errno));
	rc = model_cache_hash_file(base_path, &hash, err);
	if (rc)
		return rc;
	n = strlen(cache_dir) + 64;
	path = lb_malloc(n);
	if (!path)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	snprintf(path, n, "%s/%016" PRIx64 "-%s.gguf", cache_dir, hash, q);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		*out_path = path;
		return 0;
	}
	rc = lb_gguf_quantize(base_path, path, q, 0, err);
	if (rc) {
		lb_free(path);
		return rc;
	}
	*out_path = path;
	return 0;
}

#else /* !LB_HAVE_LLAMA */

int model_cache_get(const char *base_path, const char *quant, const char *cache_dir,
		    char **out_path, struct lb_error *err)
{
	(void)base_path;
	(void)quant;
	(void)cache_dir;
	(void)out_path;
	return llama_common_unsupported(err);
}

#endif
