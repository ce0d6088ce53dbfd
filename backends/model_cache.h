/* model_cache.h: quantized copies of a base GGUF, made once and reused.
 *
 * The key is a content hash of the base file (64-bit FNV-1a over every byte; a cache key, not
 * a security check) and the quantization name: <cache_dir>/<hash>-<quant>.gguf. A missing
 * entry is quantized with llama_model_quantize into a temporary file in cache_dir and renamed
 * into place, so a reader never sees a half-written file and two processes racing each end
 * with a whole file. "base", or the base's own type ("f16" of an F16 base, "f32" of an F32
 * base), is the base itself. The runner's default cache_dir is ".llmbench-cache/" beside the
 * database (docs/models.md). */
#ifndef LB_MODEL_CACHE_H
#define LB_MODEL_CACHE_H

#include "../base/error.h"

#include <stdint.h>

/* Set *out_path (lb_malloc'd, caller frees) to a GGUF of base_path at quant, quantizing it into
 * cache_dir (created if missing, one level) when not there yet. Errors: missing/corrupt base
 * or unknown quant (LB_ERR_USAGE), cache folder or rename failure (LB_ERR_IO), quantization
 * failure (LB_ERR_BACKEND), no llama.cpp (LB_ERR_UNSUPPORTED). Nothing half-written is left. */
int model_cache_get(const char *base_path, const char *quant, const char *cache_dir,
		    char **out_path, struct lb_error *err);

/* FNV-1a 64 of a whole file into *hash. LB_ERR_USAGE if it cannot be opened, LB_ERR_IO if a
 * read fails. */
int model_cache_hash_file(const char *path, uint64_t *hash, struct lb_error *err);

#endif
