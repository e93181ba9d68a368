/*
 * rak_lossy_relay: a loopback-only UDP relay that delays and drops datagrams the same way
 * for every library (benchmark T6), so goodput under loss is compared on equal terms.
 *
 *   rak_lossy_relay --target-port P [--port L] [--loss PCT] [--delay-ms D] [--seed S]
 *
 * Listens on 127.0.0.1:L (0 = any free port; prints "listening port=L" first) and
 * forwards every datagram from a client to 127.0.0.1:P through an upstream socket of its
 * own per client address, and the replies back: each direction independently drops a
 * datagram with probability PCT % and delays the rest by D ms (default 10, so 20 ms of
 * round trip), in order. Loss draws come from a seeded xorshift generator, so a run is
 * repeatable up to the timing of the programs at both ends. Forwarding only to
 * 127.0.0.1 is deliberate: this is a measuring instrument, never a traffic source.
 * On SIGTERM/SIGINT it prints "RELAY forwarded=N dropped=N overflow=N" on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 64
#define MAX_DATAGRAM 65536
/* Datagrams waiting out their delay; beyond this the relay drops (a router's queue). */
#define QUEUE_CAP 65536

struct pending {
    uint64_t due_ns;
    int fd; /* socket to send from */
    struct sockaddr_in to;
    uint16_t len;
    uint8_t *data;
};

static struct pending queue[QUEUE_CAP];
static size_t q_head, q_len;
static volatile sig_atomic_t stop;
static uint64_t rng_state;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double rng_unit(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / (double)(1ull << 53);
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int udp_socket(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    int big = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("bind");
        exit(1);
    }
    return fd;
}

static long parse(const char *name, const char *v, long lo, long hi)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == 0 || *end != 0 || x < lo || x > hi) {
        fprintf(stderr, "rak_lossy_relay: bad %s %s\n", name, v);
        exit(2);
    }
    return x;
}

int main(int argc, char **argv)
{
    long listen_port = 0, target_port = -1, delay_ms = 10;
    double loss = 0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "rak_lossy_relay: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--port")) {
            listen_port = parse(a, v, 0, 65535);
        } else if (!strcmp(a, "--target-port")) {
            target_port = parse(a, v, 1, 65535);
        } else if (!strcmp(a, "--delay-ms")) {
            delay_ms = parse(a, v, 0, 10000);
        } else if (!strcmp(a, "--seed")) {
            seed = (uint64_t)parse(a, v, 0, 0x7fffffff);
        } else if (!strcmp(a, "--loss")) {
            char *end;
            loss = strtod(v, &end);
            if (*end != 0 || loss < 0 || loss > 100) {
                fprintf(stderr, "rak_lossy_relay: bad --loss %s\n", v);
                return 2;
            }
            loss /= 100.0;
        } else {
            fprintf(stderr, "usage: rak_lossy_relay --target-port P [--port L] [--loss PCT] "
                            "[--delay-ms D] [--seed S]\n");
            return 2;
        }
        i++;
    }
    if (target_port < 0) {
        fprintf(stderr, "rak_lossy_relay: --target-port is required\n");
        return 2;
    }
    rng_state = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    if (rng_state == 0) {
        rng_state = 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    struct sockaddr_in target;
    memset(&target, 0, sizeof target);
    target.sin_family = AF_INET;
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    target.sin_port = htons((uint16_t)target_port);

    int front = udp_socket((uint16_t)listen_port);
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    getsockname(front, (struct sockaddr *)&bound, &blen);
    printf("listening port=%u\n", ntohs(bound.sin_port));
    fflush(stdout);

    /* Client i talks through upstream socket ups[i]. */
    struct sockaddr_in clients[MAX_CLIENTS];
    int ups[MAX_CLIENTS];
    int n_clients = 0;
    uint64_t forwarded = 0, dropped = 0, overflow = 0;
    uint64_t delay_ns = (uint64_t)delay_ms * 1000000u;
    static uint8_t buf[MAX_DATAGRAM];

    while (!stop) {
        /* Send what is due. */
        uint64_t now = now_ns();
        while (q_len > 0 && queue[q_head].due_ns <= now) {
            struct pending *p = &queue[q_head];
            sendto(p->fd, p->data, p->len, 0, (struct sockaddr *)&p->to, sizeof p->to);
            free(p->data);
            q_head = (q_head + 1) % QUEUE_CAP;
            q_len--;
            forwarded++;
        }
        struct timespec wait_ts, *wait = NULL;
        if (q_len > 0) {
            uint64_t ns = queue[q_head].due_ns - now;
            wait_ts.tv_sec = (time_t)(ns / 1000000000u);
            wait_ts.tv_nsec = (long)(ns % 1000000000u);
            wait = &wait_ts;
        }
        struct pollfd fds[MAX_CLIENTS + 1];
        fds[0].fd = front;
        fds[0].events = POLLIN;
        for (int i = 0; i < n_clients; i++) {
            fds[i + 1].fd = ups[i];
            fds[i + 1].events = POLLIN;
        }
        int r = ppoll(fds, (nfds_t)n_clients + 1, wait, NULL);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("poll");
            return 1;
        }
        for (int i = 0; i <= n_clients && r > 0; i++) {
            if (!(fds[i].revents & POLLIN)) {
                continue;
            }
            for (;;) {
                struct sockaddr_in from;
                socklen_t flen = sizeof from;
                ssize_t len = recvfrom(fds[i].fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
                if (len < 0) {
                    break;
                }
                int out_fd;
                struct sockaddr_in to;
                if (i == 0) {
                    int k = 0;
                    while (k < n_clients && (clients[k].sin_port != from.sin_port ||
                                             clients[k].sin_addr.s_addr != from.sin_addr.s_addr)) {
                        k++;
                    }
                    if (k == n_clients) {
                        if (n_clients == MAX_CLIENTS) {
                            continue;
                        }
                        clients[k] = from;
                        ups[k] = udp_socket(0);
                        n_clients++;
                    }
                    out_fd = ups[k];
                    to = target;
                } else {
                    out_fd = front;
                    to = clients[i - 1];
                }
                if (rng_unit() < loss) {
                    dropped++;
                    continue;
                }
                if (q_len == QUEUE_CAP) {
                    overflow++;
                    continue;
                }
                struct pending *p = &queue[(q_head + q_len) % QUEUE_CAP];
                p->data = malloc((size_t)len);
                if (!p->data) {
                    overflow++;
                    continue;
                }
                memcpy(p->data, buf, (size_t)len);
                p->len = (uint16_t)len;
                p->fd = out_fd;
                p->to = to;
                p->due_ns = now_ns() + delay_ns;
                q_len++;
            }
        }
    }
    fprintf(stderr, "RELAY forwarded=%" PRIu64 " dropped=%" PRIu64 " overflow=%" PRIu64 "\n",
            forwarded, dropped, overflow);
    return 0;
}
