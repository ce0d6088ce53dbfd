/* power_config.c: the workload's "power" section (defaults, parser, release) and the registry of
 * power sources that "sources" names. docs/power.md. */
#include "power.h"

#include "../base/alloc.h"
#include "../base/jsoncfg.h"
#include "power_internal.h"

#include <cJSON.h>
#include <math.h>
#include <string.h>

#define POWER_DEFAULT_INTERVAL_MS 100
#define POWER_DEFAULT_MAX_SAMPLES 65536
#define POWER_DEFAULT_CMD_TIMEOUT_MS 5000

/* ---- registry ---------------------------------------------------------------------------- */

static const struct power_source_ops *const registry[] = {
	&power_rapl_ops,
	&power_nvml_ops,
	&power_hlsmi_ops,
	&power_cmd_ops,
};
#define N_REGISTRY (sizeof(registry) / sizeof(registry[0]))

const struct power_source_ops *const *power_source_registry(size_t *n)
{
	*n = N_REGISTRY;
	return registry;
}

static int registry_index(const char *name)
{
	for (size_t i = 0; i < N_REGISTRY; i++)
		if (!strcmp(registry[i]->name, name))
			return (int)i;
	return -1;
}

/* ---- configuration ----------------------------------------------------------------------- */

void power_config_init(struct power_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->auto_sources = true;
	cfg->interval_ms = POWER_DEFAULT_INTERVAL_MS;
	cfg->max_samples = POWER_DEFAULT_MAX_SAMPLES;
	cfg->rapl.package = true;
	cfg->nvml.devices = UINT64_MAX;
	cfg->hlsmi.devices = UINT64_MAX;
	cfg->cmd.timeout_ms = POWER_DEFAULT_CMD_TIMEOUT_MS;
}

void power_config_release(struct power_config *cfg)
{
	if (!cfg)
		return;
	lb_free(cfg->rapl.root);
	lb_free(cfg->hlsmi.path);
	lb_free(cfg->cmd.command);
	power_config_init(cfg);
}

/* Every key of obj must be in valid (NULL-terminated); else name the key, the valid ones and
 * the nearest ("did you mean"), as every workload section does (base/jsoncfg.h). */
static int check_keys(const cJSON *obj, const char *where, const char *const *valid,
		      struct lb_error *err)
{
	struct jsoncfg c = { NULL, err };

	return jsoncfg_check_keys(&c, obj, where, valid);
}

static int get_uint(const cJSON *v, const char *where, double lo, double hi, double *out,
		    struct lb_error *err)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
	    v->valuedouble > hi)
		return lb_error_set(err, LB_ERR_USAGE, "%s: expected an integer from %.0f to %.0f",
				    where, lo, hi);
	*out = v->valuedouble;
	return 0;
}

static int get_string(const cJSON *v, const char *where, char **out, struct lb_error *err)
{
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return lb_error_set(err, LB_ERR_USAGE, "%s: expected a non-empty string", where);
	lb_free(*out);
	*out = lb_strdup(v->valuestring);
	if (!*out)
		return lb_error_set(err, LB_ERR_NOMEM, "%s: out of memory", where);
	return 0;
}

static int parse_devices(const cJSON *v, const char *where, uint64_t *out, struct lb_error *err)
{
	const cJSON *it;

	if (cJSON_IsString(v) && !strcmp(v->valuestring, "all")) {
		*out = UINT64_MAX;
		return 0;
	}
	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: expected \"all\" or a non-empty list of device indices",
				    where);
	*out = 0;
	cJSON_ArrayForEach(it, v)
	{
		double d;
		int rc = get_uint(it, where, 0, 63, &d, err);

		if (rc)
			return rc;
		*out |= (uint64_t)1 << (unsigned)d;
	}
	return 0;
}

