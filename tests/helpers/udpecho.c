/* A UDP echo server for the networking tests, static so that any rootfs runs it:
 * udpecho PORT answers each datagram with "echo:" and the datagram, forever, on IPv4 and IPv6
 * (one dual-stack socket; IPv4 alone where the container has no IPv6). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: udpecho PORT\n");
                return 2;
        }
        uint16_t port = htons((uint16_t)atoi(argv[1]));
        int off = 0;
        struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = port, .sin6_addr = IN6ADDR_ANY_INIT };
        int s = socket(AF_INET6, SOCK_DGRAM, 0);
        if (s < 0 || setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
            bind(s, (struct sockaddr *)&a6, sizeof(a6)) < 0) {
                if (s >= 0)
                        close(s);
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = port };
                s = socket(AF_INET, SOCK_DGRAM, 0);
                if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
                        perror("udpecho");
                        return 1;
                }
        }
        printf("listening\n");
        fflush(stdout);
        for (;;) {
                char buf[2048], out[2100];
                struct sockaddr_storage from;
                socklen_t len = sizeof(from);
                ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
                if (n < 0)
                        continue;
                int m = snprintf(out, sizeof(out), "echo:%.*s", (int)n, buf);
                sendto(s, out, (size_t)m, 0, (struct sockaddr *)&from, len);
        }
}
