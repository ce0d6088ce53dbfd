/* cmd_model.c: `llmbench model make|quantize|info`: tiny GGUF models, quantization, facts. */
#include "cmd.h"

#include "../backends/gguf_make.h"
#include "../base/error.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
	"usage: llmbench model make --arch llama|falcon|mistral --out FILE [options]\n"
	"   or: llmbench model quantize [--threads N] IN OUT TYPE\n"
	"   or: llmbench model info [--json] FILE\n"
	"\n"
	"Make tiny GGUF models with real tokenizers and random weights (their text is noise,\n"
	"their speed is real), quantize GGUF models, and describe them. See docs/cli/model.md.\n"
	"'llmbench model <sub-verb> --help' describes each.\n";

static const char make_usage[] =
	"usage: llmbench model make --arch llama|falcon|mistral --out FILE [options]\n"
	"\n"
	"Write a GGUF model llama.cpp runs: a real vocabulary (LLaMA and Mistral: llama-spm,\n"
	"Falcon: falcon), the family's hyper-parameters and tensors, seeded random weights.\n"
	"Mistral is architecture 'llama' with fewer KV heads (GQA) and a sliding-window key.\n"
	"\n"
	"    --arch A        llama, falcon or mistral (required)\n"
	"    --out FILE      where to write (temporary file + rename; required)\n"
	"    --vocab F       vocabulary GGUF (default: the family's ggml-vocab-*.gguf)\n"
	"    --embd N        embedding length (256)\n"
	"    --layers N      blocks (2)\n"
	"    --heads N       attention heads (4)\n"
	"    --kv-heads N    key/value heads (4; mistral 2)\n"
	"    --ff N          feed-forward length (512)\n"
	"    --ctx N         training context length (512)\n"
	"    --seed S        weight seed (42)\n"
	"    --f32           store matrices as F32 (default F16)\n"
	"    --name TEXT     general.name\n"
	"\n"
	"Every model made here carries the metadata keys llmbench.synthetic = true and\n"
	"llmbench.seed (kept by quantization), whatever its name: runs, reports, compare, gate\n"
	"and perplexity label its scores, perplexity and KL divergence synthetic.\n";

static const char quantize_usage[] =
	"usage: llmbench model quantize [--threads N] IN OUT TYPE\n"
	"\n"
	"Quantize the GGUF model IN into OUT with llama.cpp (llama_model_quantize); OUT is\n"
	"written to a temporary file and renamed. TYPE is one of:\n"
	"    %s\n";

static const char info_usage[] =
	"usage: llmbench model info [--json] FILE\n"
	"\n"
	"Print a GGUF model's architecture, parameter count, file size, file type (quantization),\n"
	"vocabulary type and size, training context, and embd/layers/heads/kv-heads.\n"
	"    --json          one JSON object instead of text\n";

static int parse_pos(const char *verb, const char *opt, const char *s, long max, int *out)
{
	long v;

	if (cmd_parse_long(s, &v) || v <= 0 || v > max)
		return cmd_usage_error(verb, "%s needs a whole number from 1 to %ld, got '%s'", opt,
				       max, s);
	*out = (int)v;
	return 0;
}

