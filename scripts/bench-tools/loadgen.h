/* What the load generators (authload.c, saslload.c) share: the users file, the tally of answers
 * and latencies, and the one result line scripts/bench reads. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static int nusers;
static char **logins, **passwords;

/* Answers and latencies of one worker (a thread, or a connection's share of one). */
typedef struct { long ok, fail, mismatch; uint32_t *lat; long nlat, caplat; } tally;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

/* Reads "login password" lines; exits with a message when there are none. */
static void load_users(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(66); }
    char l[1024]; int cap = 1024;
    logins = malloc(cap * sizeof *logins); passwords = malloc(cap * sizeof *passwords);
    while (fgets(l, sizeof l, f)) {
        char *sp = strchr(l, ' '); if (!sp) continue;
        *sp = 0; l[strcspn(sp + 1, "\n") + (sp + 1 - l)] = 0;
        if (nusers == cap) { cap *= 2; logins = realloc(logins, cap * sizeof *logins); passwords = realloc(passwords, cap * sizeof *passwords); }
        logins[nusers] = strdup(l); passwords[nusers] = strdup(sp + 1); nusers++;
    }
    fclose(f);
    if (!nusers) { fprintf(stderr, "no users in %s\n", path); exit(65); }
}

/* One answer: `ok` and `fail` say what the server answered (neither: garbage), `wrong` whether
 * the password sent was wrong. */
static void count(tally *t, int ok, int fail, int wrong, double latency, const char *answer, int user) {
    if ((ok && wrong) || (fail && !wrong) || (!ok && !fail)) {
        t->mismatch++;
        fprintf(stderr, "mismatch: %s for %s%s\n", answer, logins[user], wrong ? " (wrong password)" : "");
    }
    if (ok) t->ok++; else t->fail++;
    if (t->nlat == t->caplat) { t->caplat = t->caplat ? t->caplat * 2 : 1 << 16; t->lat = realloc(t->lat, t->caplat * sizeof *t->lat); }
    t->lat[t->nlat++] = (uint32_t)(latency * 1e9 / 100); /* units of 100 ns */
}

static int by_value(const void *a, const void *b) { uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b; return x < y ? -1 : x > y; }

/* Prints the result line; returns the exit status (1 when any answer was wrong). */
static int report(int conns, tally *const *tallies, int n, double elapsed, const struct rusage *r0) {
    struct rusage r1; getrusage(RUSAGE_SELF, &r1);
    long total = 0, ok = 0, mismatch = 0, nl = 0;
    for (int i = 0; i < n; i++) { total += tallies[i]->ok + tallies[i]->fail; ok += tallies[i]->ok; mismatch += tallies[i]->mismatch; nl += tallies[i]->nlat; }
    if (!nl) { fprintf(stderr, "no answers\n"); return 2; }
    uint32_t *all = malloc(nl * sizeof *all); long k = 0;
    for (int i = 0; i < n; i++) { memcpy(all + k, tallies[i]->lat, tallies[i]->nlat * sizeof *all); k += tallies[i]->nlat; }
    qsort(all, nl, sizeof *all, by_value);
    double cpu = (r1.ru_utime.tv_sec - r0->ru_utime.tv_sec) + (r1.ru_utime.tv_usec - r0->ru_utime.tv_usec) / 1e6
               + (r1.ru_stime.tv_sec - r0->ru_stime.tv_sec) + (r1.ru_stime.tv_usec - r0->ru_stime.tv_usec) / 1e6;
    printf("connections=%d auths=%ld ok=%ld mismatches=%ld auths/s=%.0f p50=%.0fus p99=%.0fus p99.9=%.0fus loadgen_cpu=%.0f%%\n",
           conns, total, ok, mismatch, total / elapsed, all[nl / 2] / 10.0, all[(long)(nl * 0.99)] / 10.0, all[(long)(nl * 0.999)] / 10.0,
           100 * cpu / elapsed);
    return mismatch ? 1 : 0;
}
