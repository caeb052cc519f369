#include "config.h"

#include "sandbox/attach.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fs/container.h"
#include "fs/store.h"
#include "sandbox/tty.h"
#include "util/fsutil.h"

static void cleanup_jsonp(json_t **j)
{
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_jsonp)))

int attach_server_open(struct attach_server *a, int container_dir, struct burrow_error **err)
{
        a->listen_fd = -1;
        for (size_t i = 0; i < ATTACH_CLIENTS; i++)
                a->clients[i] = -1;
        if ((a->dir_fd = fcntl(container_dir, F_DUPFD_CLOEXEC, 3)) < 0)
                return burrow_error_set(err, errno, "dup");
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/" ATTACH_SOCKET, a->dir_fd);
        unlinkat(a->dir_fd, ATTACH_SOCKET, 0);
        a->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (a->listen_fd < 0 || bind(a->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(a->listen_fd, 8) < 0) {
                int e = errno;
                attach_server_close(a);
                return burrow_error_set(err, e, "making the attach socket of the container");
        }
        return 0;
}

int attach_server_fds(struct attach_server *a, struct pollfd *p, int max)
{
        int n = 0;
        if (a->listen_fd >= 0 && n < max)
                p[n++] = (struct pollfd){ .fd = a->listen_fd, .events = POLLIN };
        for (size_t i = 0; i < ATTACH_CLIENTS && n < max; i++)
                if (a->clients[i] >= 0)
                        p[n++] = (struct pollfd){ .fd = a->clients[i], .events = POLLIN };
        return n;
}

static void drop_client(struct attach_server *a, int fd)
{
        for (size_t i = 0; i < ATTACH_CLIENTS; i++)
                if (a->clients[i] == fd) {
                        close(fd);
                        a->clients[i] = -1;
                }
}

void attach_server_events(struct attach_server *a, const struct pollfd *p, int n, int master)
{
        for (int k = 0; k < n; k++) {
                if (!p[k].revents)
                        continue;
                if (p[k].fd == a->listen_fd) {
                        int conn = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                        if (conn < 0)
                                continue;
                        struct ucred cred;
                        socklen_t len = sizeof(cred);
                        size_t slot = ATTACH_CLIENTS;
                        for (size_t i = 0; i < ATTACH_CLIENTS && slot == ATTACH_CLIENTS; i++)
                                if (a->clients[i] < 0)
                                        slot = i;
                        if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != geteuid() ||
                            slot == ATTACH_CLIENTS) {
                                close(conn);
                                continue;
                        }
                        a->clients[slot] = conn;
                        continue;
                }
                char msg[4097];
                ssize_t got = recv(p[k].fd, msg, sizeof(msg), MSG_DONTWAIT);
                if (got < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (got <= 0) {
                        drop_client(a, p[k].fd);
                        continue;
                }
                if (master < 0)
                        continue;
                if (msg[0] == 'i') {
                        for (ssize_t off = 1; off < got;) {
                                ssize_t w = write(master, msg + off, (size_t)(got - off));
                                if (w < 0 && errno == EINTR)
                                        continue;
                                if (w < 0)
                                        break; /* a full pty drops typed-ahead input, as a terminal would */
                                off += w;
                        }
                } else if (msg[0] == 'w' && (size_t)got == 1 + sizeof(struct winsize)) {
                        struct winsize ws;
                        memcpy(&ws, msg + 1, sizeof(ws));
                        ioctl(master, TIOCSWINSZ, &ws);
                }
        }
}

void attach_server_output(struct attach_server *a, const char *buf, size_t n)
{
        char msg[16385];
        for (size_t off = 0; off < n;) {
                size_t chunk = n - off < sizeof(msg) - 1 ? n - off : sizeof(msg) - 1;
                msg[0] = 'o';
                memcpy(msg + 1, buf + off, chunk);
                for (size_t i = 0; i < ATTACH_CLIENTS; i++)
                        /* a client too slow to read loses output rather than stalling the container */
                        if (a->clients[i] >= 0 && send(a->clients[i], msg, chunk + 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
                            errno != EAGAIN)
                                drop_client(a, a->clients[i]);
                off += chunk;
        }
}

void attach_server_close(struct attach_server *a)
{
        for (size_t i = 0; i < ATTACH_CLIENTS; i++)
                if (a->clients[i] >= 0) {
                        close(a->clients[i]);
                        a->clients[i] = -1;
                }
        if (a->listen_fd >= 0) {
                close(a->listen_fd);
                a->listen_fd = -1;
                if (a->dir_fd >= 0)
                        unlinkat(a->dir_fd, ATTACH_SOCKET, 0);
        }
        if (a->dir_fd >= 0) {
                close(a->dir_fd);
                a->dir_fd = -1;
        }
}

int attach_parse_keys(const char *spec, unsigned char *keys, size_t *n, struct burrow_error **err)
{
        *n = 0;
        cleanup_free char *copy = strdup(spec);
        if (copy == NULL)
                return burrow_error_set(err, ENOMEM, "--detach-keys");
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (*n >= 8)
                        return burrow_error_set(err, 0, "--detach-keys `%s`: at most 8 keys", spec);
                if (strncmp(tok, "ctrl-", 5) == 0 && strlen(tok) == 6) {
                        char c = tok[5];
                        if (c >= 'A' && c <= 'Z')
                                c = (char)(c - 'A' + 'a');
                        if ((c >= 'a' && c <= 'z') || c == '@' || c == '[' || c == '\\' || c == ']' || c == '^' || c == '_')
                                keys[(*n)++] = (unsigned char)(c == '@' ? 0 : (c & 0x1f));
                        else
                                return burrow_error_set(err, 0, "--detach-keys `%s`: `%s` is not a control key", spec, tok);
                } else if (strlen(tok) == 1) {
                        keys[(*n)++] = (unsigned char)tok[0];
                } else {
                        return burrow_error_set(err, 0, "--detach-keys `%s`: use a comma-separated list of ctrl-X or single "
                                                        "characters (docker's default: ctrl-p,ctrl-q)",
                                                spec);
                }
        }
        if (*n == 0)
                return burrow_error_set(err, 0, "--detach-keys `%s`: no keys", spec);
        return 0;
}

static void send_winsize(int sock)
{
        struct winsize ws;
        if (!isatty(STDIN_FILENO) || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
                return;
        char msg[1 + sizeof(ws)];
        msg[0] = 'w';
        memcpy(msg + 1, &ws, sizeof(ws));
        send(sock, msg, sizeof(msg), MSG_NOSIGNAL);
}

static int write_all(int fd, const char *buf, size_t n)
{
        for (size_t off = 0; off < n;) {
                ssize_t w = write(fd, buf + off, n - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -1;
                off += (size_t)w;
        }
        return 0;
}

int burrow_attach(const struct burrow_global *global, const char *container, const char *detach_keys, bool no_stdin,
                  int *exit_code, bool *detached, struct burrow_error **err)
{
        unsigned char keys[8];
        size_t nkeys;
        *detached = false;
        if (attach_parse_keys(detach_keys ? detach_keys : "ctrl-p,ctrl-q", keys, &nkeys, err) < 0)
                return -1;
        cleanup_free char *root = global->root ? strdup(global->root) : store_default_root();
        if (root == NULL)
                return burrow_error_set(err, ENOMEM, "store path");
        cleanup_store struct store *s = NULL;
        if (store_open(root, &s, err) < 0)
                return -1;
        char id[CONTAINER_ID_LEN + 1];
        if (container_resolve(s, container, id, err) < 0)
                return -1;
        if (!container_is_running(s, id))
                return burrow_error_set(err, 0, "container %s is not running (start it first: burrow start %s)", container,
                                        container);
        cleanup_close int sock = container_connect(s, id, ATTACH_SOCKET);
        if (sock < 0)
                return burrow_error_set(err, 0, "container %s has no terminal to attach to: it was not started with -t (follow "
                                                "its output with `burrow logs -f %s`)",
                                        container, container);
        sigset_t mask, saved_mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        sigprocmask(SIG_BLOCK, &mask, &saved_mask);
        cleanup_close int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        struct tty_saved saved = { 0 };
        bool input = !no_stdin;
        if (input && isatty(STDIN_FILENO))
                tty_set_raw(STDIN_FILENO, &saved);
        send_winsize(sock);
        size_t matched = 0;
        int ret = 0;
        for (;;) {
                struct pollfd p[3] = { { .fd = sock, .events = POLLIN }, { .fd = sfd, .events = POLLIN },
                                       { .fd = input ? STDIN_FILENO : -1, .events = POLLIN } };
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        ret = burrow_error_set(err, errno, "poll");
                        break;
                }
                if (p[1].revents) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                                send_winsize(sock);
                }
                if (p[2].revents) {
                        unsigned char in[4096];
                        ssize_t n = read(STDIN_FILENO, in, sizeof(in));
                        if (n <= 0) {
                                input = false; /* end of input: keep watching the output */
                        } else {
                                /* the detach sequence is ours; a partial one is passed on once it
                                 * turns out to be typing */
                                char out[1 + 4096 + 8];
                                size_t used = 1;
                                out[0] = 'i';
                                for (ssize_t k = 0; k < n && !*detached; k++) {
                                        if (in[k] == keys[matched]) {
                                                if (++matched == nkeys)
                                                        *detached = true;
                                                continue;
                                        }
                                        memcpy(out + used, keys, matched);
                                        used += matched;
                                        matched = 0;
                                        if (in[k] == keys[0]) {
                                                matched = 1;
                                                if (nkeys == 1)
                                                        *detached = true;
                                                continue;
                                        }
                                        out[used++] = (char)in[k];
                                }
                                if (used > 1)
                                        send(sock, out, used, MSG_NOSIGNAL);
                                if (*detached)
                                        break;
                        }
                }
                if (p[0].revents) {
                        char msg[16385];
                        ssize_t got = recv(sock, msg, sizeof(msg), 0);
                        if (got < 0 && errno == EINTR)
                                continue;
                        if (got <= 0)
                                break; /* the container ended */
                        if (msg[0] == 'o' && write_all(STDOUT_FILENO, msg + 1, (size_t)got - 1) < 0) {
                                ret = burrow_error_set(err, errno, "writing the container's output");
                                break;
                        }
                }
        }
        tty_restore(&saved);
        sigprocmask(SIG_SETMASK, &saved_mask, NULL);
        if (ret < 0 || *detached) {
                *exit_code = 0;
                return ret;
        }
        /* its exit code, once its burrow run has recorded it */
        *exit_code = BURROW_EXIT_FAILURE;
        for (int i = 0; i < 200; i++) {
                if (!container_is_running(s, id)) {
                        cleanup_json json_t *st = container_state(s, id);
                        json_t *code = json_object_get(st, "exit_code");
                        if (json_is_integer(code))
                                *exit_code = (int)json_integer_value(code);
                        break;
                }
                struct timespec ts = { 0, 50 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        return 0;
}
