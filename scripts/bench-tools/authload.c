/* authload: a load generator for the Dovecot authentication protocol (client side).
 *
 *   authload SOCKET CONNECTIONS SECONDS USERS_FILE [WRONG_PERCENT]
 *
 * USERS_FILE has one "login password" per line. Each connection sends one AUTH PLAIN at a
 * time (as Postfix does), picks users round-robin, sends a wrong password WRONG_PERCENT of
 * the time, and checks every answer (OK for a good password, FAIL for a wrong one): any
 * mismatch fails the run. Prints auths/s, p50/p99/p99.9 latency and its own CPU time.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *sock_path;
static int seconds, wrong_pct, nusers;
static char **logins, **passwords;
static volatile int stop;

typedef struct { long ok, fail, mismatch; uint32_t *lat; long nlat, caplat; int id; } worker;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static void b64(const unsigned char *in, int n, char *out) {
    static const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        out[o++] = a[in[i] >> 2]; out[o++] = a[((in[i] & 3) << 4) | (in[i+1] >> 4)];
        out[o++] = a[((in[i+1] & 15) << 2) | (in[i+2] >> 6)]; out[o++] = a[in[i+2] & 63];
    }
    if (n - i == 1) { out[o++] = a[in[i] >> 2]; out[o++] = a[(in[i] & 3) << 4]; out[o++] = '='; out[o++] = '='; }
    else if (n - i == 2) { out[o++] = a[in[i] >> 2]; out[o++] = a[((in[i] & 3) << 4) | (in[i+1] >> 4)]; out[o++] = a[(in[i+1] & 15) << 2]; out[o++] = '='; }
    out[o] = 0;
}

/* Reads the next line into `line`; 0 at EOF. */
static int readline(int fd, char *buf, int *len, char *line, int cap) {
    for (;;) {
        char *lf = memchr(buf, '\n', *len);
        if (lf) {
            int n = lf - buf;
            if (n >= cap) n = cap - 1;
            memcpy(line, buf, n); line[n] = 0;
            memmove(buf, lf + 1, *len - (lf - buf) - 1);
            *len -= (lf - buf) + 1;
            return 1;
        }
        int r = read(fd, buf + *len, 65536 - *len);
        if (r <= 0) return 0;
        *len += r;
    }
}

static void *run(void *arg) {
    worker *w = arg;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strncpy(sa.sun_path, sock_path, sizeof sa.sun_path - 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("connect"); exit(2); }
    char *buf = malloc(65536), line[4096], req[4096], resp[2048], raw[1024];
    int len = 0;
    dprintf(fd, "VERSION\t1\t0\nCPID\t%d\n", getpid());
    while (readline(fd, buf, &len, line, sizeof line) && strcmp(line, "DONE") != 0) {}
    unsigned id = 0, seed = w->id * 7919 + 1;
    long pick = w->id;
    while (!stop) {
        int u = pick++ % nusers;
        seed = seed * 1103515245 + 12345;
        int wrong = (int)((seed >> 16) % 100) < wrong_pct;
        int n = 0;
        raw[n++] = 0; n += sprintf(raw + n, "%s", logins[u]); raw[n++] = 0; n += sprintf(raw + n, "%s%s", passwords[u], wrong ? "x" : "");
        b64((unsigned char *)raw, n, resp);
        int rl = snprintf(req, sizeof req, "AUTH\t%u\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.1\tresp=%s\n", ++id, resp);
        double t0 = now();
        if (write(fd, req, rl) != rl) { perror("write"); exit(2); }
        if (!readline(fd, buf, &len, line, sizeof line)) { fprintf(stderr, "server closed\n"); exit(2); }
        double dt = now() - t0;
        int ok = strncmp(line, "OK\t", 3) == 0, fail = strncmp(line, "FAIL\t", 5) == 0;
        if ((ok && wrong) || (fail && !wrong) || (!ok && !fail)) { w->mismatch++; fprintf(stderr, "mismatch: %s for %s%s\n", line, logins[u], wrong ? " (wrong password)" : ""); }
        if (ok) w->ok++; else w->fail++;
        if (w->nlat == w->caplat) { w->caplat = w->caplat ? w->caplat * 2 : 1 << 16; w->lat = realloc(w->lat, w->caplat * sizeof *w->lat); }
        w->lat[w->nlat++] = (uint32_t)(dt * 1e9 / 100); /* units of 100 ns */
    }
    close(fd);
    return NULL;
}

static int cmp(const void *a, const void *b) { uint32_t x = *(uint32_t *)a, y = *(uint32_t *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: authload SOCKET CONNECTIONS SECONDS USERS_FILE [WRONG_PERCENT]\n"); return 64; }
    sock_path = argv[1];
    int conns = atoi(argv[2]);
    seconds = atoi(argv[3]);
    wrong_pct = argc > 5 ? atoi(argv[5]) : 10;
    FILE *f = fopen(argv[4], "r");
    if (!f) { perror(argv[4]); return 66; }
    char l[1024]; int cap = 1024;
    logins = malloc(cap * sizeof *logins); passwords = malloc(cap * sizeof *passwords);
    while (fgets(l, sizeof l, f)) {
        char *sp = strchr(l, ' '); if (!sp) continue;
        *sp = 0; l[strcspn(sp + 1, "\n") + (sp + 1 - l)] = 0;
        if (nusers == cap) { cap *= 2; logins = realloc(logins, cap * sizeof *logins); passwords = realloc(passwords, cap * sizeof *passwords); }
        logins[nusers] = strdup(l); passwords[nusers] = strdup(sp + 1); nusers++;
    }
    if (!nusers) { fprintf(stderr, "no users in %s\n", argv[4]); return 65; }
    worker *w = calloc(conns, sizeof *w);
    pthread_t *t = calloc(conns, sizeof *t);
    struct rusage r0, r1; getrusage(RUSAGE_SELF, &r0);
    double t0 = now();
    for (int i = 0; i < conns; i++) { w[i].id = i; pthread_create(&t[i], NULL, run, &w[i]); }
    sleep(seconds); stop = 1;
    for (int i = 0; i < conns; i++) pthread_join(t[i], NULL);
    double elapsed = now() - t0;
    getrusage(RUSAGE_SELF, &r1);
    long total = 0, ok = 0, mismatch = 0, nl = 0;
    for (int i = 0; i < conns; i++) { total += w[i].ok + w[i].fail; ok += w[i].ok; mismatch += w[i].mismatch; nl += w[i].nlat; }
    uint32_t *all = malloc(nl * sizeof *all); long k = 0;
    for (int i = 0; i < conns; i++) { memcpy(all + k, w[i].lat, w[i].nlat * sizeof *all); k += w[i].nlat; }
    qsort(all, nl, sizeof *all, cmp);
    double cpu = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6
               + (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
    printf("connections=%d auths=%ld ok=%ld mismatches=%ld auths/s=%.0f p50=%.0fus p99=%.0fus p99.9=%.0fus loadgen_cpu=%.0f%%\n",
           conns, total, ok, mismatch, total / elapsed, all[nl / 2] / 10.0, all[(long)(nl * 0.99)] / 10.0, all[(long)(nl * 0.999)] / 10.0,
           100 * cpu / elapsed);
    return mismatch ? 1 : 0;
}
