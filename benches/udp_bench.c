/*
 * rak_bench_udp: the raw-UDP ceiling for the libraknet benchmarks. No reliability, no
 * ordering, no flow control: one datagram per message, blocking sockets, one thread.
 * Same modes, same message layout and the same BENCH line as rak_bench
 * (benches/bench_util.h), printed with lib=udp, or lib=udp-mmsg with --mmsg (sendmmsg /
 * recvmmsg, 64 datagrams per system call).
 *
 *   rak_bench_udp recv --port P [--host H] [--mmsg] [--quit-after-ms M]
 *   rak_bench_udp send --host H --port P --count N --size S [--mmsg] [--test LABEL]
 *   rak_bench_udp pingpong --host H --port P --count N [--size S]
 *
 * send blasts N datagrams; what the receiver drops for lack of buffer space is lost
 * (delivered= tells how many arrived), so msgs_per_s is the delivered rate between the
 * first send and the last arrival: the ceiling of one socket pair on this host.
 * Control messages ('S', 'E') are repeated until answered. pingpong is a blocking
 * send / receive round trip.
 */
#define _GNU_SOURCE
#include "bench_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_DGRAM 65536

static const char *prog = "rak_bench_udp";
static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (%s)\n", strerror(errno));
    exit(2);
}

static int make_socket(const char *host, unsigned port, bool bind_it)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        die("socket%s", "");
    }
    int buf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        errno = EINVAL;
        die("bad IPv4 address '%s'", host);
    }
    if (bind_it) {
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            die("bind %s", host);
        }
    } else if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        die("connect %s", host);
    }
    return fd;
}

static void set_timeout_ms(int fd, unsigned ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

/* --- recv ----------------------------------------------------------------------- */

static int run_recv(const char *host, unsigned port, bool mmsg, uint64_t quit_after_ms)
{
    int fd = make_socket(host, port, true);
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    getsockname(fd, (struct sockaddr *)&bound, &blen);
    printf("listening port=%u\n", (unsigned)ntohs(bound.sin_port));
    fflush(stdout);
    set_timeout_ms(fd, 100);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    static uint8_t bufs[BATCH][MAX_DGRAM];
    struct sockaddr_in from[BATCH];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = MAX_DGRAM;
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &from[i];
    }
    struct bench_rx rx;
    bench_rx_init(&rx);
    uint8_t report[BENCH_REPORT_LEN];
    uint64_t deadline = quit_after_ms ? bench_now_ns() + quit_after_ms * 1000000u : 0;
    while (!stop_requested && (!deadline || bench_now_ns() < deadline)) {
        int n;
        if (mmsg) {
            for (int i = 0; i < BATCH; i++) {
                msgs[i].msg_hdr.msg_namelen = sizeof from[i];
            }
            n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        } else {
            socklen_t fl = sizeof from[0];
            ssize_t len = recvfrom(fd, bufs[0], MAX_DGRAM, 0, (struct sockaddr *)&from[0], &fl);
            n = len < 0 ? -1 : 1;
            msgs[0].msg_len = len < 0 ? 0 : (unsigned)len;
            msgs[0].msg_hdr.msg_namelen = fl;
        }
        if (n <= 0) {
            continue; /* timeout: check the deadline */
        }
        uint64_t now = bench_now_ns();
        for (int i = 0; i < n; i++) {
            const uint8_t *d = bufs[i];
            size_t len = msgs[i].msg_len;
            struct sockaddr *src = (struct sockaddr *)&from[i];
            socklen_t sl = msgs[i].msg_hdr.msg_namelen;
            if (len < 2 || d[0] != BENCH_ID) {
                continue;
            }
            switch (d[1]) {
            case 'D':
                bench_rx_data(&rx, d, len, now);
                break;
            case 'P':
                sendto(fd, d, len, 0, src, sl);
                break;
            case 'S': {
                bench_rx_start(&rx, d, len, false);
                uint8_t ack[2] = {BENCH_ID, 'A'};
                sendto(fd, ack, 2, 0, src, sl);
                break;
            }
            case 'E':
                /* Every surviving datagram sent before 'E' has been read (one socket,
                 * FIFO): report now, and the same report again for repeated 'E's. */
                if (!rx.reported) {
                    rx.end_count = len >= 10 ? bench_get64(d + 2) : 1;
                    bench_rx_report(&rx, report);
                }
                sendto(fd, report, sizeof report, 0, src, sl);
                break;
            default:
                break;
            }
        }
    }
    close(fd);
    free(rx.lat.v);
    return 0;
}

