/*
 * rak_bench: measures libraknet through its C API. One process receives, another
 * drives a test, and the driver prints one machine-readable BENCH line (format in
 * benches/bench_util.h; benches/run.sh runs the whole suite and writes the report).
 *
 *   rak_bench recv --port P [--host H] [--max-connections N] [--quit-after-ms M]
 *                  [--key-file F | --secure]
 *       Accepts connections and counts what arrives; echoes round-trip probes; answers
 *       the driver's report and stats queries (its own RSS and CPU time). Prints
 *       "listening port=P" first (useful with --port 0). --key-file F (loaded, or
 *       created if missing) or --secure (a key pair generated in memory) turns on secure
 *       mode and prints "public-key: HEX" as the second line.
 *   rak_bench send --host H --port P --count N --size S [--reliability NAME]
 *                  [--rate R] [--test LABEL]
 *       T1 (and T4, T5): N messages of S bytes on channel 0 as fast as the library
 *       accepts them (or R per second), timed from the first send until the receiver
 *       has the last one (the receiver reports its clock; both share CLOCK_MONOTONIC).
 *   rak_bench pingpong --host H --port P --count N [--size S]
 *       T2: N sequential reliable ordered round trips at the default priority.
 *   rak_bench conns --host H --port P --clients K [--seconds D] [--msg-rate R]
 *                   [--settle-ms MS]
 *       T3: K clients, one rak_peer each (one UDP socket and one network thread per
 *       peer, so K is bounded by the open-file limit: two descriptors per peer). Time
 *       until all are connected, server RSS per connection, then each client sends R
 *       (default 10) messages per second for D seconds: server CPU per message. The
 *       suite uses benches/loadgen (one thread, sans-IO core) for large K instead.
 *
 * Every mode accepts the simulator flags --sim-loss PCT, --sim-latency-ms MS and
 * --sim-jitter-ms MS when the library has the simulator.
 *
 * The drivers (send, pingpong, conns) connect securely with --secure (no pinned key)
 * or --server-key HEX (pinned, implies --secure); the receiver must run secure mode.
 * Their BENCH lines then say lib=libraknet-secure. After the BENCH line send and
 * pingpong print "WIRE lib=L test=T size=S datagrams_sent=N bytes_sent=B
 * datagrams_received=N bytes_received=B": the driver peer's UDP traffic (payload bytes,
 * handshake included), from which the suite derives the bytes per datagram; then
 * "RUNTIME lib=L test=T sends_on_caller=N receives_on_caller=N network_thread_retunes=N"
 * (rak_runtime_stats: how much of the work the calling thread did).
 */
#include "common.h"
#include "bench_util.h"

#include <signal.h>

static const char *prog = "rak_bench";
static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct options {
    const char *mode;
    const char *host;
    const char *test;
    long port;
    uint64_t count, size, clients, max_conn, quit_after_ms, seconds, settle_ms;
    double rate, msg_rate;
    uint32_t reliability;
    double sim_loss_pct, sim_latency_ms, sim_jitter_ms;
    const char *key_file;            /* recv: secure mode with this key pair */
    bool secure;                     /* recv: secure mode; drivers: connect securely */
    bool pinned;                     /* drivers: server_key is given */
    uint8_t server_key[RAK_KEY_BYTES];
    bool have_key;                   /* recv: priv/pub hold the key pair */
    uint8_t priv[RAK_KEY_BYTES], pub[RAK_KEY_BYTES];
};

static void usage(void)
{
    fprintf(stderr,
            "usage: rak_bench recv --port P [--host H] [--max-connections N] [--quit-after-ms M]\n"
            "                      [--key-file F | --secure]\n"
            "       rak_bench send --host H --port P --count N --size S [--reliability NAME]\n"
            "                      [--rate MSGS_PER_S] [--test LABEL]\n"
            "       rak_bench pingpong --host H --port P --count N [--size S]\n"
            "       rak_bench conns --host H --port P --clients K [--seconds D] [--msg-rate R]\n"
            "                       [--settle-ms MS]\n"
            "  drivers: [--secure | --server-key HEX]\n"
            "  any mode: [--sim-loss PCT] [--sim-latency-ms MS] [--sim-jitter-ms MS]\n");
    exit(2);
}

