/* A TCP proxy for the tests: forwards 127.0.0.1:LISTEN to 127.0.0.1:UPSTREAM, but cuts the
 * connection after CUT bytes of a blob download, DROPS times (-1: always).
 * Usage: dropproxy UPSTREAM-PORT CUT DROPS   (prints the port it listens on, then serves) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int connect_upstream(int port)
{
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
                return -1;
        return s;
}

static void serve(int client, int upstream_port, long cut, atomic_int *drops)
{
        int up = connect_upstream(upstream_port);
        if (up < 0)
                return;
        char buf[65536];
        long sent_down = 0;
        int cutting = 0;
        struct pollfd p[2] = { { .fd = client, .events = POLLIN }, { .fd = up, .events = POLLIN } };
        for (;;) {
                if (poll(p, 2, 30000) <= 0)
                        return;
                if (p[0].revents) {
                        ssize_t n = read(client, buf, sizeof(buf));
                        if (n <= 0)
                                return;
                        /* a new request on this connection: cut it if it fetches a blob */
                        buf[n < (ssize_t)sizeof(buf) ? n : n - 1] = '\0';
                        if (strstr(buf, "/blobs/sha256:") && strncmp(buf, "GET", 3) == 0) {
                                cutting = 1; /* a candidate: counted only if it grows past CUT */
                                sent_down = 0;
                        }
                        if (write(up, buf, (size_t)n) != n)
                                return;
                }
                if (p[1].revents) {
                        ssize_t n = read(up, buf, sizeof(buf));
                        if (n <= 0)
                                return;
                        if (cutting && sent_down + n > cut) {
                                int d = atomic_load(drops);
                                while (d != 0 && !atomic_compare_exchange_weak(drops, &d, d > 0 ? d - 1 : d))
                                        ;
                                cutting = 0;
                                if (d != 0) {
                                        if (cut > sent_down && write(client, buf, (size_t)(cut - sent_down)) < 0)
                                                return;
                                        return; /* the connection drops mid-layer */
                                }
                        }
                        if (write(client, buf, (size_t)n) != n)
                                return;
                        sent_down += n;
                }
        }
}

int main(int argc, char **argv)
{
        if (argc != 4) {
                fprintf(stderr, "usage: dropproxy UPSTREAM-PORT CUT DROPS\n");
                return 2;
        }
        int upstream = atoi(argv[1]);
        long cut = atol(argv[2]);
        atomic_int *drops = mmap(NULL, sizeof(*drops), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (drops == MAP_FAILED)
                return 1;
        atomic_store(drops, atoi(argv[3]));
        signal(SIGCHLD, SIG_IGN);
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(a);
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 64) < 0 ||
            getsockname(s, (struct sockaddr *)&a, &len) < 0)
                return 1;
        printf("%d\n", ntohs(a.sin_port));
        fflush(stdout);
        for (;;) {
                int c = accept(s, NULL, NULL);
                if (c < 0)
                        continue;
                if (fork() == 0) {
                        close(s);
                        serve(c, upstream, cut, drops);
                        _exit(0);
                }
                close(c);
        }
}
