/* A barrier for the engine's persistent thread team (cython/engine.pyx: _team_thread).
 *
 * The T threads of a rank meet twice per min-delay interval. A waiting thread spins (with pause) for
 * at most spin_ns, then calls sched_yield between checks for at most yield_ns, then sleeps on a futex
 * until the last thread arrives: never an unbounded spin, so a thread that waits for a slower one
 * leaves its core to other work on a loaded machine (OpenMP's active wait policy makes OpenMP codes
 * collapse there), while on an idle machine the short spin catches the other thread's arrival
 * without a system call.
 *
 * Generation counting: the last thread to arrive resets the count and advances the generation; the
 * others wait for the generation to change. The futex word is the generation; the last arriver wakes
 * the sleepers only when some thread has announced that it sleeps (sequentially consistent order of
 * "advance the generation, read the sleepers" against "count oneself a sleeper, read the generation
 * in FUTEX_WAIT", so no wake-up is lost). */
#ifndef PARSNN_TEAM_H
#define PARSNN_TEAM_H

#include <stdint.h>
#include <limits.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/futex.h>

typedef struct {
    int count;          /* threads arrived in this generation */
    int gen;            /* generation: the futex word */
    int sleepers;       /* threads in FUTEX_WAIT (or about to be) */
    int n;              /* threads that meet */
    int64_t spin_ns, yield_ns;
} parsnn_barrier;

static inline void parsnn_barrier_init(parsnn_barrier *b, int n, int64_t spin_ns, int64_t yield_ns)
{
    b->count = 0;
    b->gen = 0;
    b->sleepers = 0;
    b->n = n;
    b->spin_ns = spin_ns;
    b->yield_ns = yield_ns;
}

static inline int64_t parsnn_team_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void parsnn_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Wait until all b->n threads have called it; returns the nanoseconds this thread waited. */
static inline int64_t parsnn_barrier_wait(parsnn_barrier *b)
{
    const int gen = __atomic_load_n(&b->gen, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == b->n) {
        __atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&b->gen, gen + 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&b->sleepers, __ATOMIC_SEQ_CST) > 0)
            syscall(SYS_futex, &b->gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
        return 0;
    }
    const int64_t t0 = parsnn_team_ns();
    int64_t now = t0;
    for (int k = 0; now - t0 < b->spin_ns; k++) {
        if (__atomic_load_n(&b->gen, __ATOMIC_ACQUIRE) != gen)
            return parsnn_team_ns() - t0;
        parsnn_pause();
        if ((k & 15) == 15)
            now = parsnn_team_ns();
    }
    while (now - t0 < b->spin_ns + b->yield_ns) {
        if (__atomic_load_n(&b->gen, __ATOMIC_ACQUIRE) != gen)
            return parsnn_team_ns() - t0;
        sched_yield();
        now = parsnn_team_ns();
    }
    __atomic_add_fetch(&b->sleepers, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&b->gen, __ATOMIC_SEQ_CST) == gen)
        syscall(SYS_futex, &b->gen, FUTEX_WAIT_PRIVATE, gen, NULL, NULL, 0);
    __atomic_sub_fetch(&b->sleepers, 1, __ATOMIC_SEQ_CST);
    return parsnn_team_ns() - t0;
}

#endif
