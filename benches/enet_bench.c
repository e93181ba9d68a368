/*
 * rak_bench_enet: the same benchmark contract on ENet (Debian's libenet-dev), for the
 * libraknet comparison. Same modes, message layout and BENCH line as rak_bench
 * (benches/bench_util.h), printed with lib=enet.
 *
 *   rak_bench_enet recv --port P [--host H] [--quit-after-ms M]
 *   rak_bench_enet send --host H --port P --count N --size S [--test LABEL]
 *   rak_bench_enet pingpong --host H --port P --count N [--size S]
 *
 * Everything travels reliable on channel 0 (ENet's reliable packets are also ordered
 * per channel: the counterpart of RELIABLE_ORDERED). Hosts are created with unlimited
 * bandwidth, so ENet's window is its maximum. enet_peer_send never refuses, so the
 * sender keeps at most --window bytes (default 256 KiB, at least one packet) queued and
 * unacknowledged, counted through each packet's free callback, and services the host
 * while over: the back-pressure libraknet's send buffer gives rak_bench. The default
 * is ENet's best on loopback: with a deep queue (16 MiB of 1 KiB packets) ENet spends
 * its time rescanning the queue whenever its throttle shrinks the window, and 1 KiB
 * throughput drops five-fold.
 *
 *   rak_bench_enet send ... [--window BYTES]
 */
#include "bench_util.h"

#include <enet/enet.h>
#include <signal.h>

static const char *prog = "rak_bench_enet";
static volatile sig_atomic_t stop_requested = 0;
static uint64_t outstanding; /* packets handed to ENet and not yet freed */

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_free(ENetPacket *p)
{
    (void)p;
    outstanding--;
}

static void send_packet(ENetPeer *peer, const uint8_t *data, size_t len)
{
    ENetPacket *p = enet_packet_create(data, len, ENET_PACKET_FLAG_RELIABLE);
    if (!p) {
        fprintf(stderr, "%s: out of memory\n", prog);
        exit(2);
    }
    p->freeCallback = on_free;
    outstanding++;
    if (enet_peer_send(peer, 0, p) != 0) {
        fprintf(stderr, "%s: enet_peer_send failed\n", prog);
        exit(1);
    }
}

static void set_addr(ENetAddress *a, const char *host, unsigned port)
{
    if (enet_address_set_host(a, host) != 0) {
        fprintf(stderr, "%s: cannot resolve %s\n", prog, host);
        exit(2);
    }
    a->port = (enet_uint16)port;
}

/* --- recv ----------------------------------------------------------------------- */

static int run_recv(const char *host, unsigned port, uint64_t quit_after_ms)
{
    ENetAddress addr;
    set_addr(&addr, host, port);
    ENetHost *h = enet_host_create(&addr, 1024, 1, 0, 0);
    if (!h) {
        fprintf(stderr, "%s: cannot bind %s port %u\n", prog, host, port);
        return 1;
    }
    ENetAddress bound;
    enet_socket_get_address(h->socket, &bound);
    printf("listening port=%u\n", (unsigned)bound.port);
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    struct bench_rx rx;
    bench_rx_init(&rx);
    ENetPeer *rx_peer = NULL;
    uint64_t deadline = quit_after_ms ? bench_now_ns() + quit_after_ms * 1000000u : 0;
    uint64_t conns = 0;
    while (!stop_requested && (!deadline || bench_now_ns() < deadline)) {
        ENetEvent ev;
        int r = enet_host_service(h, &ev, 100);
        while (r > 0) {
            if (ev.type == ENET_EVENT_TYPE_CONNECT) {
                conns++;
            } else if (ev.type == ENET_EVENT_TYPE_DISCONNECT) {
                conns--;
            } else if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
                const uint8_t *d = ev.packet->data;
                size_t len = ev.packet->dataLength;
                uint64_t now = bench_now_ns();
                if (len >= 2 && d[0] == BENCH_ID) {
                    switch (d[1]) {
                    case 'D':
                        bench_rx_data(&rx, d, len, now);
                        break;
                    case 'P':
                        send_packet(ev.peer, d, len);
                        enet_host_flush(h);
                        break;
                    case 'S':
                        bench_rx_start(&rx, d, len, true);
                        rx_peer = ev.peer;
                        break;
                    case 'E':
                        rx.end_count = len >= 10 ? bench_get64(d + 2) : 1;
                        rx_peer = ev.peer;
                        break;
                    case 'Q': {
                        uint8_t st[BENCH_STATS_LEN];
                        bench_stats(st, conns, rx.total_messages);
                        send_packet(ev.peer, st, sizeof st);
                        break;
                    }
                    default:
                        break;
                    }
                    if (bench_rx_complete(&rx) && rx_peer) {
                        uint8_t rep[BENCH_REPORT_LEN];
                        bench_rx_report(&rx, rep);
                        send_packet(rx_peer, rep, sizeof rep);
                        enet_host_flush(h);
                    }
                }
                enet_packet_destroy(ev.packet);
            }
            r = enet_host_check_events(h, &ev);
        }
        if (r < 0) {
            fprintf(stderr, "%s: enet_host_service failed\n", prog);
            break;
        }
    }
    enet_host_destroy(h);
    free(rx.lat.v);
    return 0;
}

