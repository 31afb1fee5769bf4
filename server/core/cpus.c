/* cpus: sched_getaffinity and cgroup v2 cpu.max; see cpus.h. */
#include "core/cpus.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long cpus_from_cpu_max(const char *text) {
    if (!text || strncmp(text, "max", 3) == 0) return 0;
    char *end;
    long long quota = strtoll(text, &end, 10);
    if (end == text || *end != ' ' || quota <= 0) return 0;
    const char *p = end + 1;
    long long period = strtoll(p, &end, 10);
    if (end == p || period <= 0) return 0;
    long long n = (quota + period - 1) / period;
    return n > 4096 ? 4096 : (long)n;
}

long cpus_usable(void) {
    long n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n <= 0) n = sysconf(_SC_NPROCESSORS_ONLN);
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (f) {
        char line[128];
        if (fgets(line, sizeof line, f)) {
            long quota = cpus_from_cpu_max(line);
            if (quota > 0 && quota < n) n = quota;
        }
        fclose(f);
    }
    return n < 1 ? 1 : n;
}