/* --- send ----------------------------------------------------------------------- */

/* Sends the control message until an answer of kind `want` arrives into `answer`. */
static bool handshake(int fd, const uint8_t *msg, size_t len, uint8_t want, uint8_t *answer,
                      size_t answer_len)
{
    set_timeout_ms(fd, 20);
    uint8_t buf[MAX_DGRAM];
    for (int attempt = 0; attempt < 250; attempt++) {
        if (send(fd, msg, len, 0) < 0 && errno != ENOBUFS) {
            die("send%s", "");
        }
        uint64_t until = bench_now_ns() + 20000000u;
        while (bench_now_ns() < until) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n < 0) {
                break;
            }
            if (n >= 2 && buf[0] == BENCH_ID && buf[1] == want && (size_t)n >= answer_len) {
                memcpy(answer, buf, answer_len);
                return true;
            }
        }
    }
    return false;
}

static int run_send(const char *host, unsigned port, uint64_t count, size_t size, bool mmsg,
                    const char *test)
{
    int fd = make_socket(host, port, false);
    uint8_t ctl[16] = {BENCH_ID, 'S'};
    bench_put64(ctl + 2, count);
    bench_put32(ctl + 10, (uint32_t)size);
    uint8_t ack[2];
    if (!handshake(fd, ctl, 14, 'A', ack, 2)) {
        fprintf(stderr, "%s: no receiver\n", prog);
        return 1;
    }
    static uint8_t bufs[BATCH][MAX_DGRAM];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = size;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t first = bench_now_ns();
    uint64_t i = 0;
    while (i < count) {
        if (mmsg) {
            unsigned batch = count - i < BATCH ? (unsigned)(count - i) : BATCH;
            uint64_t now = bench_now_ns();
            for (unsigned b = 0; b < batch; b++) {
                bench_fill(bufs[b], size, 'D', (uint32_t)(i + b), now);
            }
            int sent = sendmmsg(fd, msgs, batch, 0);
            if (sent < 0) {
                if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED) {
                    continue;
                }
                die("sendmmsg%s", "");
            }
            i += (unsigned)sent;
        } else {
            bench_fill(bufs[0], size, 'D', (uint32_t)i, bench_now_ns());
            if (send(fd, bufs[0], size, 0) < 0) {
                if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED) {
                    continue;
                }
                die("send%s", "");
            }
            i++;
        }
    }
    ctl[1] = 'E';
    bench_put64(ctl + 2, count);
    uint8_t report[BENCH_REPORT_LEN];
    if (!handshake(fd, ctl, 10, 'R', report, sizeof report)) {
        fprintf(stderr, "%s: no report from the receiver\n", prog);
        return 1;
    }
    struct bench_result res;
    bench_result_init(&res, mmsg ? "udp-mmsg" : "udp", test ? test : "T1");
    res.size = size;
    res.count = count;
    bench_from_report(&res, report, first);
    bench_print(&res);
    close(fd);
    return 0;
}

/* --- pingpong ------------------------------------------------------------------- */

