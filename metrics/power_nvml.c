/* power_nvml.c: NVIDIA GPU energy through NVML, loaded at run time with
 * dlopen("libnvidia-ml.so.1") (no build dependency; $LLMBENCH_NVML_LIB overrides the path for
 * tests). Energy from nvmlDeviceGetTotalEnergyConsumption (mJ since driver load, Volta and newer);
 * nvmlDeviceGetPowerUsage (mW) is kept as a second series for plots. It is a 1 s average on
 * Ampere and newer, so it is integrated only on a device without the energy counter, and says
 * so. A failing call is a failed reading of that device, never fatal. */
#include "../base/alloc.h"
#include "../base/clock.h"
#include "power_source.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The few NVML declarations used (nvml.h is not needed to build). */
typedef int nvml_return;
typedef struct nvml_device_st *nvml_device;
#define NVML_SUCCESS 0
#define NVML_ERROR_NOT_SUPPORTED 3

struct nvml_fns {
	nvml_return (*init)(void);
	nvml_return (*shutdown)(void);
	nvml_return (*count)(unsigned int *);
	nvml_return (*handle)(unsigned int, nvml_device *);
	nvml_return (*energy)(nvml_device, unsigned long long *);
	nvml_return (*power)(nvml_device, unsigned int *);
	const char *(*errstr)(nvml_return); /* may be NULL */
};

struct nvml_src {
	void *lib;
	struct nvml_fns f;
	bool inited;
	size_t n;
	struct {
		unsigned idx;
		nvml_device dev; /* NULL: the handle call failed (reported at each read) */
		bool energy;     /* the energy counter is used */
		char handle_err[120];
	} d[POWER_MAX_CHANNELS];
};

static const char *nvml_lib_path(void)
{
	const char *env = getenv("LLMBENCH_NVML_LIB");

	return env && *env ? env : "libnvidia-ml.so.1";
}

static const char *nvml_err(const struct nvml_src *s, nvml_return rc)
{
	static __thread char buf[32];
	const char *m = s->f.errstr ? s->f.errstr(rc) : NULL;

	if (m)
		return m;
	power_fmt(buf, sizeof(buf), "nvml error %d", rc);
	return buf;
}

/* dlopen the library; the reason in err when it is not there. */
static void *nvml_load(struct lb_error *err)
{
	const char *path = nvml_lib_path();
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		const char *why = dlerror();

		if (why && strstr(why, "No such file"))
			lb_error_set(err, LB_ERR_UNSUPPORTED, "%s not found", path);
		else
			lb_error_set(err, LB_ERR_UNSUPPORTED, "cannot load %s: %s", path,
				     why ? why : "unknown error");
	}
	return lib;
}

static int nvml_probe(const struct power_config *cfg, struct lb_error *err)
{
	void *lib = nvml_load(err);

	(void)cfg;
	if (!lib)
		return LB_ERR_UNSUPPORTED;
	dlclose(lib);
	return 0;
}

static void nvml_close(void *self)
{
	struct nvml_src *s = self;

	if (!s)
		return;
	if (s->inited)
		s->f.shutdown();
	if (s->lib)
		dlclose(s->lib);
	lb_free(s);
}

#define SYM(field, name)                                                                           \
	do {                                                                                       \
		s->f.field = (__typeof__(s->f.field))dlsym(s->lib, name);                          \
		if (!s->f.field) {                                                                 \
			rc = lb_error_set(err, LB_ERR_UNSUPPORTED, "%s lacks %s", nvml_lib_path(), \
					  name);                                                   \
			goto fail;                                                                 \
		}                                                                                  \
	} while (0)