static double parse_double(const char *opt, const char *text, double max)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !(v >= 0.0) || v > max) {
        ex_die(prog, "%s: expected a number from 0 to %g, got '%s'", opt, max, text);
    }
    return v;
}

/* --- peers -------------------------------------------------------------------- */

/* The simulator flags set both directions of this peer's link alike: with
 * --sim-latency-ms 10 on one side the round trip gains 20 ms, and --sim-loss drops that
 * share of the data going out and of the acknowledgements coming back. */
static void apply_sim(rak_config *cfg, const struct options *o)
{
    if (o->sim_loss_pct <= 0 && o->sim_latency_ms <= 0 && o->sim_jitter_ms <= 0) {
        return;
    }
#ifdef RAK_MAX_SIM_DELAY_MS
    rak_sim_options sim;
    memset(&sim, 0, sizeof sim);
    sim.loss_pct = o->sim_loss_pct;
    sim.latency_ms = (uint32_t)o->sim_latency_ms;
    sim.jitter_ms = (uint32_t)o->sim_jitter_ms;
    ex_check(prog, "simulator", rak_config_set_simulator(cfg, RAK_SIM_DIRECTION_BOTH, &sim));
#else
    (void)cfg;
    ex_die(prog, "this libraknet has no network simulator");
#endif
}

/* The library name in the BENCH line: secure connections are a separate row. */
static const char *lib_name(const struct options *o)
{
    return o->secure ? "libraknet-secure" : "libraknet";
}

/* Connects plainly, or securely with --secure / --server-key. */
static rak_result bench_connect(rak_peer *peer, const struct options *o, rak_conn *out)
{
    if (o->secure) {
        return rak_peer_connect_secure(peer, o->host, (uint16_t)o->port, NULL,
                                       o->pinned ? o->server_key : NULL, out);
    }
    return rak_peer_connect(peer, o->host, (uint16_t)o->port, NULL, 0, out);
}

/* The driver peer's UDP traffic, one line after the BENCH line. */
static void print_wire(rak_peer *peer, const struct options *o, const char *test)
{
    rak_stats ps;
    if (rak_peer_stats(peer, &ps, sizeof ps) != RAK_RESULT_OK) {
        return;
    }
    printf("WIRE lib=%s test=%s size=%" PRIu64 " datagrams_sent=%" PRIu64 " bytes_sent=%" PRIu64
           " datagrams_received=%" PRIu64 " bytes_received=%" PRIu64 "\n",
           lib_name(o), test, o->size, ps.datagrams_sent, ps.bytes_sent, ps.datagrams_received,
           ps.bytes_received);
    rak_runtime_stats rs;
    if (rak_peer_runtime_stats(peer, &rs, sizeof rs) == RAK_RESULT_OK) {
        printf("RUNTIME lib=%s test=%s sends_on_caller=%" PRIu64 " receives_on_caller=%" PRIu64
               " network_thread_retunes=%" PRIu64 "\n",
               lib_name(o), test, rs.sends_on_caller, rs.receives_on_caller,
               rs.network_thread_retunes);
    }
    fflush(stdout);
}

static rak_peer *make_peer(const struct options *o, const char *bind, uint16_t port,
                           uint32_t max_incoming, size_t queue_cap)
{
    rak_config *cfg = NULL;
    ex_check(prog, "rak_config_create", rak_config_create(&cfg));
    ex_check(prog, "bind", rak_config_set_bind(cfg, bind, port));
    ex_check(prog, "max incoming", rak_config_set_max_incoming(cfg, max_incoming));
    if (queue_cap) {
        ex_check(prog, "queue capacity", rak_config_set_queue_capacity(cfg, queue_cap, queue_cap));
    }
    apply_sim(cfg, o);
    if (o->have_key && max_incoming > 0) {
        ex_check(prog, "key pair", rak_config_set_key_pair(cfg, o->priv));
    }
    rak_peer *peer = NULL;
    rak_result r = rak_peer_create(cfg, &peer);
    rak_config_destroy(cfg);
    if (r != RAK_RESULT_OK) {
        ex_die(prog, "cannot start a peer on %s port %u: %s", bind, (unsigned)port,
               rak_result_str(r));
    }
    return peer;
}

