/*
 * rak_server: accepts RakNet connections and prints one line per event; with --echo,
 * sends every user message back with the same reliability and channel.
 *
 *   rak_server --port P [--bind ADDR] [--ipv6-only] [--reuse-address] [--protocol V]
 *              [--max-connections N] [--password PW] [--offline-data TEXT] [--no-cookies]
 *              [--ban PATTERN[:SECONDS]]... [--echo] [--quit-after-ms M]
 *              [--ping-amplification F]
 *              [--key-file F [--require-secure] [--require-client-key]]
 *              [--sim-loss PCT] [--sim-latency-ms MS] [--sim-jitter-ms MS]
 *              [--sim-dup PCT] [--sim-reorder PCT]
 *
 * --bind takes an IPv4 or IPv6 literal (or a host name): 0.0.0.0 (the default) listens
 * on every IPv4 address, :: on every IPv6 and IPv4 address (dual-stack, unless
 * --ipv6-only); --host is an alias. --ban refuses the matching IPs ("192.168.1.*", an
 * IPv6 address in brackets: "[::1]:30"), for SECONDS or until the server stops.
 * --reuse-address lets several servers bind one port so that each answers LAN
 * discovery broadcasts (rak_ping --broadcast). --no-cookies switches the anti-spoofing
 * cookie off (for clients that cannot echo it). --ping-amplification caps how much larger
 * a pong may be than its ping (1..16); the library's default is 1, but when
 * --offline-data is given (or the protocol is Bedrock's, 10 or more) this server uses 16
 * unless told otherwise, so that RakNet 4 and Bedrock clients (33-byte pings) get answers.
 *
 * --key-file turns on secure mode with the key pair saved in F (created, mode 0600, if F
 * does not exist): clients that connect with rak_client --server-key (or --secure) get
 * an encrypted, authenticated connection; plain clients still connect unless
 * --require-secure. --require-client-key also refuses secure clients that present no
 * key pair of their own (rak_client --key-file). Both need --key-file.
 *
 * The first lines are "public-key: HEX" with --key-file (64 lower-case hex digits, to
 * give clients), "banned pattern=P seconds=S" per --ban, then
 * "listening port=P guid=G" (P is the bound port, useful with --port 0). Then one line
 * per event (see README.md); a secure connection's "connected" line ends in "secure",
 * followed by "client-key=HEX" if the client proved a key pair, and datagrams that
 * failed authentication print "security-alert conn=C addr=A forged=N replayed=M". SIGINT / SIGTERM shut the server down cleanly. The --sim-*
 * options turn on the library's network simulator for both directions of its traffic.
 */
#include "common.h"

#include <signal.h>

static const char *prog = "rak_server";
static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct echo_job {
    rak_conn conn;
    rak_message *message;
    rak_send_options opts;
};

/* Echoes waiting for room in the send buffer, oldest first, so order is kept. */
struct echo_queue {
    struct echo_job *jobs;
    size_t head, len, cap;
};

static void queue_push(struct echo_queue *q, struct echo_job job)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        struct echo_job *jobs = malloc(cap * sizeof *jobs);
        if (!jobs) {
            ex_die(prog, "out of memory");
        }
        for (size_t i = 0; i < q->len; i++) {
            jobs[i] = q->jobs[(q->head + i) % q->cap];
        }
        free(q->jobs);
        q->jobs = jobs;
        q->head = 0;
        q->cap = cap;
    }
    q->jobs[(q->head + q->len) % q->cap] = job;
    q->len++;
}

