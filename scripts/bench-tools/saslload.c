#define _GNU_SOURCE
/* saslload: a load generator for the saslauthd protocol (client side).
 *
 *   saslload SOCKET CONNECTIONS SECONDS USERS_FILE [WRONG_PERCENT]
 *
 * USERS_FILE has one "login password" per line. Each request is what libsasl2 and
 * testsaslauthd do: connect to the unix socket, write four counted strings (2-byte big-endian
 * length, then the bytes: login, password, service "smtp", an empty realm), read the counted
 * answer, close. saslauthd answers one request per connection, so a server that would keep the
 * connection open is still measured the same way. CONNECTIONS threads each have one request in
 * flight at a time, pick users round-robin, send a wrong password (the right one plus "x")
 * WRONG_PERCENT (default 10) of the time, and check every answer (OK for a good password, NO
 * for a wrong one): any mismatch fails the run with exit status 1. Prints auths/s,
 * p50/p99/p99.9 latency (connect to answer) and its own CPU use (100% = one core).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "loadgen.h"

static const char *sock_path;
static int seconds, wrong_pct;
static volatile int stop;

typedef struct { tally t; int index; } worker;

static int put(char *out, const char *s, size_t n) {
    out[0] = (char)(n >> 8); out[1] = (char)(n & 0xff);
    memcpy(out + 2, s, n);
    return (int)n + 2;
}

/* Reads exactly n bytes; 0 when the server closed first. */
static int read_full(int fd, char *buf, int n) {
    int got = 0;
    while (got < n) {
        int r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { perror("read"); exit(2); }
        if (r == 0) return 0;
        got += r;
    }
    return 1;
}

static void *run(void *arg) {
    worker *w = arg;
    long pick = w->index * 7919L;
    unsigned seed = w->index * 7919 + 1;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strncpy(sa.sun_path, sock_path, sizeof sa.sun_path - 1);
    struct timeval timeout = { .tv_sec = 30 };
    while (!stop) {
        int user = pick++ % nusers;
        seed = seed * 1103515245 + 12345;
        int wrong = (int)((seed >> 16) % 100) < wrong_pct;
        char pw[1100], req[2400], reply[1024];
        int pl = snprintf(pw, sizeof pw, "%s%s", passwords[user], wrong ? "x" : "");
        int n = 0;
        n += put(req + n, logins[user], strlen(logins[user]));
        n += put(req + n, pw, pl);
        n += put(req + n, "smtp", 4);
        n += put(req + n, "", 0);
        double sent = now();
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0) { perror("socket"); exit(2); }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        while (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            if (errno == EINTR) continue;
            perror("connect"); exit(2);
        }
        if (write(fd, req, n) != n) { perror("write"); exit(2); }
        unsigned char head[2];
        if (!read_full(fd, (char *)head, 2)) { fprintf(stderr, "server closed a connection without answering\n"); exit(2); }
        int len = head[0] << 8 | head[1];
        if (len >= (int)sizeof reply) { fprintf(stderr, "answer too long (%d bytes)\n", len); exit(2); }
        if (!read_full(fd, reply, len)) { fprintf(stderr, "server closed a connection mid-answer\n"); exit(2); }
        reply[len] = 0;
        double dt = now() - sent;
        close(fd);
        if (stop) break;  /* answers arriving after the end are not counted */
        count(&w->t, strncmp(reply, "OK", 2) == 0, strncmp(reply, "NO", 2) == 0, wrong, dt, reply, user);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: saslload SOCKET CONNECTIONS SECONDS USERS_FILE [WRONG_PERCENT]\n"); return 64; }
    sock_path = argv[1];
    signal(SIGPIPE, SIG_IGN);  /* a server that hangs up is reported, not a silent death */
    int conns = atoi(argv[2]);
    seconds = atoi(argv[3]);
    wrong_pct = argc > 5 ? atoi(argv[5]) : 10;
    if (conns < 1) { fprintf(stderr, "CONNECTIONS must be at least 1\n"); return 64; }
    load_users(argv[4]);
    worker *w = calloc(conns, sizeof *w);
    pthread_t *t = calloc(conns, sizeof *t);
    pthread_attr_t attr; pthread_attr_init(&attr); pthread_attr_setstacksize(&attr, 256 * 1024);
    struct rusage r0; getrusage(RUSAGE_SELF, &r0);
    double t0 = now();
    for (int i = 0; i < conns; i++) {
        w[i].index = i;
        if (pthread_create(&t[i], &attr, run, &w[i]) != 0) { fprintf(stderr, "pthread_create failed\n"); return 2; }
    }
    sleep(seconds); stop = 1;
    double elapsed = now() - t0;
    for (int i = 0; i < conns; i++) pthread_join(t[i], NULL);
    tally **tallies = malloc(conns * sizeof *tallies);
    for (int i = 0; i < conns; i++) tallies[i] = &w[i].t;
    return report(conns, tallies, conns, elapsed, &r0);
}
