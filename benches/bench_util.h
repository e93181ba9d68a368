/*
 * Helpers shared by the benchmark programs (rak_bench, and the raw-UDP and ENet
 * baselines in benches/): the wire layout of the benchmark messages, a nanosecond
 * clock, percentiles, the process's RSS and CPU time, and the one BENCH output line.
 * Plain C99 plus examples-c/portable.h (clock, sleep, CPU time and RSS on POSIX and
 * Windows); no library dependency, so every baseline measures the same way.
 *
 * Benchmark messages (all integers little-endian), byte 0 is always 134
 * (ID_USER_PACKET_ENUM, so RakNet treats them as user data), byte 1 the kind:
 *
 *   'S' start   u64 count, u32 size          receiver resets its counters
 *   'D' data    u32 seq, u64 sent_ns         counted; delivery latency recorded
 *   'E' end     u64 count                    receiver answers 'R' once count arrived
 *   'R' report  u64 received, u64 bytes, u64 first_ns, u64 last_ns, u64 errors,
 *               u64 mean_ns, u64 p50_ns, u64 p99_ns, u64 max_ns
 *   'P' probe   u32 seq, u64 sent_ns         echoed back unchanged (round trips)
 *   'Q' query                                receiver answers 'q'
 *   'q' stats   u64 rss_kb, u64 cpu_us, u64 conns, u64 messages
 *
 * Times are CLOCK_MONOTONIC nanoseconds. Sender and receiver run on one host, so they
 * share that clock: a receiver's "last message arrived" time can be compared with the
 * sender's "first send" time, and one-way latency is receive time minus sent_ns.
 */
#ifndef RAK_BENCH_UTIL_H
#define RAK_BENCH_UTIL_H

#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../examples-c/portable.h"

#define BENCH_ID 134
#define BENCH_DATA_HEADER 14 /* id, kind, u32 seq, u64 sent_ns */
#define BENCH_REPORT_LEN (2 + 9 * 8)
#define BENCH_STATS_LEN (2 + 4 * 8)

static inline uint64_t bench_now_ns(void)
{
    return ex_now_ns();
}

static inline void bench_sleep_ns(uint64_t ns)
{
    ex_sleep_ns(ns);
}

static inline void bench_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline void bench_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline uint32_t bench_get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static inline uint64_t bench_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* A data or probe message of `size` bytes (>= BENCH_DATA_HEADER) in buf. */
static inline void bench_fill(uint8_t *buf, size_t size, uint8_t kind, uint32_t seq, uint64_t sent_ns)
{
    buf[0] = BENCH_ID;
    buf[1] = kind;
    bench_put32(buf + 2, seq);
    bench_put64(buf + 6, sent_ns);
    (void)size; /* the padding is left as it is: its content does not matter */
}

/* --- latency samples ------------------------------------------------------------- */

struct bench_samples {
    uint64_t *v;
    size_t len, cap, limit;
    uint64_t sum, max, seen;
};

/* Keeps at most `limit` samples (later ones still count in sum, max and seen). */
static inline void bench_samples_init(struct bench_samples *s, size_t limit)
{
    memset(s, 0, sizeof *s);
    s->limit = limit;
}

static inline void bench_samples_reset(struct bench_samples *s)
{
    s->len = 0;
    s->sum = s->max = s->seen = 0;
}

static inline void bench_samples_add(struct bench_samples *s, uint64_t x)
{
    s->seen++;
    s->sum += x;
    if (x > s->max) {
        s->max = x;
    }
    if (s->len == s->cap && s->cap < s->limit) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        if (cap > s->limit) {
            cap = s->limit;
        }
        uint64_t *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    if (s->len < s->cap) {
        s->v[s->len++] = x;
    }
}

static int bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts the samples; then bench_percentile() may be called. */
static inline void bench_samples_sort(struct bench_samples *s)
{
    if (s->len > 1) {
        qsort(s->v, s->len, sizeof *s->v, bench_cmp_u64);
    }
}

