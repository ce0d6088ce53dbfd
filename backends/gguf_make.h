/* gguf_make.h: tiny GGUF models that llama.cpp loads and runs at real speed with real
 * tokenizers (random weights: their text is noise), their quantization, and their facts.
 *
 * lb_gguf_make writes a `llama` (LLaMA; Mistral = `llama` with fewer KV heads (GQA) and a
 * sliding-window key) or `falcon` (fused attn_qkv, norms with bias, no gate) model through
 * gguf.h, with the tokenizer.* keys copied from a vocabulary-only GGUF
 * (ggml-vocab-llama-spm.gguf for LLaMA and Mistral, ggml-vocab-falcon.gguf for Falcon).
 * Every file is written to a temporary file beside the target and renamed into place, so a
 * failure leaves nothing half-written. Without llama.cpp every function fails with
 * LB_ERR_UNSUPPORTED. */
#ifndef LB_GGUF_MAKE_H
#define LB_GGUF_MAKE_H

#include "../base/error.h"

#include <stdbool.h>
#include <stdint.h>

struct lb_gguf_make_opts {
	const char *arch;  /* "llama", "falcon", "mistral" */
	const char *vocab; /* vocabulary GGUF; NULL: the family's default (lb_gguf_vocab_dir) */
	const char *name;  /* general.name; NULL: "llmbench tiny <arch> (random weights)" */
	int n_embd;        /* defaults: 256 */
	int n_layer;       /* 2 */
	int n_head;        /* 4 */
	int n_head_kv;     /* 4 (mistral: 2) */
	int n_ff;          /* 512 */
	int n_ctx;         /* context_length: 512 */
	uint64_t seed;     /* weights are a function of the seed and the shapes: 42 */
	bool f32;          /* store matrices as F32 (general.file_type 0) instead of F16 (1) */
};

/* Metadata keys of every model lb_gguf_make writes: LB_GGUF_SYNTHETIC_KEY (bool, true) says the
 * weights are random, whatever general.name says; LB_GGUF_SEED_KEY (u64) is the seed.
 * llama_model_quantize copies every key, so quantized copies keep them. */
#define LB_GGUF_SYNTHETIC_KEY "llmbench.synthetic"
#define LB_GGUF_SEED_KEY "llmbench.seed"

/* Whether the GGUF at path was made by lb_gguf_make (random weights): its metadata, read with
 * gguf_init_from_file (no tensor data), has LB_GGUF_SYNTHETIC_KEY = true. 1: synthetic, 0: not
 * (no such key), -1: path NULL, not a readable GGUF, or no llama.cpp in this build. This
 * function can't fail. */
int lb_gguf_synthetic(const char *path);

/* Fill o with the defaults for arch (NULL: "llama"). This function can't fail. */
void lb_gguf_make_defaults(struct lb_gguf_make_opts *o, const char *arch);

/* Check o (known arch, positive sizes, n_embd % n_head == 0, n_head % n_head_kv == 0, even
 * head size) and write the model to out_path. LB_ERR_USAGE for bad options or a missing or
 * unreadable vocabulary file, LB_ERR_IO when writing fails. */
int lb_gguf_make(const struct lb_gguf_make_opts *o, const char *out_path, struct lb_error *err);

/* Folder of the shipped ggml-vocab-*.gguf files: $LLMBENCH_VOCAB_DIR, else the build's
 * llama.cpp models folder; NULL when unknown. This function can't fail. */
const char *lb_gguf_vocab_dir(void);

/* Quantization types by name (case-insensitive): f32, f16, bf16, q8_0, q6_k, q5_k_m, q5_k_s,
 * q5_0, q5_1, q4_k_m, q4_k_s, q4_0, q4_1, q3_k_m, q3_k_s, q3_k_l, q2_k. Returns the llama_ftype
 * value, or -1 for an unknown name. This function can't fail. */
int lb_gguf_quant_type(const char *name);
/* "f32, f16, ..." for error messages. This function can't fail. */
const char *lb_gguf_quant_types(void);

/* Quantize in_path to out_path (temporary file + rename) with llama_model_quantize, using
 * threads (<= 0: all cores). An unknown type is LB_ERR_USAGE listing the known ones; a missing
 * or corrupt input is LB_ERR_USAGE; a quantization failure is LB_ERR_BACKEND. */
int lb_gguf_quantize(const char *in_path, const char *out_path, const char *type, int threads,
		     struct lb_error *err);

struct lb_gguf_info {
	char arch[32];       /* general.architecture */
	char name[128];      /* general.name, "" if none */
	char desc[128];      /* llama_model_desc() */
	char ftype[64];      /* llama_ftype_name(): "MOSTLY_F16", "MOSTLY_Q4_K_M" */
	char vocab_type[16]; /* "spm", "bpe", "wpm", ... */
	char tokenizer[32];  /* tokenizer.ggml.model: "llama", "gpt2" */
	uint64_t n_params;
	uint64_t file_bytes;
	uint64_t tensor_bytes;
	int32_t n_vocab;
	int32_t n_ctx_train;
	int32_t n_embd;
	int32_t n_layer;
	int32_t n_head;
	int32_t n_head_kv;
	int32_t n_swa;    /* sliding window as llama.cpp applies it (0: none) */
	int32_t swa_meta; /* <arch>.attention.sliding_window as stored, -1 if absent */
	bool add_bos;
};

/* Load path (CPU, mmap) and describe it. Missing/corrupt file: LB_ERR_USAGE. */
int lb_gguf_info(const char *path, struct lb_gguf_info *out, struct lb_error *err);

/* A temporary path "<dir of path>/.<base>.tmp.XXXXXX" created empty with mkstemp; *tmp is
 * lb_malloc'd. Used by every writer here so that a rename puts the file in place. */
int lb_gguf_tmp_path(const char *path, char **tmp, struct lb_error *err);

#endif