static int run_pingpong(const char *host, unsigned port, uint64_t count, size_t size, const char *test)
{
    int fd = make_socket(host, port, false);
    set_timeout_ms(fd, 1000);
    uint8_t buf[MAX_DGRAM], in[MAX_DGRAM];
    memset(buf, 0, sizeof buf);
    struct bench_samples rtt;
    bench_samples_init(&rtt, (size_t)count + 1);
    uint64_t warmup = count < 100 ? count : 100, start = 0;
    for (uint64_t i = 0; i < warmup + count; i++) {
        if (i == warmup) {
            start = bench_now_ns();
        }
        uint64_t t0 = bench_now_ns();
        bench_fill(buf, size, 'P', (uint32_t)i, t0);
        if (send(fd, buf, size, 0) < 0) {
            die("send%s", "");
        }
        for (;;) {
            ssize_t n = recv(fd, in, sizeof in, 0);
            if (n < 0) {
                /* A lost datagram (it does not happen on loopback): send it again. */
                if (send(fd, buf, size, 0) < 0) {
                    die("send%s", "");
                }
                continue;
            }
            if (n >= BENCH_DATA_HEADER && in[1] == 'P' && bench_get32(in + 2) == (uint32_t)i) {
                break;
            }
        }
        if (i >= warmup) {
            bench_samples_add(&rtt, bench_now_ns() - t0);
        }
    }
    double total = (double)(bench_now_ns() - start) / 1e9;
    bench_samples_sort(&rtt);
    struct bench_result res;
    bench_result_init(&res, "udp", test ? test : "T2");
    res.size = size;
    res.count = count;
    res.delivered = (double)rtt.seen;
    res.seconds = total;
    res.msgs_per_s = (double)rtt.seen / total;
    res.mean_us = (double)bench_mean(&rtt) / 1e3;
    res.p50_us = (double)bench_percentile(&rtt, 50) / 1e3;
    res.p99_us = (double)bench_percentile(&rtt, 99) / 1e3;
    res.max_us = (double)rtt.max / 1e3;
    bench_print(&res);
    close(fd);
    free(rtt.v);
    return 0;
}

static uint64_t num(const char *opt, const char *text, uint64_t min, uint64_t max)
{
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end || text[0] == '-' || v < min || v > max) {
        fprintf(stderr, "%s: %s: expected a number from %llu to %llu\n", prog, opt,
                (unsigned long long)min, (unsigned long long)max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *host = NULL, *test = NULL;
    long port = -1;
    uint64_t count = 1000, size = 64, quit_after_ms = 0;
    bool mmsg = false;
    if (argc < 2) {
        goto usage;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--mmsg")) {
            mmsg = true;
            continue;
        }
        if (!v) {
            goto usage;
        }
        i++;
        if (!strcmp(a, "--host")) {
            host = v;
        } else if (!strcmp(a, "--port")) {
            port = (long)num(a, v, 0, 65535);
        } else if (!strcmp(a, "--count")) {
            count = num(a, v, 1, 100000000);
        } else if (!strcmp(a, "--size")) {
            size = num(a, v, BENCH_DATA_HEADER, 65507);
        } else if (!strcmp(a, "--test")) {
            test = v;
        } else if (!strcmp(a, "--quit-after-ms")) {
            quit_after_ms = num(a, v, 1, UINT32_MAX);
        } else {
            goto usage;
        }
    }
    if (!strcmp(argv[1], "recv") && port >= 0) {
        return run_recv(host ? host : "0.0.0.0", (unsigned)port, mmsg, quit_after_ms);
    }
    if (host && port > 0) {
        if (!strcmp(argv[1], "send")) {
            return run_send(host, (unsigned)port, count, (size_t)size, mmsg, test);
        }
        if (!strcmp(argv[1], "pingpong")) {
            return run_pingpong(host, (unsigned)port, count, (size_t)size, test);
        }
    }
usage:
    fprintf(stderr, "usage: %s recv --port P [--host H] [--mmsg] [--quit-after-ms M]\n"
                    "       %s send --host H --port P --count N --size S [--mmsg] [--test LABEL]\n"
                    "       %s pingpong --host H --port P --count N [--size S]\n",
            prog, prog, prog);
    return 2;
}
