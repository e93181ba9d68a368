/*
 * rak_client: connects to a RakNet server, sends N user messages and, with
 * --expect-echo, checks that every echo comes back intact (and in order where the
 * reliability orders), then disconnects cleanly.
 *
 *   rak_client --host H --port P [--protocol V] [--count N] [--size S]
 *              [--reliability NAME] [--channel C] [--password PW] [--expect-echo]
 *              [--first-byte B] [--timeout-ms T] [--hold-ms M] [--hold S]
 *              [--server-key HEX | --secure] [--key-file F]
 *              [--sim-loss PCT] [--sim-latency-ms MS] [--sim-jitter-ms MS]
 *              [--sim-dup PCT] [--sim-reorder PCT]
 *
 * H is an IPv4 or IPv6 literal or a host name ("localhost"); an IPv6 literal makes the
 * client bind "::". Message i is: byte B (default 134, ID_USER_PACKET_ENUM; decimal or
 * 0x hex), i as 4 bytes big-endian, then ex_pattern_byte(i, k) up to S bytes. Exit
 * status 0 only if everything expected happened. Unreliable kinds may lose echoes:
 * losses are reported, not failures. The sequenced kinds deliver only the newest of
 * what has arrived: older messages that arrive after a newer one are dropped by design
 * (on both legs of the echo), so success there is that no echo is ever older than one
 * already received and, for RELIABLE_SEQUENCED, that the newest message (N-1) comes
 * back; how many older ones were superseded is reported. --hold-ms keeps the connection open M ms after
 * the messages (and echoes) before disconnecting; losing it meanwhile is a failure.
 * --hold (for the interop suite) instead waits up to S seconds for the connection to be
 * lost and exits 0 only if it was. A refused connection prints the reason in words
 * ("connection refused: banned") and exits 1. The --sim-* options turn on the
 * library's network simulator for both directions of the client.
 *
 * Secure mode (the server runs rak_server --key-file): --server-key HEX connects
 * securely and pins the server's public key (the "public-key:" line rak_server prints);
 * a server that cannot prove it is refused ("connection refused: public key mismatch").
 * --secure connects securely without a pin (trust on first use): the connected line
 * shows the key the server proved. --key-file F gives the client a key pair of its own
 * (loaded from F, or created there), for servers with --require-client-key; it implies
 * --secure. A secure connection never falls back to plain: a server without secure mode
 * is refused ("server not secure"). The connected line of a secure connection ends in
 * "secure server-key=HEX".
 */
#include "common.h"

static const char *prog = "rak_client";

struct state {
    rak_peer *peer;
    rak_conn conn;
    uint8_t first_byte;
    uint32_t reliability;
    size_t size;
    uint32_t count;
    bool expect_echo;
    uint32_t received;   /* echoes accepted */
    int64_t last_seq;    /* newest sequence number seen, -1 before the first */
    uint8_t *seen;       /* per sequence number: echo arrived */
    bool failed;
    bool disconnected;
    uint32_t end_reason; /* RAK_REASON_* of the disconnection, once disconnected */
    bool secure;         /* connected with rak_peer_connect_secure() */
    bool pinned;         /* ... pinning server_key */
    uint8_t server_key[RAK_KEY_BYTES];
};

static void fill(uint8_t *buf, size_t size, uint8_t first_byte, uint32_t seq)
{
    buf[0] = first_byte;
    buf[1] = (uint8_t)(seq >> 24);
    buf[2] = (uint8_t)(seq >> 16);
    buf[3] = (uint8_t)(seq >> 8);
    buf[4] = (uint8_t)seq;
    for (size_t k = 5; k < size; k++) {
        buf[k] = ex_pattern_byte(seq, k);
    }
}