/* Sends queued echoes until the library asks us to wait. */
static void queue_flush(rak_peer *peer, struct echo_queue *q)
{
    while (q->len > 0) {
        struct echo_job *job = &q->jobs[q->head];
        rak_result r = rak_peer_send(peer, job->conn, rak_message_data(job->message),
                                     rak_message_len(job->message), &job->opts, NULL);
        if (r == RAK_RESULT_QUEUE_FULL || r == RAK_RESULT_BUFFER_FULL) {
            return; /* retry after the next poll */
        }
        if (r != RAK_RESULT_OK && r != RAK_RESULT_STALE_HANDLE && r != RAK_RESULT_NOT_CONNECTED) {
            fprintf(stderr, "%s: echo: %s\n", prog, rak_result_str(r));
        }
        rak_message_release(job->message);
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: rak_server --port P [--bind ADDR] [--ipv6-only] [--reuse-address]\n"
            "                  [--protocol V] [--max-connections N] [--password PW]\n"
            "                  [--offline-data TEXT] [--no-cookies] [--ban PATTERN[:SECONDS]]...\n"
            "                  [--echo] [--quit-after-ms M] [--ping-amplification F]\n"
            "                  [--key-file F [--require-secure] [--require-client-key]]\n"
            "                  " EX_SIM_USAGE "\n");
    exit(2);
}

#define MAX_BANS 64

/* " secure" and " client-key=HEX" for a secure connection, "" for a plain one (or one
 * already gone). */
static void describe_security(rak_peer *peer, rak_conn conn, char *out)
{
    rak_conn_stats cs;
    uint8_t key[RAK_KEY_BYTES];
    char hex[RAK_KEY_HEX_BYTES];
    out[0] = '\0';
    if (rak_peer_conn_stats(peer, conn, &cs, sizeof cs) != RAK_RESULT_OK || !cs.secure) {
        return;
    }
    strcpy(out, " secure");
    if (rak_peer_conn_remote_key(peer, conn, key) == RAK_RESULT_OK) {
        strcat(out, " client-key=");
        strcat(out, ex_key_hex(key, hex));
    }
}

struct ban {
    char pattern[64];
    uint32_t seconds;
};

/* Parses PATTERN[:SECONDS]: "10.0.*.*", "10.0.*.*:60", "::1" (several colons: an IPv6
 * address, no duration), "[::1]" or "[::1]:60". */
static struct ban parse_ban(const char *text)
{
    struct ban b = {{0}, 0};
    const char *start = text, *end = NULL, *secs = NULL;
    if (text[0] == '[') {
        start = text + 1;
        end = strchr(start, ']');
        if (!end || (end[1] != '\0' && end[1] != ':')) {
            ex_die(prog, "--ban: expected [IPV6] or [IPV6]:SECONDS, got '%s'", text);
        }
        secs = end[1] == ':' ? end + 2 : NULL;
    } else {
        const char *colon = strchr(text, ':');
        if (colon && !strchr(colon + 1, ':')) {
            end = colon;
            secs = colon + 1;
        } else {
            end = text + strlen(text);
        }
    }
    size_t len = (size_t)(end - start);
    if (len == 0 || len >= sizeof b.pattern) {
        ex_die(prog, "--ban: bad pattern '%s'", text);
    }
    memcpy(b.pattern, start, len);
    if (secs) {
        b.seconds = (uint32_t)ex_parse_uint(prog, "--ban", secs, 1, UINT32_MAX / 1000);
    }
    return b;
}