static int parse_zones(struct power_config *cfg, const cJSON *v, struct lb_error *err)
{
	const char *where = "power.rapl.zones";
	const cJSON *it;

	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: expected a non-empty list of zones "
				    "(package, dram, core, uncore, psys)",
				    where);
	cfg->rapl.package = false;
	cJSON_ArrayForEach(it, v)
	{
		const char *z = cJSON_IsString(it) ? it->valuestring : "";

		if (!strcmp(z, "package"))
			cfg->rapl.package = true;
		else if (!strcmp(z, "dram"))
			cfg->rapl.dram = true;
		else if (!strcmp(z, "core"))
			cfg->rapl.core = true;
		else if (!strcmp(z, "uncore"))
			cfg->rapl.uncore = true;
		else if (!strcmp(z, "psys"))
			cfg->rapl.psys = true;
		else
			return lb_error_set(err, LB_ERR_USAGE,
					    "%s: unknown zone '%s' (valid: package, dram, core, "
					    "uncore, psys)",
					    where, z);
	}
	if (cfg->rapl.package && (cfg->rapl.core || cfg->rapl.uncore))
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: '%s' is inside 'package' (nested zones are never added)",
				    where, cfg->rapl.core ? "core" : "uncore");
	if (cfg->rapl.psys &&
	    (cfg->rapl.package || cfg->rapl.dram || cfg->rapl.core || cfg->rapl.uncore))
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: 'psys' covers the whole platform: it cannot be combined "
				    "with other zones (nested zones are never added)",
				    where);
	return 0;
}

static int parse_sources(struct power_config *cfg, const cJSON *v, struct lb_error *err)
{
	const char *where = "power.sources";
	const cJSON *it;

	if (cJSON_IsString(v) && !strcmp(v->valuestring, "auto")) {
		cfg->auto_sources = true;
		cfg->sources = 0;
		return 0;
	}
	cfg->auto_sources = false;
	cfg->sources = 0;
	if (cJSON_IsString(v) && !strcmp(v->valuestring, "none"))
		return 0;
	if (!cJSON_IsArray(v))
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: expected \"auto\", \"none\" or a list of source names "
				    "(rapl, nvml, hlsmi, cmd)",
				    where);
	cJSON_ArrayForEach(it, v)
	{
		const char *name = cJSON_IsString(it) ? it->valuestring : "";
		int i = registry_index(name);

		if (i < 0)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"%s: unknown source '%s' (valid: rapl, nvml, hlsmi, cmd)", where,
				name);
		cfg->sources |= 1u << i;
	}
	return 0;
}

