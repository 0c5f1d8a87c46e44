#define _GNU_SOURCE
/* noop_auth: the ceiling of the benchmark. Speaks the server side of the Dovecot auth protocol
 * on a unix socket and answers OK to every AUTH at once, without looking at the password.
 *   noop_auth SOCKET
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct { int fd; char in[65536]; int len; } conn;

static const char hello[] = "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t1\nCUID\t1\n"
                            "COOKIE\t0123456789abcdef0123456789abcdef\nDONE\n";

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: noop_auth SOCKET\n"); return 64; }
    signal(SIGPIPE, SIG_IGN);  /* a client that hung up mid-answer is not a reason to die */
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strncpy(sa.sun_path, argv[1], sizeof sa.sun_path - 1);
    unlink(argv[1]);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) || listen(ls, 1024)) { perror("bind"); return 1; }
    chmod(argv[1], 0666);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event events[64];
    char out[65536];
    for (;;) {
        int n = epoll_wait(ep, events, 64, -1);
        for (int i = 0; i < n; i++) {
            conn *c = events[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    c = calloc(1, sizeof *c); c->fd = fd;
                    struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                    if (write(fd, hello, sizeof hello - 1) < 0) {}
                }
                continue;
            }
            int r = read(c->fd, c->in + c->len, sizeof c->in - c->len);
            if (r <= 0) { close(c->fd); free(c); continue; }
            c->len += r;
            int o = 0, start = 0;
            for (int k = 0; k < c->len; k++) {
                if (c->in[k] != '\n') continue;
                if (k - start > 5 && memcmp(c->in + start, "AUTH\t", 5) == 0) {
                    char *id = c->in + start + 5, *tab = memchr(id, '\t', k - start - 5);
                    int idlen = tab ? (int)(tab - id) : 0;
                    o += snprintf(out + o, sizeof out - o, "OK\t%.*s\tuser=x\n", idlen, id);
                }
                start = k + 1;
            }
            memmove(c->in, c->in + start, c->len - start);
            c->len -= start;
            if (o && write(c->fd, out, o) < 0) {}
        }
    }
}
