#define _GNU_SOURCE
/* authload: a load generator for the Dovecot authentication protocol (client side).
 *
 *   authload SOCKET CONNECTIONS SECONDS USERS_FILE [WRONG_PERCENT [THREADS]]
 *
 * USERS_FILE has one "login password" per line. Each connection has one AUTH PLAIN in flight
 * at a time (as Postfix does), picks users round-robin, sends a wrong password WRONG_PERCENT
 * of the time, and checks every answer (OK for a good password, FAIL for a wrong one): any
 * mismatch fails the run. THREADS (default 1) epoll loops drive the connections, so the load
 * generator costs little CPU and does not preempt the server with a wakeup per answer, as a
 * thread per connection would on a small machine. Prints auths/s, p50/p99/p99.9 latency and
 * its own CPU use (100% = one core).
 */
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "loadgen.h"
#include "workers.h"

static const char *sock_path;
static int seconds, wrong_pct;

typedef struct {
    int fd, handshaken, wrong, user;
    unsigned id, seed;
    long pick;
    double sent;
    char buf[8192];
    int len;
} conn;

static int b64(const unsigned char *in, int n, char *out) {
    static const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        out[o++] = a[in[i] >> 2]; out[o++] = a[((in[i] & 3) << 4) | (in[i+1] >> 4)];
        out[o++] = a[((in[i+1] & 15) << 2) | (in[i+2] >> 6)]; out[o++] = a[in[i+2] & 63];
    }
    if (n - i == 1) { out[o++] = a[in[i] >> 2]; out[o++] = a[(in[i] & 3) << 4]; out[o++] = '='; out[o++] = '='; }
    else if (n - i == 2) { out[o++] = a[in[i] >> 2]; out[o++] = a[((in[i] & 3) << 4) | (in[i+1] >> 4)]; out[o++] = a[(in[i+1] & 15) << 2]; out[o++] = '='; }
    out[o] = 0;
    return o;
}

static void send_request(conn *c) {
    char raw[1024], req[2048];
    c->user = c->pick++ % nusers;
    c->seed = c->seed * 1103515245 + 12345;
    c->wrong = (int)((c->seed >> 16) % 100) < wrong_pct;
    int n = 0;
    raw[n++] = 0; n += sprintf(raw + n, "%s", logins[c->user]); raw[n++] = 0;
    n += sprintf(raw + n, "%s%s", passwords[c->user], c->wrong ? "x" : "");
    int rl = sprintf(req, "AUTH\t%u\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.1\tresp=", ++c->id);
    rl += b64((unsigned char *)raw, n, req + rl);
    req[rl++] = '\n';
    c->sent = now();
    if (write(c->fd, req, rl) != rl) { perror("write"); exit(2); }
}

static void record(worker *w, conn *c, const char *line) {
    count(&w->t, strncmp(line, "OK\t", 3) == 0, strncmp(line, "FAIL\t", 5) == 0, c->wrong, now() - c->sent, line, c->user);
}

/* Handles every complete line in the connection's buffer; 0 when the server closed. */
static int readable(worker *w, conn *c) {
    int r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len - 1);
    if (r <= 0) return 0;
    c->len += r;
    char *start = c->buf, *lf;
    while ((lf = memchr(start, '\n', c->len - (start - c->buf)))) {
        *lf = 0;
        if (!c->handshaken) {
            if (strcmp(start, "DONE") == 0) { c->handshaken = 1; send_request(c); }
        } else {
            record(w, c, start);
            send_request(c);
        }
        start = lf + 1;
    }
    c->len -= start - c->buf;
    memmove(c->buf, start, c->len);
    return 1;
}

static void *run(void *arg) {
    worker *w = arg;
    int ep = epoll_create1(0);
    conn *conns = calloc(w->count, sizeof *conns);
    for (int i = 0; i < w->count; i++) {
        conn *c = &conns[i];
        c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strncpy(sa.sun_path, sock_path, sizeof sa.sun_path - 1);
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("connect"); exit(2); }
        c->pick = (w->first + i) * 7919L;
        c->seed = (w->first + i) * 7919 + 1;
        dprintf(c->fd, "VERSION\t1\t0\nCPID\t%d\n", getpid());
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    struct epoll_event events[256];
    while (!stop) {  /* answers still owed at the end are not counted */
        int n = epoll_wait(ep, events, 256, 100);
        for (int i = 0; i < n && !stop; i++) {
            conn *c = events[i].data.ptr;
            if (!readable(w, c)) { fprintf(stderr, "server closed a connection\n"); exit(2); }
        }
    }
    for (int i = 0; i < w->count; i++) close(conns[i].fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: authload SOCKET CONNECTIONS SECONDS USERS_FILE [WRONG_PERCENT [THREADS]]\n"); return 64; }
    sock_path = argv[1];
    signal(SIGPIPE, SIG_IGN);  /* a server that hangs up is reported, not a silent death */
    int conns = atoi(argv[2]);
    seconds = atoi(argv[3]);
    wrong_pct = argc > 5 ? atoi(argv[5]) : 10;
    int threads = argc > 6 ? atoi(argv[6]) : 1;
    if (conns < 1) { fprintf(stderr, "CONNECTIONS must be at least 1\n"); return 64; }
    load_users(argv[4]);
    return drive(conns, threads, seconds, run);
}