/* --- a client ------------------------------------------------------------------- */

struct client {
    ENetHost *host;
    ENetPeer *peer;
    bool have_report;
    uint8_t report[BENCH_REPORT_LEN];
    int64_t echo_seq;
};

/* Services the host once (waiting up to wait_ms), then handles every event. */
static void client_service(struct client *c, unsigned wait_ms)
{
    ENetEvent ev;
    int r = enet_host_service(c->host, &ev, wait_ms);
    while (r > 0) {
        if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
            const uint8_t *d = ev.packet->data;
            size_t len = ev.packet->dataLength;
            if (len >= BENCH_REPORT_LEN && d[1] == 'R') {
                memcpy(c->report, d, BENCH_REPORT_LEN);
                c->have_report = true;
            } else if (len >= BENCH_DATA_HEADER && d[1] == 'P') {
                c->echo_seq = bench_get32(d + 2);
            }
            enet_packet_destroy(ev.packet);
        } else if (ev.type == ENET_EVENT_TYPE_DISCONNECT) {
            fprintf(stderr, "%s: disconnected\n", prog);
            exit(1);
        }
        r = enet_host_check_events(c->host, &ev);
    }
}

static void client_open(struct client *c, const char *host, unsigned port)
{
    memset(c, 0, sizeof *c);
    c->echo_seq = -1;
    c->host = enet_host_create(NULL, 1, 1, 0, 0);
    ENetAddress addr;
    set_addr(&addr, host, port);
    c->peer = c->host ? enet_host_connect(c->host, &addr, 1, 0) : NULL;
    if (!c->peer) {
        fprintf(stderr, "%s: cannot create the client\n", prog);
        exit(1);
    }
    uint64_t deadline = bench_now_ns() + 5000000000ull;
    while (bench_now_ns() < deadline) {
        ENetEvent ev;
        if (enet_host_service(c->host, &ev, 100) > 0 && ev.type == ENET_EVENT_TYPE_CONNECT) {
            return;
        }
    }
    fprintf(stderr, "%s: could not connect to %s:%u\n", prog, host, port);
    exit(1);
}

static void client_close(struct client *c)
{
    enet_peer_disconnect(c->peer, 0);
    uint64_t deadline = bench_now_ns() + 1000000000u;
    while (bench_now_ns() < deadline) {
        ENetEvent ev;
        int r = enet_host_service(c->host, &ev, 50);
        if (r > 0 && ev.type == ENET_EVENT_TYPE_RECEIVE) {
            enet_packet_destroy(ev.packet);
        } else if (r > 0 && ev.type == ENET_EVENT_TYPE_DISCONNECT) {
            break;
        } else if (r < 0) {
            break;
        }
    }
    enet_host_destroy(c->host);
}