/* Sends, retrying while the library reports a full queue or buffer (for at most
 * timeout_ms); the caller's poll function runs between attempts. */
typedef void (*poll_fn)(void *ctx);

static rak_result send_retry(rak_peer *peer, rak_conn conn, const uint8_t *data, size_t len,
                             const rak_send_options *opts, poll_fn poll, void *ctx,
                             uint64_t *full_count)
{
    uint64_t deadline = 0;
    for (;;) {
        rak_result r = rak_peer_send(peer, conn, data, len, opts, NULL);
        if (r != RAK_RESULT_QUEUE_FULL && r != RAK_RESULT_BUFFER_FULL) {
            return r;
        }
        if (full_count) {
            (*full_count)++;
        }
        uint64_t now = bench_now_ns();
        if (!deadline) {
            deadline = now + 60ull * 1000000000u;
        } else if (now > deadline || stop_requested) {
            return r;
        }
        if (poll) {
            poll(ctx);
        }
        bench_sleep_ns(20000);
    }
}

/* --- recv ----------------------------------------------------------------------- */

struct receiver {
    rak_peer *peer;
    struct bench_rx rx;
    rak_conn rx_conn;      /* the connection that drives the current run */
    uint64_t end_at_ns;    /* when 'E' arrived (unreliable runs report after a grace) */
    uint64_t conns;
};

static void reply(struct receiver *s, rak_conn conn, const uint8_t *data, size_t len,
                  uint32_t reliability, uint32_t channel)
{
    rak_send_options opts = {reliability, RAK_PRIORITY_HIGH, channel};
    rak_result r = send_retry(s->peer, conn, data, len, &opts, NULL, NULL, NULL);
    if (r != RAK_RESULT_OK && r != RAK_RESULT_STALE_HANDLE && r != RAK_RESULT_NOT_CONNECTED) {
        fprintf(stderr, "%s: reply: %s\n", prog, rak_result_str(r));
    }
}

static void send_report(struct receiver *s)
{
    uint8_t rep[BENCH_REPORT_LEN];
    bench_rx_report(&s->rx, rep);
    reply(s, s->rx_conn, rep, sizeof rep, RAK_RELIABILITY_RELIABLE_ORDERED, 0);
}

static void on_message(struct receiver *s, const rak_event *e, uint64_t now)
{
    const uint8_t *d = rak_message_data(e->message);
    size_t len = rak_message_len(e->message);
    if (len < 2 || d[0] != BENCH_ID) {
        return;
    }
    switch (d[1]) {
    case 'D':
        bench_rx_data(&s->rx, d, len, now);
        if (bench_rx_complete(&s->rx)) {
            send_report(s);
        }
        break;
    case 'P':
        reply(s, e->conn, d, len, e->reliability, e->channel);
        break;
    case 'S':
        bench_rx_start(&s->rx, d, len, ex_is_ordered(e->reliability));
        s->rx_conn = e->conn;
        break;
    case 'E':
        s->rx.end_count = len >= 10 ? bench_get64(d + 2) : 1;
        s->rx_conn = e->conn;
        s->end_at_ns = now;
        if (bench_rx_complete(&s->rx)) {
            send_report(s);
        }
        break;
    case 'Q': {
        uint8_t st[BENCH_STATS_LEN];
        bench_stats(st, s->conns, s->rx.total_messages);
        reply(s, e->conn, st, sizeof st, RAK_RELIABILITY_RELIABLE_ORDERED, 0);
        break;
    }
    default:
        break;
    }
}