/* Nearest-rank percentile (0 < p <= 100) of sorted samples; 0 if there are none. */
static inline uint64_t bench_percentile(const struct bench_samples *s, double p)
{
    if (s->len == 0) {
        return 0;
    }
    size_t rank = (size_t)ceil(p / 100.0 * (double)s->len);
    if (rank < 1) {
        rank = 1;
    }
    if (rank > s->len) {
        rank = s->len;
    }
    return s->v[rank - 1];
}

static inline uint64_t bench_mean(const struct bench_samples *s)
{
    return s->seen ? s->sum / s->seen : 0;
}

/* --- the process --------------------------------------------------------------- */

/* Resident set size in KiB (Linux: VmRSS; Windows: the working set), 0 if unknown. */
static inline uint64_t bench_rss_kb(void)
{
    return ex_rss_kb();
}

/* User plus system CPU time of the whole process (every thread), in microseconds. */
static inline uint64_t bench_cpu_us(void)
{
    return ex_cpu_us();
}

/* --- receiver-side accounting -------------------------------------------------- */

/* What a receiver knows about the current run ('S' .. 'E'). */
struct bench_rx {
    uint64_t expected;   /* count announced by 'S' (0 = unknown) */
    uint64_t end_count;  /* count announced by 'E' (0 = not yet) */
    uint64_t received, bytes, first_ns, last_ns, errors;
    uint32_t next_seq;   /* for the in-order check */
    bool ordered;        /* check order (reliable ordered) */
    bool reported;
    uint64_t total_messages; /* every 'D' since the start of the process */
    struct bench_samples lat;
};

static inline void bench_rx_init(struct bench_rx *rx)
{
    memset(rx, 0, sizeof *rx);
    bench_samples_init(&rx->lat, 1u << 22);
}

static inline void bench_rx_start(struct bench_rx *rx, const uint8_t *msg, size_t len, bool ordered)
{
    uint64_t total = rx->total_messages;
    struct bench_samples lat = rx->lat;
    memset(rx, 0, sizeof *rx);
    rx->lat = lat;
    bench_samples_reset(&rx->lat);
    rx->total_messages = total;
    rx->expected = len >= 10 ? bench_get64(msg + 2) : 0;
    rx->ordered = ordered;
}

static inline void bench_rx_data(struct bench_rx *rx, const uint8_t *msg, size_t len, uint64_t now)
{
    rx->total_messages++;
    if (len < BENCH_DATA_HEADER) {
        rx->errors++;
        return;
    }
    uint32_t seq = bench_get32(msg + 2);
    uint64_t sent = bench_get64(msg + 6);
    if (rx->received == 0) {
        rx->first_ns = now;
    }
    rx->last_ns = now;
    rx->received++;
    rx->bytes += len;
    if (rx->ordered) {
        if (seq != rx->next_seq) {
            rx->errors++;
        }
        rx->next_seq = seq + 1;
    }
    bench_samples_add(&rx->lat, now > sent ? now - sent : 0);
}

/* Whether the 'R' report is due (everything announced by 'E' has arrived). */
static inline bool bench_rx_complete(const struct bench_rx *rx)
{
    return rx->end_count > 0 && !rx->reported && rx->received >= rx->end_count;
}

/* Writes the 'R' report (BENCH_REPORT_LEN bytes) into out. */
static inline void bench_rx_report(struct bench_rx *rx, uint8_t *out)
{
    bench_samples_sort(&rx->lat);
    out[0] = BENCH_ID;
    out[1] = 'R';
    uint64_t f[9] = {rx->received, rx->bytes, rx->first_ns, rx->last_ns, rx->errors,
                     bench_mean(&rx->lat), bench_percentile(&rx->lat, 50),
                     bench_percentile(&rx->lat, 99), rx->lat.max};
    for (int i = 0; i < 9; i++) {
        bench_put64(out + 2 + 8 * i, f[i]);
    }
    rx->reported = true;
}