static void on_echo(struct state *s, const uint8_t *data, size_t len)
{
    if (len != s->size || len < 5 || data[0] != s->first_byte) {
        printf("bad echo: %zu bytes, id %u\n", len, len ? (unsigned)data[0] : 0u);
        s->failed = true;
        return;
    }
    uint32_t seq = ((uint32_t)data[1] << 24) | ((uint32_t)data[2] << 16) |
                   ((uint32_t)data[3] << 8) | (uint32_t)data[4];
    for (size_t k = 5; k < len; k++) {
        if (data[k] != ex_pattern_byte(seq, k)) {
            printf("corrupt echo %u at byte %zu\n", (unsigned)seq, k);
            s->failed = true;
            return;
        }
    }
    if (seq >= s->count) {
        printf("echo with unknown sequence number %u\n", (unsigned)seq);
        s->failed = true;
        return;
    }
    if (s->seen[seq]) {
        if (ex_is_reliable(s->reliability)) {
            printf("duplicate echo %u\n", (unsigned)seq);
            s->failed = true;
        }
        return;
    }
    if (ex_is_ordered(s->reliability) && (int64_t)seq != s->last_seq + 1) {
        printf("echo %u out of order (expected %u)\n", (unsigned)seq,
               (unsigned)(s->last_seq + 1));
        s->failed = true;
    } else if (ex_is_sequenced(s->reliability) && (int64_t)seq <= s->last_seq) {
        printf("sequenced echo %u older than %u\n", (unsigned)seq, (unsigned)s->last_seq);
        s->failed = true;
    }
    if ((int64_t)seq > s->last_seq) {
        s->last_seq = seq;
    }
    s->seen[seq] = 1;
    s->received++;
}

/* Handles the events waiting (up to wait_ms for the first one). */
static void pump(struct state *s, uint32_t wait_ms)
{
    rak_event ev[64];
    size_t n = 0;
    rak_result r = rak_peer_wait(s->peer, ev, 64, wait_ms, &n);
    if (r != RAK_RESULT_OK) {
        printf("rak_peer_wait: %s\n", rak_result_str(r));
        s->failed = true;
        s->disconnected = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const rak_event *e = &ev[i];
        if (e->kind == RAK_EVENT_KIND_MESSAGE && e->conn.id == s->conn.id) {
            if (s->expect_echo) {
                on_echo(s, rak_message_data(e->message), rak_message_len(e->message));
            }
        } else if (e->kind == RAK_EVENT_KIND_DISCONNECTED && e->conn.id == s->conn.id) {
            s->disconnected = true;
            s->end_reason = e->reason;
            if (e->reason != RAK_REASON_CLOSED_LOCALLY) {
                printf("disconnected: %s\n", rak_reason_str(e->reason));
                s->failed = true;
            }
        } else if (e->kind == RAK_EVENT_KIND_SECURITY_ALERT && e->conn.id == s->conn.id) {
            rak_conn_stats cs;
            memset(&cs, 0, sizeof cs);
            rak_peer_conn_stats(s->peer, s->conn, &cs, sizeof cs);
            printf("security-alert: forged=%" PRIu64 " replayed=%" PRIu64 "\n",
                   cs.datagrams_forged, cs.datagrams_replayed);
        } else if (e->kind == RAK_EVENT_KIND_FATAL) {
            printf("fatal: the network thread failed\n");
            s->failed = true;
            s->disconnected = true;
        }
        rak_message_release(e->message);
    }
}