static int run_recv(const struct options *o)
{
    struct receiver s;
    memset(&s, 0, sizeof s);
    bench_rx_init(&s.rx);
    const char *bind = o->host ? o->host : "0.0.0.0";
    s.peer = make_peer(o, bind, (uint16_t)o->port, (uint32_t)o->max_conn, 0);
    uint16_t bound = 0;
    ex_check(prog, "rak_peer_local_port", rak_peer_local_port(s.peer, &bound));
    printf("listening port=%u\n", (unsigned)bound);
    if (o->have_key) {
        char hex[RAK_KEY_HEX_BYTES];
        printf("public-key: %s\n", ex_key_hex(o->pub, hex));
    }
    fflush(stdout);

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    uint64_t deadline = o->quit_after_ms ? ex_now_ms() + o->quit_after_ms : 0;
    int status = 0;
    static rak_event ev[256];
    while (!stop_requested && (!deadline || ex_now_ms() < deadline)) {
        size_t n = 0;
        rak_result r = rak_peer_wait(s.peer, ev, 256, 100, &n);
        if (r != RAK_RESULT_OK) {
            fprintf(stderr, "%s: rak_peer_wait: %s\n", prog, rak_result_str(r));
            status = 1;
            break;
        }
        uint64_t now = bench_now_ns();
        for (size_t i = 0; i < n; i++) {
            const rak_event *e = &ev[i];
            if (e->kind == RAK_EVENT_KIND_MESSAGE) {
                on_message(&s, e, now);
            } else if (e->kind == RAK_EVENT_KIND_CONNECTED) {
                s.conns++;
            } else if (e->kind == RAK_EVENT_KIND_DISCONNECTED) {
                s.conns--;
            } else if (e->kind == RAK_EVENT_KIND_FATAL) {
                fprintf(stderr, "%s: fatal: the network thread failed\n", prog);
                status = 1;
                stop_requested = 1;
            }
            rak_message_release(e->message);
        }
        /* Unreliable runs lose messages: report what arrived 500 ms after 'E'. */
        if (s.rx.end_count && !s.rx.reported && now - s.end_at_ns > 500000000u) {
            send_report(&s);
        }
    }
    printf("received %" PRIu64 " messages\n", s.rx.total_messages);
    rak_peer_destroy(s.peer);
    free(s.rx.lat.v);
    return status;
}

/* --- one client (send, pingpong) --------------------------------------------------- */

struct client {
    rak_peer *peer;
    rak_conn conn;
    bool connected, failed;
    bool have_report, have_stats;
    uint8_t report[BENCH_REPORT_LEN];
    uint8_t stats[BENCH_STATS_LEN];
    int64_t echo_seq; /* last probe echo seen, -1 none */
    uint64_t full;    /* sends refused as full */
};

static void client_event(struct client *c, const rak_event *e)
{
    if (e->conn.id != c->conn.id) {
        return;
    }
    switch (e->kind) {
    case RAK_EVENT_KIND_CONNECTED:
        c->connected = true;
        break;
    case RAK_EVENT_KIND_CONNECT_FAILED:
        printf("connection failed: %s\n", rak_reason_str(e->reason));
        c->failed = true;
        break;
    case RAK_EVENT_KIND_DISCONNECTED:
        if (e->reason != RAK_REASON_CLOSED_LOCALLY) {
            printf("disconnected: %s\n", rak_reason_str(e->reason));
        }
        c->failed = true;
        break;
    case RAK_EVENT_KIND_MESSAGE: {
        const uint8_t *d = rak_message_data(e->message);
        size_t len = rak_message_len(e->message);
        if (len >= BENCH_REPORT_LEN && d[1] == 'R') {
            memcpy(c->report, d, BENCH_REPORT_LEN);
            c->have_report = true;
        } else if (len >= BENCH_STATS_LEN && d[1] == 'q') {
            memcpy(c->stats, d, BENCH_STATS_LEN);
            c->have_stats = true;
        } else if (len >= BENCH_DATA_HEADER && d[1] == 'P') {
            c->echo_seq = bench_get32(d + 2);
        }
        break;
    }
    default:
        break;
    }
}

static void client_pump(struct client *c, uint32_t wait_ms)
{
    rak_event ev[64];
    size_t n = 0;
    rak_result r = wait_ms ? rak_peer_wait(c->peer, ev, 64, wait_ms, &n)
                           : rak_peer_poll(c->peer, ev, 64, &n);
    if (r != RAK_RESULT_OK) {
        printf("events: %s\n", rak_result_str(r));
        c->failed = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        client_event(c, &ev[i]);
        rak_message_release(ev[i].message);
    }
}

static void client_poll_cb(void *ctx)
{
    client_pump(ctx, 0);
}