static int model_make(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "arch", required_argument, NULL, 'a' },
		{ "out", required_argument, NULL, 'o' },
		{ "vocab", required_argument, NULL, 'V' },
		{ "embd", required_argument, NULL, 'e' },
		{ "layers", required_argument, NULL, 'l' },
		{ "heads", required_argument, NULL, 'H' },
		{ "kv-heads", required_argument, NULL, 'k' },
		{ "ff", required_argument, NULL, 'f' },
		{ "ctx", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 's' },
		{ "f32", no_argument, NULL, '3' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lb_gguf_make_opts o;
	struct lb_error err = LB_ERROR_INIT;
	const char *arch = NULL, *out = NULL, *vocab = NULL, *name = NULL;
	int embd = 0, layers = 0, heads = 0, kv = 0, ff = 0, n_ctx = 0, c, rc;
	long seed = -1;
	bool f32 = false;

	optind = 1;
	opterr = 0;
	while ((c = cmd_getopt(argc, argv, "model", "h", longopts)) != -1) {
		rc = 0;
		switch (c) {
		case 'a': arch = optarg; break;
		case 'o': out = optarg; break;
		case 'V': vocab = optarg; break;
		case 'n': name = optarg; break;
		case 'e': rc = parse_pos("model make", "--embd", optarg, 65536, &embd); break;
		case 'l': rc = parse_pos("model make", "--layers", optarg, 512, &layers); break;
		case 'H': rc = parse_pos("model make", "--heads", optarg, 4096, &heads); break;
		case 'k': rc = parse_pos("model make", "--kv-heads", optarg, 4096, &kv); break;
		case 'f': rc = parse_pos("model make", "--ff", optarg, 262144, &ff); break;
		case 'c': rc = parse_pos("model make", "--ctx", optarg, 1048576, &n_ctx); break;
		case 's':
			if (cmd_parse_long(optarg, &seed) || seed < 0)
				return cmd_usage_error("model make",
						       "--seed needs a whole number >= 0, got '%s'",
						       optarg);
			break;
		case '3': f32 = true; break;
		case 'h': fputs(make_usage, stdout); return 0;
		default: return 2;
		}
		if (rc)
			return rc;
	}
	if (optind != argc)
		return cmd_usage_error("model make", "unexpected argument '%s'", argv[optind]);
	if (!arch)
		return cmd_usage_error("model make",
				       "--arch is required (llama, falcon or mistral)");
	if (strcmp(arch, "llama") && strcmp(arch, "falcon") && strcmp(arch, "mistral"))
		return cmd_usage_error("model make",
				       "unknown --arch '%s' (expected llama, falcon or mistral)",
				       arch);
	if (!out)
		return cmd_usage_error("model make", "--out FILE is required");
	lb_gguf_make_defaults(&o, arch);
	o.vocab = vocab;
	o.name = name;
	o.f32 = f32;
	if (embd)
		o.n_embd = embd;
	if (layers)
		o.n_layer = layers;
	if (heads)
		o.n_head = heads;
	if (kv)
		o.n_head_kv = kv;
	else if (heads && o.n_head % o.n_head_kv)
		o.n_head_kv = o.n_head;
	if (ff)
		o.n_ff = ff;
	if (n_ctx)
		o.n_ctx = n_ctx;
	if (seed >= 0)
		o.seed = (uint64_t)seed;
	rc = lb_gguf_make(&o, out, &err);
	if (rc)
		return cmd_fail(&err);
	printf("wrote %s: %s, embd %d, layers %d, heads %d, kv-heads %d, ff %d, ctx %d, %s\n", out,
	       arch, o.n_embd, o.n_layer, o.n_head, o.n_head_kv, o.n_ff, o.n_ctx,
	       o.f32 ? "F32" : "F16");
	return 0;
}

static int model_quantize(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lb_error err = LB_ERROR_INIT;
	int threads = 0, c, rc;

	optind = 1;
	opterr = 0;
	while ((c = cmd_getopt(argc, argv, "model", "+h", longopts)) != -1) {
		switch (c) {
		case 't':
			rc = parse_pos("model quantize", "--threads", optarg, 1024, &threads);
			if (rc)
				return rc;
			break;
		case 'h': printf(quantize_usage, lb_gguf_quant_types()); return 0;
		default: return 2;
		}
	}
	if (argc - optind != 3)
		return cmd_usage_error("model quantize", "expected IN OUT TYPE, got %d argument%s",
				       argc - optind, argc - optind == 1 ? "" : "s");
	if (lb_gguf_quant_type(argv[optind + 2]) < 0)
		return cmd_usage_error("model quantize",
				       "unknown quantization type '%s' (known: %s)",
				       argv[optind + 2], lb_gguf_quant_types());
	if (!strcmp(argv[optind], argv[optind + 1]))
		return cmd_usage_error("model quantize", "IN and OUT are the same file '%s'",
				       argv[optind]);
	rc = lb_gguf_quantize(argv[optind], argv[optind + 1], argv[optind + 2], threads, &err);
	if (rc)
		return cmd_fail(&err);
	printf("wrote %s: %s\n", argv[optind + 1], argv[optind + 2]);
	return 0;
}