static int nvml_open(void **self, const struct power_config *cfg, struct power_chan *ch, size_t max,
		     size_t *n_ch, struct lb_error *err)
{
	struct nvml_src *s;
	unsigned count = 0;
	nvml_return nr;
	int rc;

	*self = NULL;
	*n_ch = 0;
	s = lb_calloc(1, sizeof(*s));
	if (!s)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	s->lib = nvml_load(err);
	if (!s->lib) {
		rc = err ? err->code : LB_ERR_UNSUPPORTED;
		goto fail;
	}
	SYM(init, "nvmlInit_v2");
	SYM(shutdown, "nvmlShutdown");
	SYM(count, "nvmlDeviceGetCount_v2");
	SYM(handle, "nvmlDeviceGetHandleByIndex_v2");
	SYM(energy, "nvmlDeviceGetTotalEnergyConsumption");
	SYM(power, "nvmlDeviceGetPowerUsage");
	s->f.errstr = (__typeof__(s->f.errstr))dlsym(s->lib, "nvmlErrorString");
	nr = s->f.init();
	if (nr != NVML_SUCCESS) {
		rc = lb_error_set(err, LB_ERR_UNSUPPORTED, "nvmlInit_v2: %s", nvml_err(s, nr));
		goto fail;
	}
	s->inited = true;
	nr = s->f.count(&count);
	if (nr != NVML_SUCCESS) {
		rc = lb_error_set(err, LB_ERR_UNSUPPORTED, "nvmlDeviceGetCount_v2: %s",
				  nvml_err(s, nr));
		goto fail;
	}
	if (!count) {
		rc = lb_error_set(err, LB_ERR_UNSUPPORTED, "no NVIDIA GPU");
		goto fail;
	}
	for (unsigned i = 0; i < 64; i++) {
		struct power_chan *c;
		unsigned long long mj;
		unsigned mw;

		if (!(cfg->nvml.devices & ((uint64_t)1 << i)))
			continue;
		if (i >= count) {
			if (cfg->nvml.devices == UINT64_MAX)
				break;
			rc = lb_error_set(err, LB_ERR_USAGE,
					  "power.nvml.devices: device %u not present (%u GPUs)", i,
					  count);
			goto fail;
		}
		if (s->n == max || s->n == POWER_MAX_CHANNELS) {
			rc = lb_error_set(err, LB_ERR_LIMIT, "too many power channels");
			goto fail;
		}
		c = &ch[s->n];
		memset(c, 0, sizeof(*c));
		power_fmt(c->scope, sizeof(c->scope), "gpu%u", i);
		s->d[s->n].idx = i;
		s->d[s->n].energy = true;
		c->caps = POWER_CAP_ENERGY;
		nr = s->f.handle(i, &s->d[s->n].dev);
		if (nr != NVML_SUCCESS) {
			s->d[s->n].dev = NULL;
			power_fmt(s->d[s->n].handle_err, sizeof(s->d[s->n].handle_err),
				  "nvmlDeviceGetHandleByIndex_v2: %s", nvml_err(s, nr));
		} else {
			if (s->f.power(s->d[s->n].dev, &mw) == NVML_SUCCESS)
				c->caps |= POWER_CAP_POWER;
			nr = s->f.energy(s->d[s->n].dev, &mj);
			if (nr == NVML_ERROR_NOT_SUPPORTED && (c->caps & POWER_CAP_POWER)) {
				s->d[s->n].energy = false; /* before Volta: power only */
				c->caps = POWER_CAP_POWER;
				power_fmt(c->note, sizeof(c->note),
					  "no energy counter on this GPU: nvmlDeviceGetPowerUsage "
					  "integrated (a 1 s average on Ampere+: edges smeared)");
			}
		}
		s->n++;
	}
	*self = s;
	*n_ch = s->n;
	return 0;
fail:
	nvml_close(s);
	return rc;
}

static int nvml_read(void *self, struct power_reading *out, size_t n_ch, struct lb_error *err)
{
	struct nvml_src *s = self;

	(void)err;
	for (size_t k = 0; k < n_ch && k < s->n; k++) {
		struct power_reading *r = &out[k];
		uint64_t t0 = lb_now_ns();
		unsigned long long mj = 0;
		unsigned mw = 0;
		nvml_return ne = NVML_SUCCESS, np;

		if (!s->d[k].dev) {
			power_fmt(r->err, sizeof(r->err), "%s", s->d[k].handle_err);
			r->t_ns = t0;
			continue;
		}
		if (s->d[k].energy)
			ne = s->f.energy(s->d[k].dev, &mj);
		np = s->f.power(s->d[k].dev, &mw);
		r->t_ns = t0 + (lb_now_ns() - t0) / 2;
		if (ne != NVML_SUCCESS) {
			power_fmt(r->err, sizeof(r->err), "nvmlDeviceGetTotalEnergyConsumption: %s",
				  nvml_err(s, ne));
			continue;
		}
		if (!s->d[k].energy && np != NVML_SUCCESS) {
			power_fmt(r->err, sizeof(r->err), "nvmlDeviceGetPowerUsage: %s",
				  nvml_err(s, np));
			continue;
		}
		r->ok = true;
		if (s->d[k].energy) {
			r->has_energy = true;
			r->energy_uj = (uint64_t)mj * 1000u;
		}
		if (np == NVML_SUCCESS) {
			r->has_power = true;
			r->power_mw = mw;
		}
	}
	return 0;
}

const struct power_source_ops power_nvml_ops = {
	.name = "nvml",
	.probe = nvml_probe,
	.open = nvml_open,
	.read = nvml_read,
	.close = nvml_close,
};
