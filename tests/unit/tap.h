/* Minimal TAP producer for the C unit tests (read by automake's tap-driver.sh). */
#ifndef BURROW_TESTS_TAP_H
#define BURROW_TESTS_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                                              \
        do {                                                                                       \
                int _c = !!(cond);                                                                 \
                printf("%s %d - ", _c ? "ok" : "not ok", ++tap_n);                                 \
                printf(__VA_ARGS__);                                                               \
                printf("\n");                                                                      \
                if (!_c) {                                                                         \
                        tap_failed++;                                                              \
                        printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
                }                                                                                  \
        } while (0)

#define is_str(got, want, ...)                                                                     \
        do {                                                                                       \
                const char *_g = (got), *_w = (want);                                              \
                ok(_g && _w && strcmp(_g, _w) == 0, __VA_ARGS__);                                  \
                if (!(_g && _w && strcmp(_g, _w) == 0))                                            \
                        printf("#   got `%s`, want `%s`\n", _g ? _g : "(null)", _w ? _w : "(null)"); \
        } while (0)

static inline int tap_done(void)
{
        printf("1..%d\n", tap_n);
        return tap_failed ? 1 : 0;
}

#endif