static int parse_section(struct power_config *cfg, const cJSON *root, struct lb_error *err)
{
	static const char *const top[] = { "sources",     "interval_ms", "idle_s",
					   "max_samples", "rapl",        "nvml",
					   "hlsmi",       "cmd",         NULL };
	static const char *const rapl[] = { "zones", "root", NULL };
	static const char *const nvml[] = { "devices", NULL };
	static const char *const hlsmi[] = { "devices", "path", NULL };
	static const char *const cmd[] = { "command", "unit", "timeout_ms", NULL };
	const cJSON *v, *sec;
	double d;
	int rc;

	if (!cJSON_IsObject(root))
		return lb_error_set(err, LB_ERR_USAGE, "power: expected an object");
	if ((rc = check_keys(root, "power", top, err)))
		return rc;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "sources")) &&
	    (rc = parse_sources(cfg, v, err)))
		return rc;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "interval_ms"))) {
		if ((rc = get_uint(v, "power.interval_ms", 1, 60000, &d, err)))
			return rc;
		cfg->interval_ms = (unsigned)d;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "idle_s"))) {
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 3600))
			return lb_error_set(err, LB_ERR_USAGE,
					    "power.idle_s: expected seconds from 0 to 3600");
		cfg->idle_s = v->valuedouble;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "max_samples"))) {
		if ((rc = get_uint(v, "power.max_samples", 16, 1 << 24, &d, err)))
			return rc;
		cfg->max_samples = (size_t)d;
	}
	if ((sec = cJSON_GetObjectItemCaseSensitive(root, "rapl"))) {
		if (!cJSON_IsObject(sec))
			return lb_error_set(err, LB_ERR_USAGE, "power.rapl: expected an object");
		if ((rc = check_keys(sec, "power.rapl", rapl, err)))
			return rc;
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "zones")) &&
		    (rc = parse_zones(cfg, v, err)))
			return rc;
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "root")) &&
		    (rc = get_string(v, "power.rapl.root", &cfg->rapl.root, err)))
			return rc;
	}
	if ((sec = cJSON_GetObjectItemCaseSensitive(root, "nvml"))) {
		if (!cJSON_IsObject(sec))
			return lb_error_set(err, LB_ERR_USAGE, "power.nvml: expected an object");
		if ((rc = check_keys(sec, "power.nvml", nvml, err)))
			return rc;
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "devices")) &&
		    (rc = parse_devices(v, "power.nvml.devices", &cfg->nvml.devices, err)))
			return rc;
	}
	if ((sec = cJSON_GetObjectItemCaseSensitive(root, "hlsmi"))) {
		if (!cJSON_IsObject(sec))
			return lb_error_set(err, LB_ERR_USAGE, "power.hlsmi: expected an object");
		if ((rc = check_keys(sec, "power.hlsmi", hlsmi, err)))
			return rc;
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "devices")) &&
		    (rc = parse_devices(v, "power.hlsmi.devices", &cfg->hlsmi.devices, err)))
			return rc;
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "path")) &&
		    (rc = get_string(v, "power.hlsmi.path", &cfg->hlsmi.path, err)))
			return rc;
	}
	if ((sec = cJSON_GetObjectItemCaseSensitive(root, "cmd"))) {
		if (!cJSON_IsObject(sec))
			return lb_error_set(err, LB_ERR_USAGE, "power.cmd: expected an object");
		if ((rc = check_keys(sec, "power.cmd", cmd, err)))
			return rc;
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "command")) &&
		    (rc = get_string(v, "power.cmd.command", &cfg->cmd.command, err)))
			return rc;
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "unit"))) {
			if (cJSON_IsString(v) && !strcmp(v->valuestring, "W"))
				cfg->cmd.joules = false;
			else if (cJSON_IsString(v) && !strcmp(v->valuestring, "J"))
				cfg->cmd.joules = true;
			else
				return lb_error_set(err, LB_ERR_USAGE,
						    "power.cmd.unit: expected \"W\" (the command "
						    "prints watts) or \"J\" (a cumulative joule "
						    "reading)");
		}
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "timeout_ms"))) {
			if ((rc = get_uint(v, "power.cmd.timeout_ms", 1, 600000, &d, err)))
				return rc;
			cfg->cmd.timeout_ms = (unsigned)d;
		}
	}
	if (!cfg->auto_sources && (cfg->sources & (1u << registry_index("cmd"))) &&
	    !cfg->cmd.command)
		return lb_error_set(err, LB_ERR_USAGE,
				    "power.cmd.command: required when power.sources names 'cmd'");
	return 0;
}

int power_config_parse(struct power_config *cfg, const char *json, struct lb_error *err)
{
	cJSON *root;
	int rc;

	power_config_init(cfg);
	if (!json || !json[strspn(json, " \t\r\n")])
		return 0;
	root = cJSON_Parse(json);
	if (!root) {
		const char *at = cJSON_GetErrorPtr();

		return lb_error_set(err, LB_ERR_PARSE, "power: cannot parse JSON near byte %td",
				    at ? at - json : (ptrdiff_t)0);
	}
	if (cJSON_IsNull(root))
		rc = 0;
	else
		rc = parse_section(cfg, root, err);
	cJSON_Delete(root);
	if (rc)
		power_config_release(cfg);
	return rc;
}