static void client_open(struct client *c, const struct options *o)
{
    memset(c, 0, sizeof *c);
    c->echo_seq = -1;
    c->peer = make_peer(o, "0.0.0.0", 0, 0, 0);
    rak_result r = bench_connect(c->peer, o, &c->conn);
    if (r != RAK_RESULT_OK) {
        ex_die(prog, "connect: %s", rak_result_str(r));
    }
    uint64_t deadline = ex_now_ms() + 15000;
    while (!c->connected && !c->failed && ex_now_ms() < deadline) {
        client_pump(c, 100);
    }
    if (!c->connected) {
        ex_die(prog, "could not connect to %s:%ld", o->host, o->port);
    }
    if (o->secure) {
        rak_conn_stats cs;
        ex_check(prog, "conn stats", rak_peer_conn_stats(c->peer, c->conn, &cs, sizeof cs));
        if (!cs.secure) {
            ex_die(prog, "the connection is not secure");
        }
    }
}

static void client_close(struct client *c)
{
    if (!c->failed) {
        rak_peer_close(c->peer, c->conn, true);
        uint64_t deadline = ex_now_ms() + 2000;
        while (!c->failed && ex_now_ms() < deadline) {
            client_pump(c, 50); /* DISCONNECTED sets failed: the end of the loop */
        }
    }
    rak_peer_destroy(c->peer);
}

static bool client_wait(struct client *c, bool *flag, uint64_t timeout_ms)
{
    uint64_t deadline = ex_now_ms() + timeout_ms;
    while (!*flag && !c->failed && !stop_requested && ex_now_ms() < deadline) {
        client_pump(c, 50);
    }
    return *flag;
}

static int run_send(const struct options *o)
{
    struct client c;
    client_open(&c, o);
    rak_send_options opts = {o->reliability, RAK_PRIORITY_HIGH, 0};
    uint8_t ctl[16] = {BENCH_ID, 'S'};
    bench_put64(ctl + 2, o->count);
    bench_put32(ctl + 10, (uint32_t)o->size);
    ex_check(prog, "send start", send_retry(c.peer, c.conn, ctl, 14, &opts, client_poll_cb, &c, NULL));

    uint8_t *buf = calloc(1, (size_t)o->size);
    if (!buf) {
        ex_die(prog, "out of memory");
    }
    uint64_t gap_ns = o->rate > 0 ? (uint64_t)(1e9 / o->rate) : 0;
    uint64_t first = bench_now_ns();
    for (uint64_t i = 0; i < o->count && !c.failed && !stop_requested; i++) {
        uint64_t now = bench_now_ns();
        if (gap_ns) {
            uint64_t due = first + i * gap_ns;
            while (now < due) {
                client_pump(&c, 0);
                bench_sleep_ns(due - now > 200000 ? 100000 : due - now);
                now = bench_now_ns();
            }
        }
        bench_fill(buf, (size_t)o->size, 'D', (uint32_t)i, now);
        rak_result r = send_retry(c.peer, c.conn, buf, (size_t)o->size, &opts, client_poll_cb, &c,
                                  &c.full);
        if (r != RAK_RESULT_OK) {
            ex_die(prog, "send %" PRIu64 ": %s", i, rak_result_str(r));
        }
    }
    uint64_t sent_ns = bench_now_ns();
    ctl[1] = 'E';
    bench_put64(ctl + 2, o->count);
    ex_check(prog, "send end", send_retry(c.peer, c.conn, ctl, 10, &opts, client_poll_cb, &c, NULL));
    uint64_t timeout = 120000 + o->count / 1000;
    if (!client_wait(&c, &c.have_report, timeout)) {
        ex_die(prog, "no report from the receiver");
    }
    fprintf(stderr, "%s: queued in %.3f s, %" PRIu64 " full retries\n", prog,
            (double)(sent_ns - first) / 1e9, c.full);

    struct bench_result res;
    bench_result_init(&res, lib_name(o), o->test ? o->test : "T1");
    res.size = o->size;
    res.count = o->count;
    bench_from_report(&res, c.report, first);
    if (o->sim_loss_pct > 0 || o->sim_latency_ms > 0) {
        res.loss_pct = o->sim_loss_pct;
    }
    bench_print(&res);
    print_wire(c.peer, o, res.test);
    client_close(&c);
    free(buf);
    return 0;
}

