/* Scope-bound cleanup for every resource (systemd/crun style). */
#ifndef BURROW_UTIL_CLEANUP_H
#define BURROW_UTIL_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p) { free(*(void **)p); }
static inline void cleanup_closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
static inline void cleanup_fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}
static inline void cleanup_closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}
static inline void cleanup_strvp(char ***v)
{
        if (*v) {
                for (char **p = *v; *p; p++)
                        free(*p);
                free(*v);
        }
}

#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_close __attribute__((cleanup(cleanup_closep)))
#define cleanup_fclose __attribute__((cleanup(cleanup_fclosep)))
#define cleanup_closedir __attribute__((cleanup(cleanup_closedirp)))
#define cleanup_strv __attribute__((cleanup(cleanup_strvp)))

/* Hand a resource out of a cleanup-guarded variable: the reader sees where it leaves. */
#define steal_pointer(pp)                                                                          \
        ({                                                                                         \
                __typeof__(*(pp)) _stolen = *(pp);                                                 \
                *(pp) = NULL;                                                                      \
                _stolen;                                                                           \
        })
#define steal_fd(fdp)                                                                              \
        ({                                                                                         \
                int _stolen = *(fdp);                                                              \
                *(fdp) = -1;                                                                       \
                _stolen;                                                                           \
        })

#define BURROW_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#define TEMP_FAILURE_RETRY_INT(expr)                                                               \
        ({                                                                                         \
                long _r;                                                                           \
                do                                                                                 \
                        _r = (long)(expr);                                                         \
                while (_r < 0 && errno == EINTR);                                                  \
                _r;                                                                                \
        })

#endif
