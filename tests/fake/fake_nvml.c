/* fake_nvml.c: a stand-in for libnvidia-ml.so.1, built by tests/unit/test_power.c at test time
 * (cc -shared -fPIC) and loaded through the real dlopen path via LLMBENCH_NVML_LIB.
 *
 * Device i draws a constant power P_i, so its energy counter (mJ) is P_i * t on CLOCK_MONOTONIC:
 * the energy of any window is known exactly (fake_nvml_energy_mj(i, t_ns) gives it).
 * Environment, read at every nvmlInit_v2:
 *   FAKE_NVML_DEVICES=n        device count (default 1)
 *   FAKE_NVML_POWER_MW=a,b,..  power per device in mW (default 250000 for each)
 *   FAKE_NVML_FAIL_ENERGY=i    device i's energy call fails (NVML_ERROR_UNKNOWN)
 *   FAKE_NVML_NO_ENERGY=1      every energy call is NVML_ERROR_NOT_SUPPORTED (pre-Volta)
 *   FAKE_NVML_INIT_FAIL=1      nvmlInit_v2 fails (NVML_ERROR_DRIVER_NOT_LOADED) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DEV 8

struct fake_dev {
	int idx;
};

static struct fake_dev devs[MAX_DEV];
static unsigned n_dev = 1;
static unsigned long long power_mw[MAX_DEV];
static int fail_energy = -1;
static int no_energy;
static int init_count;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned long long fake_nvml_energy_mj(unsigned i, uint64_t t_ns);
unsigned long long fake_nvml_energy_mj(unsigned i, uint64_t t_ns)
{
	return (unsigned long long)(t_ns / 1000u) * power_mw[i] / 1000000u; /* mW * us = nJ */
}

int nvmlInit_v2(void);
int nvmlInit_v2(void)
{
	const char *e = getenv("FAKE_NVML_DEVICES");
	const char *p = getenv("FAKE_NVML_POWER_MW");

	if (getenv("FAKE_NVML_INIT_FAIL"))
		return 9; /* NVML_ERROR_DRIVER_NOT_LOADED */
	n_dev = e ? (unsigned)strtoul(e, NULL, 10) : 1;
	if (n_dev > MAX_DEV)
		n_dev = MAX_DEV;
	for (unsigned i = 0; i < MAX_DEV; i++) {
		devs[i].idx = (int)i;
		power_mw[i] = 250000;
	}
	for (unsigned i = 0; p && *p && i < MAX_DEV; i++) {
		char *end;

		power_mw[i] = strtoull(p, &end, 10);
		p = *end == ',' ? end + 1 : end;
	}
	e = getenv("FAKE_NVML_FAIL_ENERGY");
	fail_energy = e ? (int)strtol(e, NULL, 10) : -1;
	no_energy = getenv("FAKE_NVML_NO_ENERGY") != NULL;
	init_count++;
	return 0;
}

int nvmlShutdown(void);
int nvmlShutdown(void)
{
	init_count--;
	return 0;
}

int nvmlDeviceGetCount_v2(unsigned int *count);
int nvmlDeviceGetCount_v2(unsigned int *count)
{
	*count = n_dev;
	return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int i, struct fake_dev **dev);
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, struct fake_dev **dev)
{
	if (i >= n_dev)
		return 2; /* NVML_ERROR_INVALID_ARGUMENT */
	*dev = &devs[i];
	return 0;
}

int nvmlDeviceGetTotalEnergyConsumption(struct fake_dev *dev, unsigned long long *mj);
int nvmlDeviceGetTotalEnergyConsumption(struct fake_dev *dev, unsigned long long *mj)
{
	if (no_energy)
		return 3; /* NVML_ERROR_NOT_SUPPORTED */
	if (dev->idx == fail_energy)
		return 999; /* NVML_ERROR_UNKNOWN */
	*mj = fake_nvml_energy_mj((unsigned)dev->idx, now_ns());
	return 0;
}

int nvmlDeviceGetPowerUsage(struct fake_dev *dev, unsigned int *mw);
int nvmlDeviceGetPowerUsage(struct fake_dev *dev, unsigned int *mw)
{
	*mw = (unsigned int)power_mw[dev->idx];
	return 0;
}

const char *nvmlErrorString(int rc);
const char *nvmlErrorString(int rc)
{
	switch (rc) {
	case 0:
		return "Success";
	case 3:
		return "Not Supported";
	case 9:
		return "Driver Not Loaded";
	case 999:
		return "Unknown Error";
	default:
		return "fake error";
	}
}