static int run_pingpong(const struct options *o)
{
    struct client c;
    client_open(&c, o);
    struct bench_samples rtt;
    bench_samples_init(&rtt, (size_t)o->count + 1);
    uint8_t *buf = calloc(1, (size_t)o->size);
    if (!buf) {
        ex_die(prog, "out of memory");
    }
    uint64_t warmup = o->count < 100 ? o->count : 100;
    uint64_t start = 0;
    for (uint64_t i = 0; i < warmup + o->count && !c.failed; i++) {
        if (i == warmup) {
            start = bench_now_ns();
        }
        uint64_t t0 = bench_now_ns();
        bench_fill(buf, (size_t)o->size, 'P', (uint32_t)i, t0);
        ex_check(prog, "send probe", send_retry(c.peer, c.conn, buf, (size_t)o->size, NULL,
                                                client_poll_cb, &c, NULL));
        uint64_t deadline = ex_now_ms() + 5000;
        while (c.echo_seq != (int64_t)(uint32_t)i && !c.failed && ex_now_ms() < deadline) {
            client_pump(&c, 1000);
        }
        if (c.echo_seq != (int64_t)(uint32_t)i) {
            ex_die(prog, "probe %" PRIu64 " not echoed", i);
        }
        if (i >= warmup) {
            bench_samples_add(&rtt, bench_now_ns() - t0);
        }
    }
    double total = (double)(bench_now_ns() - start) / 1e9;
    bench_samples_sort(&rtt);
    struct bench_result res;
    bench_result_init(&res, lib_name(o), o->test ? o->test : "T2");
    res.size = o->size;
    res.count = o->count;
    res.delivered = (double)rtt.seen;
    res.seconds = total;
    res.msgs_per_s = (double)rtt.seen / total;
    res.mean_us = (double)bench_mean(&rtt) / 1e3;
    res.p50_us = (double)bench_percentile(&rtt, 50) / 1e3;
    res.p99_us = (double)bench_percentile(&rtt, 99) / 1e3;
    res.max_us = (double)rtt.max / 1e3;
    bench_print(&res);
    print_wire(c.peer, o, res.test);
    client_close(&c);
    free(buf);
    free(rtt.v);
    return 0;
}

/* --- conns ---------------------------------------------------------------------- */

/* Asks the server for its RSS, CPU time and message count over the control client. */
static void query_stats(struct client *ctl, uint64_t *rss_kb, uint64_t *cpu_us, uint64_t *msgs)
{
    uint8_t q[2] = {BENCH_ID, 'Q'};
    ctl->have_stats = false;
    ex_check(prog, "query", send_retry(ctl->peer, ctl->conn, q, 2, NULL, client_poll_cb, ctl, NULL));
    if (!client_wait(ctl, &ctl->have_stats, 10000)) {
        ex_die(prog, "no stats from the server");
    }
    *rss_kb = bench_get64(ctl->stats + 2);
    *cpu_us = bench_get64(ctl->stats + 10);
    *msgs = bench_get64(ctl->stats + 26);
}

struct conn_client {
    rak_peer *peer;
    rak_conn conn;
    int state; /* 0 connecting, 1 connected, -1 failed */
    uint64_t next_ns;
};

static void drain(struct conn_client *cc)
{
    rak_event ev[16];
    size_t n = 0;
    while (rak_peer_poll(cc->peer, ev, 16, &n) == RAK_RESULT_OK && n > 0) {
        for (size_t i = 0; i < n; i++) {
            if (ev[i].conn.id == cc->conn.id) {
                if (ev[i].kind == RAK_EVENT_KIND_CONNECTED) {
                    cc->state = 1;
                } else if (ev[i].kind == RAK_EVENT_KIND_CONNECT_FAILED ||
                           ev[i].kind == RAK_EVENT_KIND_DISCONNECTED) {
                    cc->state = -1;
                }
            }
            rak_message_release(ev[i].message);
        }
    }
}