static int run_send(const char *host, unsigned port, uint64_t count, size_t size, const char *test,
                    uint64_t window)
{
    struct client c;
    client_open(&c, host, port);
    uint8_t ctl[16] = {BENCH_ID, 'S'};
    bench_put64(ctl + 2, count);
    bench_put32(ctl + 10, (uint32_t)size);
    send_packet(c.peer, ctl, 14);

    uint64_t cap = window / size;
    cap = cap < 1 ? 1 : cap;
    uint8_t *buf = calloc(1, size);
    if (!buf) {
        return 2;
    }
    uint64_t first = bench_now_ns();
    for (uint64_t i = 0; i < count; i++) {
        while (outstanding >= cap) {
            client_service(&c, 1);
        }
        bench_fill(buf, size, 'D', (uint32_t)i, bench_now_ns());
        send_packet(c.peer, buf, size);
        if ((i & 63) == 63) {
            client_service(&c, 0);
        }
    }
    ctl[1] = 'E';
    bench_put64(ctl + 2, count);
    send_packet(c.peer, ctl, 10);
    uint64_t deadline = bench_now_ns() + 300000000000ull;
    while (!c.have_report && bench_now_ns() < deadline) {
        client_service(&c, 1);
    }
    if (!c.have_report) {
        fprintf(stderr, "%s: no report from the receiver\n", prog);
        return 1;
    }
    struct bench_result res;
    bench_result_init(&res, "enet", test ? test : "T1");
    res.size = size;
    res.count = count;
    bench_from_report(&res, c.report, first);
    bench_print(&res);
    client_close(&c);
    free(buf);
    return 0;
}

static int run_pingpong(const char *host, unsigned port, uint64_t count, size_t size, const char *test)
{
    struct client c;
    client_open(&c, host, port);
    uint8_t *buf = calloc(1, size);
    struct bench_samples rtt;
    bench_samples_init(&rtt, (size_t)count + 1);
    uint64_t warmup = count < 100 ? count : 100, start = 0;
    for (uint64_t i = 0; i < warmup + count; i++) {
        if (i == warmup) {
            start = bench_now_ns();
        }
        uint64_t t0 = bench_now_ns();
        bench_fill(buf, size, 'P', (uint32_t)i, t0);
        send_packet(c.peer, buf, size);
        enet_host_flush(c.host);
        uint64_t deadline = t0 + 5000000000ull;
        while (c.echo_seq != (int64_t)(uint32_t)i && bench_now_ns() < deadline) {
            client_service(&c, 1);
        }
        if (c.echo_seq != (int64_t)(uint32_t)i) {
            fprintf(stderr, "%s: probe %llu not echoed\n", prog, (unsigned long long)i);
            return 1;
        }
        if (i >= warmup) {
            bench_samples_add(&rtt, bench_now_ns() - t0);
        }
    }
    double total = (double)(bench_now_ns() - start) / 1e9;
    bench_samples_sort(&rtt);
    struct bench_result res;
    bench_result_init(&res, "enet", test ? test : "T2");
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
    client_close(&c);
    free(buf);
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
    uint64_t count = 1000, size = 64, quit_after_ms = 0, window = 256u << 10;
    if (argc < 2 || (argc % 2) != 0) {
        goto usage;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--host")) {
            host = v;
        } else if (!strcmp(a, "--port")) {
            port = (long)num(a, v, 0, 65535);
        } else if (!strcmp(a, "--count")) {
            count = num(a, v, 1, 100000000);
        } else if (!strcmp(a, "--size")) {
            size = num(a, v, BENCH_DATA_HEADER, 32u << 20);
        } else if (!strcmp(a, "--test")) {
            test = v;
        } else if (!strcmp(a, "--window")) {
            window = num(a, v, 1, 1u << 30);
        } else if (!strcmp(a, "--quit-after-ms")) {
            quit_after_ms = num(a, v, 1, UINT32_MAX);
        } else {
            goto usage;
        }
    }
    if (enet_initialize() != 0) {
        fprintf(stderr, "%s: enet_initialize failed\n", prog);
        return 1;
    }
    atexit(enet_deinitialize);
    if (!strcmp(argv[1], "recv") && port >= 0) {
        return run_recv(host ? host : "0.0.0.0", (unsigned)port, quit_after_ms);
    }
    if (host && port > 0) {
        if (!strcmp(argv[1], "send")) {
            return run_send(host, (unsigned)port, count, (size_t)size, test, window);
        }
        if (!strcmp(argv[1], "pingpong")) {
            return run_pingpong(host, (unsigned)port, count, (size_t)size, test);
        }
    }
usage:
    fprintf(stderr, "usage: %s recv --port P [--host H] [--quit-after-ms M]\n"
                    "       %s send --host H --port P --count N --size S [--test LABEL]\n"
                    "            [--window BYTES]\n"
                    "       %s pingpong --host H --port P --count N [--size S]\n",
            prog, prog, prog);
    return 2;
}