static void print_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static int model_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lb_error err = LB_ERROR_INIT;
	struct lb_gguf_info in;
	bool json = false, synthetic;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = cmd_getopt(argc, argv, "model", "h", longopts)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': fputs(info_usage, stdout); return 0;
		default: return 2;
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error("model info", "expected one GGUF file");
	rc = lb_gguf_info(argv[optind], &in, &err);
	if (rc)
		return cmd_fail(&err);
	synthetic = lb_gguf_synthetic(argv[optind]) == 1;
	if (json) {
		printf("{\"file\":");
		print_json_str(argv[optind]);
		printf(",\"arch\":");
		print_json_str(in.arch);
		printf(",\"name\":");
		print_json_str(in.name);
		printf(",\"synthetic\":%s,\"desc\":", synthetic ? "true" : "false");
		print_json_str(in.desc);
		printf(",\"file_type\":");
		print_json_str(in.ftype);
		printf(",\"n_params\":%llu,\"file_bytes\":%llu,\"tensor_bytes\":%llu",
		       (unsigned long long)in.n_params, (unsigned long long)in.file_bytes,
		       (unsigned long long)in.tensor_bytes);
		printf(",\"vocab_type\":");
		print_json_str(in.vocab_type);
		printf(",\"tokenizer\":");
		print_json_str(in.tokenizer);
		printf(",\"n_vocab\":%d,\"add_bos\":%s,\"n_ctx_train\":%d,\"n_embd\":%d,"
		       "\"n_layer\":%d,\"n_head\":%d,\"n_head_kv\":%d,\"gqa\":%s,\"n_swa\":%d",
		       in.n_vocab, in.add_bos ? "true" : "false", in.n_ctx_train, in.n_embd,
		       in.n_layer, in.n_head, in.n_head_kv,
		       in.n_head_kv < in.n_head ? "true" : "false", in.n_swa);
		if (in.swa_meta >= 0)
			printf(",\"sliding_window\":%d", in.swa_meta);
		printf("}\n");
		return 0;
	}
	printf("file:         %s\n", argv[optind]);
	printf("arch:         %s\n", in.arch);
	if (in.name[0])
		printf("name:         %s\n", in.name);
	if (synthetic)
		printf("synthetic:    yes (" LB_GGUF_SYNTHETIC_KEY "): random weights; its scores, "
		       "perplexity and KL divergence say nothing about a real model\n");
	printf("params:       %llu (%.2f M)\n", (unsigned long long)in.n_params,
	       (double)in.n_params / 1e6);
	printf("file size:    %llu bytes (%.2f MiB)\n", (unsigned long long)in.file_bytes,
	       (double)in.file_bytes / 1048576.0);
	printf("file type:    %s\n", in.ftype);
	printf("vocab:        %s (%s), %d tokens, %s BOS\n", in.vocab_type, in.tokenizer,
	       in.n_vocab, in.add_bos ? "adds" : "no");
	printf("n_ctx_train:  %d\n", in.n_ctx_train);
	printf("embd:         %d\n", in.n_embd);
	printf("layers:       %d\n", in.n_layer);
	printf("heads:        %d\n", in.n_head);
	printf("kv-heads:     %d%s\n", in.n_head_kv, in.n_head_kv < in.n_head ? " (GQA)" : "");
	if (in.swa_meta >= 0)
		printf("sliding window: %d (metadata; llama.cpp applies %d)\n", in.swa_meta,
		       in.n_swa);
	return 0;
}

int cmd_model(int argc, char **argv, struct lb_ctx *ctx)
{
	(void)ctx;
	if (argc < 2)
		return cmd_usage_error("model", "a sub-verb is required: make, quantize or info");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "make"))
		return model_make(argc - 1, argv + 1);
	if (!strcmp(argv[1], "quantize"))
		return model_quantize(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return model_info(argc - 1, argv + 1);
	return cmd_usage_error("model", "unknown sub-verb '%s' (expected make, quantize or info)",
			       argv[1]);
}