int main(int argc, char **argv)
{
    const char *host = "0.0.0.0";
    const char *password = "";
    const char *offline = "";
    const char *key_file = NULL;
    bool require_secure = false, require_client_key = false;
    long port = -1;
    unsigned long long protocol = 6, max_conn = 32, quit_after_ms = 0, amplification = 0;
    bool echo = false, ipv6_only = false, reuse = false, cookies = true;
    struct ex_sim sim = {0};
    struct ban bans[MAX_BANS];
    size_t nbans = 0;

    ex_line_buffered();
    ex_check_abi(prog);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--port")) {
            port = (long)ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 0, 65535);
        } else if (!strcmp(a, "--bind") || !strcmp(a, "--host")) {
            host = ex_value(prog, argc, argv, &i);
        } else if (!strcmp(a, "--ipv6-only")) {
            ipv6_only = true;
        } else if (!strcmp(a, "--reuse-address")) {
            reuse = true;
        } else if (!strcmp(a, "--no-cookies")) {
            cookies = false;
        } else if (!strcmp(a, "--ban")) {
            if (nbans == MAX_BANS) {
                ex_die(prog, "--ban: at most %d patterns", MAX_BANS);
            }
            bans[nbans++] = parse_ban(ex_value(prog, argc, argv, &i));
        } else if (!strcmp(a, "--protocol")) {
            protocol = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 1, 255);
        } else if (!strcmp(a, "--max-connections")) {
            max_conn = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 0, UINT32_MAX);
        } else if (!strcmp(a, "--password")) {
            password = ex_value(prog, argc, argv, &i);
        } else if (!strcmp(a, "--offline-data")) {
            offline = ex_value(prog, argc, argv, &i);
        } else if (!strcmp(a, "--key-file")) {
            key_file = ex_value(prog, argc, argv, &i);
        } else if (!strcmp(a, "--require-secure")) {
            require_secure = true;
        } else if (!strcmp(a, "--require-client-key")) {
            require_client_key = true;
        } else if (!strcmp(a, "--echo")) {
            echo = true;
        } else if (!strcmp(a, "--ping-amplification")) {
            amplification = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 1, 16);
        } else if (!strcmp(a, "--quit-after-ms")) {
            quit_after_ms = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 1, UINT32_MAX);
        } else if (ex_parse_sim(prog, argc, argv, &i, &sim)) {
            /* handled */
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", prog, a);
            usage();
        }
    }
    if (port < 0) {
        usage();
    }
    if ((require_secure || require_client_key) && !key_file) {
        ex_die(prog, "%s needs --key-file (secure mode needs the server's key pair)",
               require_secure ? "--require-secure" : "--require-client-key");
    }

    rak_config *config = NULL;
    ex_check(prog, "rak_config_create", rak_config_create(&config));
    ex_check(prog, "--bind", rak_config_set_bind(config, host, (uint16_t)port));
    ex_check(prog, "--ipv6-only", rak_config_set_ipv6_only(config, ipv6_only));
    ex_check(prog, "--reuse-address", rak_config_set_reuse_address(config, reuse));
    ex_check(prog, "--no-cookies", rak_config_set_cookies(config, cookies));
    ex_check(prog, "--protocol", rak_config_set_protocol_version(config, (uint32_t)protocol));
    ex_check(prog, "--max-connections",
             rak_config_set_max_incoming(config, (uint32_t)max_conn));
    ex_check(prog, "--password",
             rak_config_set_password(config, (const uint8_t *)password, strlen(password)));
    ex_check(prog, "--offline-data",
             rak_config_set_offline_data(config, (const uint8_t *)offline, strlen(offline)));
    if (amplification == 0) {
        /* Foreign clients ping with 33 bytes: answer them with the data, and Bedrock
         * ones with the 2-byte length field their pongs always carry. */
        amplification = (offline[0] || protocol >= 10) ? 16 : 1;
    }
    ex_check(prog, "--ping-amplification",
             rak_config_set_ping_amplification(config, (uint32_t)amplification));
    ex_apply_sim(prog, config, &sim);
    if (key_file) {
        uint8_t pub[RAK_KEY_BYTES], priv[RAK_KEY_BYTES];
        char hex[RAK_KEY_HEX_BYTES];
        bool created = ex_load_or_create_key(prog, key_file, pub, priv);
        ex_check(prog, "--key-file", rak_config_set_key_pair(config, priv));
        memset(priv, 0, sizeof priv);
        ex_check(prog, "--require-secure", rak_config_set_require_secure(config, require_secure));
        ex_check(prog, "--require-client-key",
                 rak_config_set_require_client_key(config, require_client_key));
        if (created) {
            fprintf(stderr, "%s: generated a new key pair in %s\n", prog, key_file);
        }
        printf("public-key: %s\n", ex_key_hex(pub, hex));
        fflush(stdout);
    }
    rak_peer *peer = NULL;
    rak_result r = rak_peer_create(config, &peer);
    rak_config_destroy(config);
    if (r != RAK_RESULT_OK) {
        fprintf(stderr, "%s: cannot start on %s port %ld: %s\n", prog, host, port,
                rak_result_str(r));
        return 1;
    }

    for (size_t i = 0; i < nbans; i++) {
        r = rak_peer_ban(peer, bans[i].pattern, bans[i].seconds * 1000u);
        if (r != RAK_RESULT_OK) {
            fprintf(stderr, "%s: --ban %s: %s\n", prog, bans[i].pattern, rak_result_str(r));
            rak_peer_destroy(peer);
            return 2;
        }
        printf("banned pattern=%s seconds=%u\n", bans[i].pattern, (unsigned)bans[i].seconds);
    }
    /* A round trip to the network thread: the bans are in force before we listen. */
    rak_stats stats;
    ex_check(prog, "rak_peer_stats", rak_peer_stats(peer, &stats, sizeof stats));

    uint16_t bound = 0;
    uint64_t guid = 0;
    ex_check(prog, "rak_peer_local_port", rak_peer_local_port(peer, &bound));
    ex_check(prog, "rak_peer_guid", rak_peer_guid(peer, &guid));
    printf("listening port=%u guid=%016" PRIx64 "\n", (unsigned)bound, guid);

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    struct echo_queue pending = {0};
    uint64_t deadline = quit_after_ms ? ex_now_ms() + quit_after_ms : 0;
    int status = 0;
    bool running = true;
    while (running && !stop_requested && (!deadline || ex_now_ms() < deadline)) {
        rak_event ev[64];
        size_t n = 0;
        uint32_t wait_ms = pending.len ? 1 : 100;
        r = rak_peer_wait(peer, ev, 64, wait_ms, &n);
        if (r != RAK_RESULT_OK) {
            fprintf(stderr, "%s: rak_peer_wait: %s\n", prog, rak_result_str(r));
            status = 1;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            char addr[RAK_ADDRESS_STR_BYTES];
            const rak_event *e = &ev[i];
            switch (e->kind) {
            case RAK_EVENT_KIND_CONNECTED: {
                char security[32 + RAK_KEY_HEX_BYTES] = "";
                if (key_file) {
                    describe_security(peer, e->conn, security);
                }
                printf("connected conn=%" PRIx64 " addr=%s guid=%016" PRIx64 " %s%s\n", e->conn.id,
                       ex_address(&e->address, addr), e->guid,
                       e->incoming ? "incoming" : "outgoing", security);
                break;
            }
            case RAK_EVENT_KIND_SECURITY_ALERT: {
                rak_conn_stats cs;
                memset(&cs, 0, sizeof cs);
                rak_peer_conn_stats(peer, e->conn, &cs, sizeof cs); /* zeros if it is gone */
                printf("security-alert conn=%" PRIx64 " addr=%s forged=%" PRIu64
                       " replayed=%" PRIu64 "\n",
                       e->conn.id, ex_address(&e->address, addr), cs.datagrams_forged,
                       cs.datagrams_replayed);
                rak_message_release(e->message);
                break;
            }
            case RAK_EVENT_KIND_MESSAGE:
                printf("message conn=%" PRIx64 " len=%zu channel=%u reliability=%s\n", e->conn.id,
                       rak_message_len(e->message), (unsigned)e->channel,
                       ex_reliability_name(e->reliability));
                if (echo) {
                    struct echo_job job = {e->conn, e->message,
                                           {e->reliability, RAK_PRIORITY_HIGH, e->channel}};
                    queue_push(&pending, job);
                } else {
                    rak_message_release(e->message);
                }
                break;
            case RAK_EVENT_KIND_DISCONNECTED:
                if (e->reason == RAK_REASON_TIMED_OUT) {
                    printf("lost conn=%" PRIx64 " addr=%s\n", e->conn.id,
                           ex_address(&e->address, addr));
                } else {
                    printf("disconnected conn=%" PRIx64 " addr=%s reason=%s\n", e->conn.id,
                           ex_address(&e->address, addr), rak_reason_str(e->reason));
                }
                break;
            case RAK_EVENT_KIND_FATAL:
                printf("fatal: the network thread failed\n");
                status = 1;
                running = false;
                break;
            default:
                rak_message_release(e->message); /* NULL for kinds without one */
                break;
            }
        }
        queue_flush(peer, &pending);
    }

    ex_print_sim(peer, &sim);
    printf("shutting down\n");
    for (size_t i = 0; i < pending.len; i++) {
        rak_message_release(pending.jobs[(pending.head + i) % pending.cap].message);
    }
    free(pending.jobs);
    rak_peer_destroy(peer);
    return status;
}