static int run_conns(const struct options *o)
{
    size_t k = (size_t)o->clients;
    struct client ctl;
    client_open(&ctl, o);
    uint64_t rss0, cpu0, msgs0, rss1, cpu1, msgs1, rss2, cpu2, msgs2;
    query_stats(&ctl, &rss0, &cpu0, &msgs0);

    struct conn_client *cs = calloc(k, sizeof *cs);
    if (!cs) {
        ex_die(prog, "out of memory");
    }
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < k; i++) {
        cs[i].peer = make_peer(o, "127.0.0.1", 0, 0, 64);
        rak_result r = bench_connect(cs[i].peer, o, &cs[i].conn);
        if (r != RAK_RESULT_OK) {
            ex_die(prog, "connect %zu: %s", i, rak_result_str(r));
        }
    }
    size_t connected = 0, failed = 0;
    uint64_t last_connect = t0;
    uint64_t deadline = ex_now_ms() + 60000;
    while (connected + failed < k && ex_now_ms() < deadline) {
        connected = failed = 0;
        for (size_t i = 0; i < k; i++) {
            if (cs[i].state == 0) {
                drain(&cs[i]);
                if (cs[i].state == 1) {
                    last_connect = bench_now_ns();
                }
            }
            connected += cs[i].state == 1;
            failed += cs[i].state == -1;
        }
        client_pump(&ctl, 0);
        bench_sleep_ns(1000000);
    }
    fprintf(stderr, "%s: %zu of %zu clients connected (%zu failed)\n", prog, connected, k, failed);
    bench_sleep_ns(o->settle_ms * 1000000u); /* let the server settle */
    query_stats(&ctl, &rss1, &cpu1, &msgs1);

    /* Each client sends msg_rate messages per second, spread evenly over the period. */
    uint64_t period = (uint64_t)(1e9 / o->msg_rate);
    uint64_t start = bench_now_ns();
    for (size_t i = 0; i < k; i++) {
        cs[i].next_ns = start + period * i / k;
    }
    uint64_t end = start + o->seconds * 1000000000u;
    uint8_t *buf = calloc(1, (size_t)o->size);
    uint64_t sent = 0, refused = 0;
    uint32_t seq = 0;
    while (bench_now_ns() < end && !stop_requested) {
        uint64_t now = bench_now_ns();
        for (size_t i = 0; i < k; i++) {
            if (cs[i].state == 1 && cs[i].next_ns <= now) {
                bench_fill(buf, (size_t)o->size, 'D', seq++, now);
                rak_result r = rak_peer_send(cs[i].peer, cs[i].conn, buf, (size_t)o->size, NULL, NULL);
                if (r == RAK_RESULT_OK) {
                    sent++;
                } else {
                    refused++;
                }
                cs[i].next_ns += period;
            }
            drain(&cs[i]);
        }
        client_pump(&ctl, 0);
        bench_sleep_ns(1000000);
    }
    bench_sleep_ns(o->settle_ms * 500000u); /* deliveries in flight */
    query_stats(&ctl, &rss2, &cpu2, &msgs2);

    struct bench_result res;
    bench_result_init(&res, lib_name(o), o->test ? o->test : "T3");
    res.size = o->size;
    res.count = sent;
    res.delivered = (double)(msgs2 - msgs1);
    res.clients = (double)k;
    res.seconds = (double)o->seconds;
    res.msgs_per_s = res.delivered / res.seconds;
    res.connect_s = (double)(last_connect - t0) / 1e9;
    res.rss_kb_per_conn = connected ? ((double)rss1 - (double)rss0) / (double)connected : NAN;
    res.cpu_us_per_msg = msgs2 > msgs1 ? (double)(cpu2 - cpu1) / (double)(msgs2 - msgs1) : NAN;
    fprintf(stderr, "%s: server rss %" PRIu64 " -> %" PRIu64 " -> %" PRIu64 " KiB, cpu %" PRIu64
            " us for %" PRIu64 " msgs; %" PRIu64 " sends refused\n", prog, rss0, rss1, rss2,
            cpu2 - cpu1, msgs2 - msgs1, refused);
    if (connected < k) {
        res.clients = (double)connected;
    }
    bench_print(&res);

    for (size_t i = 0; i < k; i++) {
        if (cs[i].state == 1) {
            rak_peer_close(cs[i].peer, cs[i].conn, true);
        }
    }
    bench_sleep_ns(200000000u);
    for (size_t i = 0; i < k; i++) {
        rak_peer_shutdown(cs[i].peer, 0);
        rak_peer_destroy(cs[i].peer);
    }
    free(cs);
    free(buf);
    client_close(&ctl);
    return connected == k ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct options o;
    memset(&o, 0, sizeof o);
    o.port = -1;
    o.count = 1000;
    o.size = 64;
    o.clients = 10;
    o.max_conn = 16384;
    o.seconds = 5;
    o.msg_rate = 10;
    o.settle_ms = 1000;
    o.reliability = RAK_RELIABILITY_RELIABLE_ORDERED;

    ex_line_buffered();
    ex_check_abi(prog);
    if (argc < 2) {
        usage();
    }
    o.mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--host")) {
            o.host = ex_value(prog, argc, argv, &i);
        } else if (!strcmp(a, "--port")) {
            o.port = (long)ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 0, 65535);
        } else if (!strcmp(a, "--count")) {
            o.count = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 1, 100000000);
        } else if (!strcmp(a, "--size")) {
            o.size = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), BENCH_DATA_HEADER,
                                   64u << 20);
        } else if (!strcmp(a, "--reliability")) {
            const char *name = ex_value(prog, argc, argv, &i);
            if (!ex_parse_reliability(name, &o.reliability)) {
                ex_die(prog, "unknown reliability '%s'", name);
            }
        } else if (!strcmp(a, "--rate")) {
            o.rate = parse_double(a, ex_value(prog, argc, argv, &i), 1e9);
        } else if (!strcmp(a, "--test")) {
            o.test = ex_value(prog, argc, argv, &i);
        } else if (!strcmp(a, "--clients")) {
            o.clients = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 1, 1000000);
        } else if (!strcmp(a, "--seconds")) {
            o.seconds = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 1, 3600);
        } else if (!strcmp(a, "--msg-rate")) {
            o.msg_rate = parse_double(a, ex_value(prog, argc, argv, &i), 1e6);
            if (o.msg_rate <= 0) {
                ex_die(prog, "--msg-rate must be positive");
            }
        } else if (!strcmp(a, "--settle-ms")) {
            o.settle_ms = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 0, 600000);
        } else if (!strcmp(a, "--max-connections")) {
            o.max_conn = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 0, UINT32_MAX);
        } else if (!strcmp(a, "--quit-after-ms")) {
            o.quit_after_ms = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 1, UINT32_MAX);
        } else if (!strcmp(a, "--sim-loss")) {
            o.sim_loss_pct = parse_double(a, ex_value(prog, argc, argv, &i), 100);
        } else if (!strcmp(a, "--sim-latency-ms")) {
            o.sim_latency_ms = parse_double(a, ex_value(prog, argc, argv, &i), 10000);
        } else if (!strcmp(a, "--sim-jitter-ms")) {
            o.sim_jitter_ms = parse_double(a, ex_value(prog, argc, argv, &i), 10000);
        } else if (!strcmp(a, "--secure")) {
            o.secure = true;
        } else if (!strcmp(a, "--key-file")) {
            o.key_file = ex_value(prog, argc, argv, &i);
        } else if (!strcmp(a, "--server-key")) {
            ex_parse_key(prog, a, ex_value(prog, argc, argv, &i), o.server_key);
            o.pinned = o.secure = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", prog, a);
            usage();
        }
    }
    if (!strcmp(o.mode, "recv")) {
        if (o.port < 0 || o.pinned) {
            usage();
        }
        if (o.key_file) {
            ex_load_or_create_key(prog, o.key_file, o.pub, o.priv);
            o.have_key = true;
        } else if (o.secure) {
            ex_check(prog, "rak_key_pair_generate", rak_key_pair_generate(o.pub, o.priv));
            o.have_key = true;
        }
        return run_recv(&o);
    }
    if (o.key_file) {
        ex_die(prog, "--key-file is for the receiver (recv); drivers take --secure or --server-key");
    }
    if (!o.host || o.port <= 0) {
        usage();
    }
    if (!strcmp(o.mode, "send")) {
        return run_send(&o);
    }
    if (!strcmp(o.mode, "pingpong")) {
        return run_pingpong(&o);
    }
    if (!strcmp(o.mode, "conns")) {
        return run_conns(&o);
    }
    usage();
    return 2;
}
