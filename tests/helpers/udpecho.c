/* A UDP echo server for the networking tests, static so that any rootfs runs it:
 * udpecho PORT answers each datagram with "echo:" and the datagram, forever. */
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
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
                perror("udpecho");
                return 1;
        }
        printf("listening\n");
        fflush(stdout);
        for (;;) {
                char buf[2048], out[2100];
                struct sockaddr_in from;
                socklen_t len = sizeof(from);
                ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
                if (n < 0)
                        continue;
                int m = snprintf(out, sizeof(out), "echo:%.*s", (int)n, buf);
                sendto(s, out, (size_t)m, 0, (struct sockaddr *)&from, len);
        }
}