/* Waits for the connection attempt to end; prints the reason of a failure. */
static bool await_connection(struct state *s, const char *host, unsigned port)
{
    for (;;) {
        rak_event ev;
        size_t n = 0;
        rak_result r = rak_peer_wait(s->peer, &ev, 1, 1000, &n);
        if (r != RAK_RESULT_OK) {
            printf("connection failed: %s\n", rak_result_str(r));
            return false;
        }
        if (n == 0) {
            continue; /* the library gives up by itself (RAK_REASON_NO_RESPONSE) */
        }
        rak_message_release(ev.message);
        if (ev.conn.id != s->conn.id) {
            continue;
        }
        if (ev.kind == RAK_EVENT_KIND_CONNECTED) {
            if (!s->secure) {
                printf("connected to %s:%u guid=%016" PRIx64 "\n", host, port, ev.guid);
                return true;
            }
            /* The library checked the pin; a plain connection here would be a bug. */
            uint8_t key[RAK_KEY_BYTES];
            char hex[RAK_KEY_HEX_BYTES];
            rak_conn_stats cs;
            rak_result r1 = rak_peer_conn_stats(s->peer, s->conn, &cs, sizeof cs);
            rak_result r2 = rak_peer_conn_remote_key(s->peer, s->conn, key);
            if (r1 != RAK_RESULT_OK || r2 != RAK_RESULT_OK || !cs.secure ||
                (s->pinned && memcmp(key, s->server_key, RAK_KEY_BYTES) != 0)) {
                printf("connection failed: not secure as requested (%s, %s)\n",
                       rak_result_str(r1), rak_result_str(r2));
                return false;
            }
            printf("connected to %s:%u guid=%016" PRIx64 " secure server-key=%s\n", host, port,
                   ev.guid, ex_key_hex(key, hex));
            return true;
        }
        if (ev.kind == RAK_EVENT_KIND_CONNECT_FAILED) {
            const char *why = rak_reason_str(ev.reason);
            if (ev.reason == RAK_REASON_NO_RESPONSE || ev.reason == RAK_REASON_CANCELLED ||
                ev.reason == RAK_REASON_SECURE_HANDSHAKE_FAILED) {
                printf("connection failed: %s\n", why);
            } else if (ev.reason == RAK_REASON_INCOMPATIBLE_PROTOCOL) {
                printf("connection refused: %s (server speaks %u)\n", why,
                       (unsigned)ev.server_protocol);
            } else {
                printf("connection refused: %s\n", why);
            }
            return false;
        }
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: rak_client --host H --port P [--protocol V] [--count N] [--size S]\n"
            "                  [--reliability NAME] [--channel C] [--password PW]\n"
            "                  [--expect-echo] [--first-byte B] [--timeout-ms T]\n"
            "                  [--hold-ms M] [--hold S]\n"
            "                  [--server-key HEX | --secure] [--key-file F]\n"
            "                  " EX_SIM_USAGE "\n"
            "reliability names: unreliable, unreliable_sequenced, reliable, reliable_ordered,\n"
            "  reliable_sequenced, unreliable_with_ack_receipt, reliable_with_ack_receipt,\n"
            "  reliable_ordered_with_ack_receipt\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = NULL;
    const char *password = "";
    const char *key_file = NULL;
    const char *server_key_hex = NULL;
    bool secure = false;
    long port = -1;
    unsigned long long protocol = 6, count = 10, size = 64, channel = 0, timeout_ms = 10000;
    unsigned long long first_byte = EX_ID_USER_PACKET, hold_ms = 0, hold_s = 0;
    uint32_t reliability = RAK_RELIABILITY_RELIABLE_ORDERED;
    bool expect_echo = false;
    struct ex_sim sim = {0};

    ex_line_buffered();
    ex_check_abi(prog);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--host")) {
            host = ex_value(prog, argc, argv, &i);
        } else if (!strcmp(a, "--port")) {
            port = (long)ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 1, 65535);
        } else if (!strcmp(a, "--protocol")) {
            protocol = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 1, 255);
        } else if (!strcmp(a, "--count")) {
            count = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 0, 10000000);
        } else if (!strcmp(a, "--size")) {
            size = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 5, 64u << 20);
        } else if (!strcmp(a, "--reliability")) {
            const char *name = ex_value(prog, argc, argv, &i);
            if (!ex_parse_reliability(name, &reliability)) {
                fprintf(stderr, "%s: unknown reliability '%s'\n", prog, name);
                usage();
            }
        } else if (!strcmp(a, "--channel")) {
            channel = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 0, RAK_CHANNELS - 1);
        } else if (!strcmp(a, "--password")) {
            password = ex_value(prog, argc, argv, &i);
        } else if (!strcmp(a, "--server-key")) {
            server_key_hex = ex_value(prog, argc, argv, &i);
        } else if (!strcmp(a, "--secure")) {
            secure = true;
        } else if (!strcmp(a, "--key-file")) {
            key_file = ex_value(prog, argc, argv, &i);
        } else if (!strcmp(a, "--expect-echo")) {
            expect_echo = true;
        } else if (!strcmp(a, "--first-byte")) {
            const char *v = ex_value(prog, argc, argv, &i);
            char *end = NULL;
            errno = 0;
            first_byte = strtoull(v, &end, 0);
            if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || first_byte > 255) {
                ex_die(prog, "--first-byte: expected 0 to 255 (or 0x00 to 0xff), got '%s'", v);
            }
        } else if (!strcmp(a, "--hold-ms")) {
            hold_ms = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 0, UINT32_MAX);
        } else if (!strcmp(a, "--hold")) {
            hold_s = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 1, 86400);
        } else if (!strcmp(a, "--timeout-ms")) {
            timeout_ms = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 1, UINT32_MAX);
        } else if (ex_parse_sim(prog, argc, argv, &i, &sim)) {
            /* handled */
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", prog, a);
            usage();
        }
    }
    if (!host || port < 0) {
        usage();
    }
    if (server_key_hex && secure) {
        ex_die(prog, "--secure connects without a pinned key; give --server-key or --secure");
    }
    struct state s = {0};
    if (server_key_hex) {
        ex_parse_key(prog, "--server-key", server_key_hex, s.server_key);
        s.pinned = true;
    }
    s.secure = secure || s.pinned || key_file != NULL;

    rak_config *config = NULL;
    ex_check(prog, "rak_config_create", rak_config_create(&config));
    if (strchr(host, ':')) {
        /* An IPv6 literal: a dual-stack socket reaches it (and IPv4 too). */
        ex_check(prog, "--host", rak_config_set_bind(config, "::", 0));
    }
    ex_check(prog, "--protocol", rak_config_set_protocol_version(config, (uint32_t)protocol));
    ex_apply_sim(prog, config, &sim);
    if (key_file) {
        uint8_t pub[RAK_KEY_BYTES], priv[RAK_KEY_BYTES];
        char hex[RAK_KEY_HEX_BYTES];
        ex_load_or_create_key(prog, key_file, pub, priv);
        ex_check(prog, "--key-file", rak_config_set_key_pair(config, priv));
        memset(priv, 0, sizeof priv);
        printf("public-key: %s\n", ex_key_hex(pub, hex));
    }
    rak_peer *peer = NULL;
    rak_result r = rak_peer_create(config, &peer);
    rak_config_destroy(config);
    if (r != RAK_RESULT_OK) {
        printf("cannot start: %s\n", rak_result_str(r));
        return 1;
    }

    s.peer = peer;
    s.first_byte = (uint8_t)first_byte;
    s.reliability = reliability;
    s.size = (size_t)size;
    s.count = (uint32_t)count;
    s.expect_echo = expect_echo;
    s.last_seq = -1;
    s.seen = calloc(count ? (size_t)count : 1, 1);
    uint8_t *buf = malloc((size_t)size);
    if (!s.seen || !buf) {
        ex_die(prog, "out of memory");
    }

    if (s.secure) {
        rak_connect_options copts;
        memset(&copts, 0, sizeof copts);
        copts.password = (const uint8_t *)password;
        copts.password_len = strlen(password);
        r = rak_peer_connect_secure(peer, host, (uint16_t)port, &copts,
                                    s.pinned ? s.server_key : NULL, &s.conn);
    } else {
        r = rak_peer_connect(peer, host, (uint16_t)port, (const uint8_t *)password,
                             strlen(password), &s.conn);
    }
    if (r != RAK_RESULT_OK) {
        printf("connection failed: %s\n", rak_result_str(r));
        rak_peer_destroy(peer);
        return 1;
    }
    if (!await_connection(&s, host, (unsigned)port)) {
        rak_peer_destroy(peer);
        return 1;
    }

    uint64_t deadline = ex_now_ms() + timeout_ms;
    rak_send_options opts = {reliability, RAK_PRIORITY_HIGH, (uint32_t)channel};
    for (uint32_t seq = 0; seq < s.count && !s.disconnected; seq++) {
        fill(buf, s.size, s.first_byte, seq);
        for (;;) {
            r = rak_peer_send(peer, s.conn, buf, s.size, &opts, NULL);
            if (r != RAK_RESULT_QUEUE_FULL && r != RAK_RESULT_BUFFER_FULL) {
                break;
            }
            pump(&s, 5); /* let acknowledgements drain the buffer, then retry */
            if (s.disconnected || ex_now_ms() > deadline) {
                break;
            }
        }
        if (r != RAK_RESULT_OK) {
            printf("send %u failed: %s\n", (unsigned)seq, rak_result_str(r));
            s.failed = true;
            break;
        }
    }
    printf("sent %u messages of %zu bytes (%s, channel %u)\n", (unsigned)s.count, s.size,
           ex_reliability_name(reliability), (unsigned)channel);

    if (expect_echo && ex_is_sequenced(reliability)) {
        /* Nothing older than the newest echo can arrive after it: once message N-1 is
         * back, the run is complete. */
        bool newest = false;
        while (!s.failed && !s.disconnected && ex_now_ms() < deadline &&
               !(newest = s.count == 0 || s.last_seq == (int64_t)s.count - 1)) {
            pump(&s, 50);
        }
        printf("received %u of %u sequenced echoes, %u superseded or lost, newest %s\n",
               (unsigned)s.received, (unsigned)s.count, (unsigned)(s.count - s.received),
               newest ? "arrived" : "missing");
        if (!newest && reliability == RAK_RELIABILITY_RELIABLE_SEQUENCED) {
            s.failed = true;
        }
    } else if (expect_echo) {
        while (!s.failed && !s.disconnected && s.received < s.count && ex_now_ms() < deadline) {
            pump(&s, 50);
        }
        if (s.received < s.count) {
            printf("received %u of %u echoes\n", (unsigned)s.received, (unsigned)s.count);
            if (ex_is_reliable(reliability)) {
                s.failed = true;
            }
        } else {
            printf("received all %u echoes intact\n", (unsigned)s.count);
        }
    }

    if (hold_s) {
        /* Interop: wait for the server to vanish; exit 0 only if the loss was seen. */
        uint64_t hold_deadline = ex_now_ms() + hold_s * 1000u;
        while (!s.disconnected && ex_now_ms() < hold_deadline) {
            pump(&s, 100);
        }
        bool lost = s.disconnected && s.end_reason == RAK_REASON_TIMED_OUT;
        if (lost) {
            printf("connection lost\n");
        } else {
            printf("connection not lost within %llu s\n", hold_s);
        }
        ex_print_sim(peer, &sim);
        free(buf);
        free(s.seen);
        rak_peer_destroy(peer);
        return lost ? 0 : 1;
    }
    if (hold_ms && !s.disconnected) {
        printf("holding the connection for %llu ms\n", hold_ms);
        uint64_t hold_deadline = ex_now_ms() + hold_ms;
        for (uint64_t now = ex_now_ms(); !s.disconnected && now < hold_deadline;
             now = ex_now_ms()) {
            uint64_t left = hold_deadline - now;
            pump(&s, left < 100 ? (uint32_t)left : 100);
        }
        if (s.disconnected) {
            s.failed = true; /* pump printed the reason */
        }
    }

    if (!s.disconnected) {
        r = rak_peer_close(peer, s.conn, true);
        if (r == RAK_RESULT_OK) {
            /* rak_peer_close promises the DISCONNECTED event once the queued messages and
             * the notice are acknowledged, or at most 2 s after the notice went out if it
             * is not (some servers never acknowledge it), and never later than the
             * connection timeout (10 s by default). The deadline here is only a guard. */
            uint64_t close_deadline = ex_now_ms() + 12000;
            while (!s.disconnected && ex_now_ms() < close_deadline) {
                pump(&s, 50);
            }
        }
        if (!s.disconnected) {
            printf("no clean disconnect\n");
            s.failed = true;
        } else if (!s.failed) {
            printf("disconnected\n");
        }
    }

    ex_print_sim(peer, &sim);
    free(buf);
    free(s.seen);
    rak_peer_destroy(peer);
    return s.failed ? 1 : 0;
}
