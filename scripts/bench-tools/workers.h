/* What the epoll load generators (authload.c, smload.c) share: the connections split over
 * THREADS epoll loops, the run of SECONDS, and the result line. Include after loadgen.h. */
#include <pthread.h>
#include <unistd.h>

static volatile int stop;

/* One epoll loop's share of the connections. */
typedef struct { tally t; int first, count; } worker;

/* Runs `run` on THREADS threads for SECONDS, CONNECTIONS split between them, then reports. */
static int drive(int conns, int threads, int seconds, void *(*run)(void *)) {
    if (threads < 1) threads = 1;
    if (threads > conns) threads = conns;
    worker *w = calloc(threads, sizeof *w);
    pthread_t *t = calloc(threads, sizeof *t);
    for (int i = 0, first = 0; i < threads; i++) {
        w[i].first = first;
        w[i].count = conns / threads + (i < conns % threads);
        first += w[i].count;
    }
    struct rusage r0; getrusage(RUSAGE_SELF, &r0);
    double t0 = now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, run, &w[i]);
    sleep(seconds); stop = 1;
    double elapsed = now() - t0;
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    tally **tallies = malloc(threads * sizeof *tallies);
    for (int i = 0; i < threads; i++) tallies[i] = &w[i].t;
    return report(conns, tallies, threads, elapsed, &r0);
}
