#define _GNU_SOURCE
/* smload: a load generator for Postfix's socketmap protocol (client side), as Postfix's
 * dict_sockmap uses it: persistent connections, one request in flight on each.
 *
 *   smload SOCKET CONNECTIONS SECONDS KEYS_FILE [THREADS]
 *
 * KEYS_FILE has one "map key expected" line per lookup ("-" expected: NOTFOUND). Each
 * connection sends `<len>:MAP KEY,` netstrings for the keys round-robin and checks every reply
 * against the expected value: any mismatch fails the run with exit status 1. THREADS (default 1)
 * epoll loops drive the connections, as authload does. Prints lookups/s (as auths/s),
 * p50/p99/p99.9 latency (send to reply) and its own CPU use (100% = one core).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "loadgen.h"
#include "workers.h"

static const char *sock_path;
static int seconds;
static char **maps;

/* Reads "map key expected" lines into maps[], logins[] (keys) and passwords[] (expected). */
static void load_keys(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(66); }
    char l[2048]; int cap = 1024;
    maps = malloc(cap * sizeof *maps); logins = malloc(cap * sizeof *logins); passwords = malloc(cap * sizeof *passwords);
    while (fgets(l, sizeof l, f)) {
        l[strcspn(l, "\n")] = 0;
        char *a = strchr(l, ' '); if (!a) continue; *a++ = 0;
        char *b = strchr(a, ' '); if (!b) continue; *b++ = 0;
        if (nusers == cap) {
            cap *= 2;
            maps = realloc(maps, cap * sizeof *maps); logins = realloc(logins, cap * sizeof *logins); passwords = realloc(passwords, cap * sizeof *passwords);
        }
        maps[nusers] = strdup(l); logins[nusers] = strdup(a); passwords[nusers] = strdup(b); nusers++;
    }
    fclose(f);
    if (!nusers) { fprintf(stderr, "no keys in %s\n", path); exit(65); }
}

typedef struct {
    int fd, key;
    long pick;
    double sent;
    char buf[65536];
    int len;
} conn;

static void send_request(conn *c) {
    char payload[2100], req[2200];
    c->key = c->pick++ % nusers;
    int pl = snprintf(payload, sizeof payload, "%s %s", maps[c->key], logins[c->key]);
    int n = snprintf(req, sizeof req, "%d:%s,", pl, payload);
    c->sent = now();
    if (write(c->fd, req, n) != n) { perror("write"); exit(2); }
}

static void record(worker *w, conn *c, const char *reply) {
    int notfound_expected = strcmp(passwords[c->key], "-") == 0;
    int ok = strncmp(reply, "OK ", 3) == 0 && strcmp(reply + 3, passwords[c->key]) == 0;
    count(&w->t, ok, strncmp(reply, "NOTFOUND", 8) == 0, notfound_expected, now() - c->sent, reply, c->key);
}

/* Handles every complete reply in the connection's buffer; 0 when the server closed. */
static int readable(worker *w, conn *c) {
    int r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len - 1);
    if (r <= 0) return 0;
    c->len += r;
    char *start = c->buf, *colon;
    while ((colon = memchr(start, ':', c->len - (start - c->buf)))) {
        int len = atoi(start), head = (int)(colon - start) + 1;
        if (c->len - (start - c->buf) < head + len + 1) break;
        if (start[head + len] != ',') { fprintf(stderr, "reply is not a netstring\n"); exit(2); }
        start[head + len] = 0;
        record(w, c, start + head);
        send_request(c);
        start += head + len + 1;
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
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
        send_request(c);
    }
    struct epoll_event events[256];
    while (!stop) {  /* replies still owed at the end are not counted */
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
    if (argc < 5) { fprintf(stderr, "usage: smload SOCKET CONNECTIONS SECONDS KEYS_FILE [THREADS]\n"); return 64; }
    sock_path = argv[1];
    signal(SIGPIPE, SIG_IGN);
    int conns = atoi(argv[2]);
    seconds = atoi(argv[3]);
    int threads = argc > 5 ? atoi(argv[5]) : 1;
    if (conns < 1) { fprintf(stderr, "CONNECTIONS must be at least 1\n"); return 64; }
    load_keys(argv[4]);
    return drive(conns, threads, seconds, run);
}
