/* The meeting point of the engine's persistent thread team (cython/engine.pyx: _team_thread).
 *
 * A waiting thread spins (with pause) for at most spin_ns, then calls sched_yield between checks for
 * at most yield_ns, then sleeps on a futex: never an unbounded spin, so a thread that waits for a
 * slower one leaves its core to other work on a loaded machine (OpenMP's active wait policy makes
 * OpenMP codes collapse there), while on an idle machine the short spin catches the other thread
 * without a system call. A waker calls FUTEX_WAKE only when a sleeper has announced itself; both sides
 * use sequentially consistent order ("change the word, read the sleepers" against "count oneself a
 * sleeper, read the word in FUTEX_WAIT"), so no wake-up is lost. */
#ifndef PARSNN_TEAM_H
#define PARSNN_TEAM_H

#include <stdint.h>
#include <limits.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/futex.h>

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

/* One meeting point per interval (cython/engine.pyx: _team_thread): the threads 1 .. n-1 arrive and
 * wait for the release; thread 0 waits until they have all arrived (parsnn_team_collect), does the
 * serial part alone (it keeps every MPI call on one thread) and releases them (parsnn_team_release).
 * A thread that finishes its share thus waits once per interval, not at two barriers. Waits go
 * through parsnn_team_await; thread 0 sleeps on the arrival count. */
typedef struct {
    /* line 1: thread 0's spin word, written by every arriving thread */
    int arrived;        /* threads 1 .. n-1 arrived in this generation: thread 0's futex word */
    int master_sleeps;  /* thread 0 is in (or about to enter) FUTEX_WAIT on arrived */
    /* line 2: the waiters' spin word, written by thread 0 once per interval, and what the waiters
     * read while they wait: no arrival invalidates the line the waiters spin on */
    _Alignas(64) int gen;   /* generation: the others' futex word */
    int sleepers;       /* threads in FUTEX_WAIT on gen */
    int n;
    int64_t spin_ns, yield_ns;
} __attribute__((aligned(64))) parsnn_team_sync;

static inline void parsnn_team_init(parsnn_team_sync *s, int n, int64_t spin_ns, int64_t yield_ns)
{
    s->arrived = 0;
    s->gen = 0;
    s->master_sleeps = 0;
    s->sleepers = 0;
    s->n = n;
    s->spin_ns = spin_ns;
    s->yield_ns = yield_ns;
}

/* Spin, then yield, then sleep on *word until it differs from old (when equal == 0) or reaches
 * old (when equal == 1, *word only grows); *sleepers counts the sleepers. Returns the ns waited. */
static inline int64_t parsnn_team_await(int *word, int old, int equal, int *sleepers, int64_t spin_ns,
                                        int64_t yield_ns)
{
#define PARSNN_DONE(v) (equal ? (v) >= old : (v) != old)
    if (PARSNN_DONE(__atomic_load_n(word, __ATOMIC_ACQUIRE)))
        return 0;
    const int64_t t0 = parsnn_team_ns();
    int64_t now = t0;
    for (int k = 0; now - t0 < spin_ns; k++) {
        if (PARSNN_DONE(__atomic_load_n(word, __ATOMIC_ACQUIRE)))
            return parsnn_team_ns() - t0;
        parsnn_pause();
        if ((k & 15) == 15)
            now = parsnn_team_ns();
    }
    while (now - t0 < spin_ns + yield_ns) {
        if (PARSNN_DONE(__atomic_load_n(word, __ATOMIC_ACQUIRE)))
            return parsnn_team_ns() - t0;
        sched_yield();
        now = parsnn_team_ns();
    }
    __atomic_add_fetch(sleepers, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        const int v = __atomic_load_n(word, __ATOMIC_SEQ_CST);
        if (PARSNN_DONE(v))
            break;
        syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
    }
    __atomic_sub_fetch(sleepers, 1, __ATOMIC_SEQ_CST);
    return parsnn_team_ns() - t0;
#undef PARSNN_DONE
}

/* Threads 1 .. n-1: announce the end of the share and wait for thread 0's release. */
static inline int64_t parsnn_team_arrive_wait(parsnn_team_sync *s)
{
    const int gen = __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE);
    __atomic_add_fetch(&s->arrived, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&s->master_sleeps, __ATOMIC_SEQ_CST) > 0)
        syscall(SYS_futex, &s->arrived, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    return parsnn_team_await(&s->gen, gen, 0, &s->sleepers, s->spin_ns, s->yield_ns);
}

/* Thread 0: wait until threads 1 .. n-1 have arrived. */
static inline int64_t parsnn_team_collect(parsnn_team_sync *s)
{
    return parsnn_team_await(&s->arrived, s->n - 1, 1, &s->master_sleeps, s->spin_ns, s->yield_ns);
}

/* Thread 0: start the next generation and wake the sleepers. */
static inline void parsnn_team_release(parsnn_team_sync *s)
{
    __atomic_store_n(&s->arrived, 0, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->gen, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&s->sleepers, __ATOMIC_SEQ_CST) > 0)
        syscall(SYS_futex, &s->gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

#endif