/* Writes the 'q' stats answer (BENCH_STATS_LEN bytes) into out. */
static inline void bench_stats(uint8_t *out, uint64_t conns, uint64_t messages)
{
    out[0] = BENCH_ID;
    out[1] = 'q';
    bench_put64(out + 2, bench_rss_kb());
    bench_put64(out + 10, bench_cpu_us());
    bench_put64(out + 18, conns);
    bench_put64(out + 26, messages);
}

/* --- the report line ------------------------------------------------------------- */

/* One result. Fields that do not apply stay NAN (printed "-"). */
struct bench_result {
    const char *lib, *test;
    uint64_t size, count;
    double delivered, clients, loss_pct, seconds, msgs_per_s, mb_per_s;
    double mean_us, p50_us, p99_us, max_us;
    double connect_s, rss_kb_per_conn, cpu_us_per_msg;
};

static inline void bench_result_init(struct bench_result *r, const char *lib, const char *test)
{
    r->lib = lib;
    r->test = test;
    r->size = r->count = 0;
    r->delivered = r->clients = r->loss_pct = r->seconds = r->msgs_per_s = r->mb_per_s = NAN;
    r->mean_us = r->p50_us = r->p99_us = r->max_us = NAN;
    r->connect_s = r->rss_kb_per_conn = r->cpu_us_per_msg = NAN;
}

static inline void bench_field(const char *key, double v, int decimals)
{
    if (isnan(v)) {
        printf(" %s=-", key);
    } else {
        printf(" %s=%.*f", key, decimals, v);
    }
}

/*
 * Prints the one machine-readable line, always with the same keys in the same order:
 * BENCH lib= test= size= count= delivered= clients= loss_pct= seconds= msgs_per_s=
 * mb_per_s= mean_us= p50_us= p99_us= max_us= connect_s= rss_kb_per_conn= cpu_us_per_msg=
 * MB is 10^6 bytes of payload.
 */
static inline void bench_print(const struct bench_result *r)
{
    printf("BENCH lib=%s test=%s size=%" PRIu64 " count=%" PRIu64, r->lib, r->test, r->size,
           r->count);
    bench_field("delivered", r->delivered, 0);
    bench_field("clients", r->clients, 0);
    bench_field("loss_pct", r->loss_pct, 1);
    bench_field("seconds", r->seconds, 4);
    bench_field("msgs_per_s", r->msgs_per_s, 0);
    bench_field("mb_per_s", r->mb_per_s, 2);
    bench_field("mean_us", r->mean_us, 1);
    bench_field("p50_us", r->p50_us, 1);
    bench_field("p99_us", r->p99_us, 1);
    bench_field("max_us", r->max_us, 1);
    bench_field("connect_s", r->connect_s, 3);
    bench_field("rss_kb_per_conn", r->rss_kb_per_conn, 2);
    bench_field("cpu_us_per_msg", r->cpu_us_per_msg, 2);
    printf("\n");
    fflush(stdout);
}

/* Fills the throughput/latency fields of a one-way run from the receiver's report. */
static inline void bench_from_report(struct bench_result *r, const uint8_t *rep, uint64_t first_send_ns)
{
    uint64_t received = bench_get64(rep + 2), bytes = bench_get64(rep + 10);
    uint64_t last = bench_get64(rep + 26);
    double secs = last > first_send_ns ? (double)(last - first_send_ns) / 1e9 : NAN;
    r->delivered = (double)received;
    r->seconds = secs;
    r->msgs_per_s = (double)received / secs;
    r->mb_per_s = (double)bytes / secs / 1e6;
    r->mean_us = (double)bench_get64(rep + 42) / 1e3;
    r->p50_us = (double)bench_get64(rep + 50) / 1e3;
    r->p99_us = (double)bench_get64(rep + 58) / 1e3;
    r->max_us = (double)bench_get64(rep + 66) / 1e3;
    if (bench_get64(rep + 34) != 0) {
        fprintf(stderr, "receiver saw %" PRIu64 " out-of-order or malformed messages\n",
                bench_get64(rep + 34));
    }
}

#endif
