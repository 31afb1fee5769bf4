/* cpus: how many CPUs this process may really use — the CPUs of its affinity mask,
 * bounded by a cgroup v2 CPU quota (containers: `docker run --cpus 2` on a 64-core host
 * is 2). For defaults that scale with the machine (REQUEST_WORKERS=0). No memory is
 * kept. */
#ifndef SLUICE_CPUS_H
#define SLUICE_CPUS_H

/* The usable CPU count, at least 1. Reads /sys/fs/cgroup/cpu.max when present. */
long cpus_usable(void);

/* The CPUs a cgroup v2 cpu.max text grants ("<quota> <period>", rounded up), or 0 when
 * it sets no limit ("max ...") or cannot be read. Pure. */
long cpus_from_cpu_max(const char *text);

#endif
