/*
 * The C API from C: every function with NULL arguments returns its documented error,
 * forged and stale rak_conn values return RAK_RESULT_STALE_HANDLE, destroy(NULL) is a
 * no-op, and a server and a client exchange messages over loopback in one process,
 * then again through the callback API (rak_peer_dispatch), with statistics, lookups,
 * bans and logging; secure mode: key pairs, hex, key files, argument checks and secure
 * loopback connections (pinned, unpinned, with a client key, and the refusals).
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include "portable.h" /* ex_mkdtemp, ex_rmdir */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <raknet.h>

static int failures = 0;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                                \
        }                                                                              \
    } while (0)

#define EXPECT(call, want)                                                              \
    do {                                                                                \
        rak_result got_ = (call);                                                       \
        if (got_ != (want)) {                                                           \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %s\n", __FILE__,      \
                    __LINE__, #call, (int)got_, rak_result_str(got_), #want);           \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

#define REQUIRE_OK(call)                                                                \
    do {                                                                                \
        rak_result got_ = (call);                                                       \
        if (got_ != RAK_RESULT_OK) {                                                    \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,        \
                    rak_result_str(got_));                                              \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

static void null_arguments(void)
{
    rak_config *cfg = NULL;
    rak_peer *peer = NULL;
    rak_conn conn = {1};
    rak_event ev[2];
    size_t n = 0;
    uint64_t guid = 0;
    uint16_t port = 0;
    char buf[RAK_ADDRESS_STR_BYTES];
    const uint16_t mtu = 576;
    rak_conn_info info;
    const uint8_t byte = 134;
    const rak_sim_options sim = {10.0, 1.0, 0.0, 5, 5};
    rak_runtime_stats stats;

    /* Destroy and release of NULL are no-ops; accessors of NULL give NULL / 0. */
    rak_config_destroy(NULL);
    rak_peer_destroy(NULL);
    rak_message_release(NULL);
    CHECK(rak_message_data(NULL) == NULL);
    CHECK(rak_message_len(NULL) == 0);

    EXPECT(rak_config_create(NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_bind(NULL, "0.0.0.0", 0), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_protocol_version(NULL, 6), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_max_incoming(NULL, 1), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_password(NULL, NULL, 0), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_offline_data(NULL, NULL, 0), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_conn_timeout(NULL, 1000), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_connect_attempts(NULL, 1, 1), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_mtu_probes(NULL, &mtu, 1), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_queue_capacity(NULL, 1, 1), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_guid(NULL, 1), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_thread_start_hook(NULL, NULL, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_simulator(NULL, RAK_SIM_DIRECTION_BOTH, &sim), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_send_buffer_limit(NULL, 4096), RAK_RESULT_NULL_ARGUMENT);

    REQUIRE_OK(rak_config_create(&cfg));
    EXPECT(rak_config_set_bind(cfg, NULL, 0), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_password(cfg, NULL, 4), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_offline_data(cfg, NULL, 4), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_mtu_probes(cfg, NULL, 1), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_protocol_version(cfg, 0), RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_peer_create(cfg, NULL), RAK_RESULT_NULL_ARGUMENT);
    rak_config_destroy(cfg);

    EXPECT(rak_peer_shutdown(NULL, 0), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_connect(NULL, "127.0.0.1", 1, NULL, 0, &conn), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_send(NULL, conn, &byte, 1, NULL, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_close(NULL, conn, true), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_ping(NULL, "127.0.0.1", 1, false), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_set_offline_data(NULL, NULL, 0), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_guid(NULL, &guid), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_local_port(NULL, &port), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_conn_info(NULL, conn, &info), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_poll(NULL, ev, 2, &n), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_wait(NULL, ev, 2, 1, &n), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_address_str(NULL, buf, sizeof buf, &n), RAK_RESULT_NULL_ARGUMENT);

    REQUIRE_OK(rak_peer_create(NULL, &peer));
    EXPECT(rak_peer_connect(peer, NULL, 1, NULL, 0, &conn), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_connect(peer, "127.0.0.1", 1, NULL, 0, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_send(peer, conn, NULL, 1, NULL, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_ping(peer, NULL, 1, false), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_set_offline_data(peer, NULL, 3), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_guid(peer, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_local_port(peer, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_conn_info(peer, conn, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_poll(peer, NULL, 2, &n), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_poll(peer, ev, 2, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_wait(peer, NULL, 2, 1, &n), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_wait(peer, ev, 2, 1, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_set_simulator(NULL, RAK_SIM_DIRECTION_BOTH, &sim), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_runtime_stats(NULL, &stats, sizeof stats), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_runtime_stats(peer, NULL, sizeof stats), RAK_RESULT_NULL_ARGUMENT);
    /* NULL options are allowed: they switch the simulator off. */
    EXPECT(rak_peer_set_simulator(peer, RAK_SIM_DIRECTION_INCOMING, NULL), RAK_RESULT_OK);
    EXPECT(rak_peer_runtime_stats(peer, &stats, sizeof stats), RAK_RESULT_OK);
    CHECK(stats.sends_dropped == 0 && stats.sim_in_submitted == 0);
    rak_peer_destroy(peer);
}

static void stale_and_invalid(void)
{
    rak_peer *peer = NULL;
    rak_conn forged = {0x1234567890ull};
    rak_conn zero = {0};
    rak_conn_info info;
    const uint8_t msg[5] = {134, 0, 0, 0, 1};
    rak_send_options bad_reliability = {8, RAK_PRIORITY_HIGH, 0};
    rak_send_options bad_priority = {RAK_RELIABILITY_RELIABLE, 4, 0};
    rak_send_options bad_channel = {RAK_RELIABILITY_RELIABLE_ORDERED, RAK_PRIORITY_HIGH, RAK_CHANNELS};
    rak_event ev[1];
    size_t n = 0;
    uint64_t guid = 0;

    REQUIRE_OK(rak_peer_create(NULL, &peer));
    EXPECT(rak_peer_send(peer, forged, msg, sizeof msg, NULL, NULL), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_send(peer, zero, msg, sizeof msg, NULL, NULL), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_close(peer, forged, true), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_conn_info(peer, forged, &info), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_send(peer, forged, msg, sizeof msg, &bad_reliability, NULL),
           RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_peer_send(peer, forged, msg, sizeof msg, &bad_priority, NULL),
           RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_peer_send(peer, forged, msg, sizeof msg, &bad_channel, NULL),
           RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_peer_send(peer, forged, msg, 0, NULL, NULL), RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_peer_send(peer, forged, msg, SIZE_MAX, NULL, NULL), RAK_RESULT_TOO_LARGE);
    EXPECT(rak_peer_poll(peer, ev, 0, &n), RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_peer_connect(peer, "no.such.host.invalid", 1, NULL, 0, &forged),
           RAK_RESULT_ADDRESS);
    CHECK(forged.id == 0x1234567890ull); /* outputs are written only on success */

    REQUIRE_OK(rak_peer_shutdown(peer, 0));
    EXPECT(rak_peer_guid(peer, &guid), RAK_RESULT_SHUT_DOWN);
    rak_peer_destroy(peer);
    /* A destroyed peer is detected while its address is not reused. */
    EXPECT(rak_peer_guid(peer, &guid), RAK_RESULT_STALE_HANDLE);
    rak_peer_destroy(peer);

    CHECK(strcmp(rak_result_str(RAK_RESULT_STALE_HANDLE), "stale handle") == 0);
    CHECK(strcmp(rak_result_str(12345), "unknown result") == 0);
    CHECK(strcmp(rak_reason_str(RAK_REASON_SERVER_FULL), "server full") == 0);
    CHECK(rak_abi_version() == RAK_ABI_VERSION);
    CHECK(strcmp(rak_version_string(), RAK_VERSION_STRING) == 0);
}

/* Waits up to ~10 s for an event of `kind` on `peer`, releasing the others. */
static rak_event wait_for(rak_peer *peer, rak_event_kind kind)
{
    for (int i = 0; i < 200; i++) {
        rak_event ev;
        size_t n = 0;
        REQUIRE_OK(rak_peer_wait(peer, &ev, 1, 50, &n));
        if (n == 1 && ev.kind == kind) {
            return ev;
        }
        if (n == 1) {
            rak_message_release(ev.message);
        }
    }
    fprintf(stderr, "event %u did not arrive\n", (unsigned)kind);
    exit(1);
}

static void on_thread_start(void *userdata)
{
    *(int *)userdata += 1;
}

static void loopback(void)
{
    int hook_calls = 0;
    rak_config *cfg = NULL;
    rak_peer *server = NULL, *client = NULL;
    uint16_t port = 0;
    uint64_t server_guid = 0;
    rak_conn conn = {0};
    const char offline[] = "hello from C";

    REQUIRE_OK(rak_config_create(&cfg));
    REQUIRE_OK(rak_config_set_bind(cfg, "127.0.0.1", 0));
    REQUIRE_OK(rak_config_set_max_incoming(cfg, 2));
    REQUIRE_OK(rak_config_set_offline_data(cfg, (const uint8_t *)offline, strlen(offline)));
    REQUIRE_OK(rak_config_set_thread_start_hook(cfg, on_thread_start, &hook_calls));
    REQUIRE_OK(rak_peer_create(cfg, &server));
    CHECK(hook_calls == 1); /* ran on the network thread before rak_peer_create returned */
    REQUIRE_OK(rak_config_set_thread_start_hook(cfg, NULL, NULL));
    REQUIRE_OK(rak_config_set_max_incoming(cfg, 0));
    REQUIRE_OK(rak_peer_create(cfg, &client));
    CHECK(hook_calls == 1);
    rak_config_destroy(cfg);
    REQUIRE_OK(rak_peer_local_port(server, &port));
    REQUIRE_OK(rak_peer_guid(server, &server_guid));

    REQUIRE_OK(rak_peer_connect(client, "127.0.0.1", port, NULL, 0, &conn));
    CHECK(conn.id != 0);
    rak_event up = wait_for(client, RAK_EVENT_KIND_CONNECTED);
    CHECK(up.conn.id == conn.id && !up.incoming && up.guid == server_guid);
    rak_event in = wait_for(server, RAK_EVENT_KIND_CONNECTED);
    CHECK(in.incoming);

    rak_conn_info info;
    REQUIRE_OK(rak_peer_conn_info(client, conn, &info));
    CHECK(info.state == RAK_CONN_STATE_CONNECTED && info.address.port == port);
    char text[RAK_ADDRESS_STR_BYTES];
    size_t len = 0;
    REQUIRE_OK(rak_address_str(&info.address, text, sizeof text, &len));
    CHECK(len == strlen(text) && strncmp(text, "127.0.0.1:", 10) == 0);

    for (uint32_t r = RAK_RELIABILITY_UNRELIABLE; r <= RAK_RELIABILITY_RELIABLE_ORDERED_WITH_ACK_RECEIPT; r++) {
        uint8_t msg[300];
        memset(msg, (int)r, sizeof msg);
        msg[0] = 134;
        rak_send_options opts = {r, RAK_PRIORITY_HIGH, 5};
        uint32_t receipt = 0;
        REQUIRE_OK(rak_peer_send(client, conn, msg, sizeof msg, &opts, &receipt));
        CHECK(receipt != 0);
        rak_event got = wait_for(server, RAK_EVENT_KIND_MESSAGE);
        CHECK(got.conn.id == in.conn.id);
        CHECK(rak_message_len(got.message) == sizeof msg);
        CHECK(memcmp(rak_message_data(got.message), msg, sizeof msg) == 0);
        rak_send_options echo = {got.reliability, RAK_PRIORITY_HIGH, got.channel};
        REQUIRE_OK(rak_peer_send(server, got.conn, rak_message_data(got.message),
                                 rak_message_len(got.message), &echo, NULL));
        rak_message_release(got.message);
        rak_message_release(got.message); /* detected: a no-op */
        rak_event back = wait_for(client, RAK_EVENT_KIND_MESSAGE);
        CHECK(rak_message_len(back.message) == sizeof msg);
        CHECK(memcmp(rak_message_data(back.message), msg, sizeof msg) == 0);
        rak_message_release(back.message);
    }

    /* A large message is split and reassembled. */
    size_t big_len = 100000;
    uint8_t *big = malloc(big_len);
    CHECK(big != NULL);
    for (size_t i = 0; i < big_len; i++) {
        big[i] = (uint8_t)(i * 7);
    }
    big[0] = 134;
    REQUIRE_OK(rak_peer_send(client, conn, big, big_len, NULL, NULL));
    rak_event got = wait_for(server, RAK_EVENT_KIND_MESSAGE);
    CHECK(rak_message_len(got.message) == big_len);
    CHECK(memcmp(rak_message_data(got.message), big, big_len) == 0);
    rak_message_release(got.message);
    free(big);

    REQUIRE_OK(rak_peer_ping(client, "127.0.0.1", port, false));
    rak_event pong = wait_for(client, RAK_EVENT_KIND_PONG);
    CHECK(pong.guid == server_guid);
    CHECK(rak_message_len(pong.message) == strlen(offline));
    CHECK(memcmp(rak_message_data(pong.message), offline, strlen(offline)) == 0);
    rak_message_release(pong.message);

    REQUIRE_OK(rak_peer_close(client, conn, true));
    rak_event down = wait_for(server, RAK_EVENT_KIND_DISCONNECTED);
    CHECK(down.conn.id == in.conn.id && down.reason == RAK_REASON_CLOSED_BY_REMOTE);
    wait_for(client, RAK_EVENT_KIND_DISCONNECTED);
    const uint8_t one = 134;
    EXPECT(rak_peer_send(client, conn, &one, 1, NULL, NULL), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_send(server, in.conn, &one, 1, NULL, NULL), RAK_RESULT_STALE_HANDLE);

    rak_peer_destroy(client);
    rak_peer_destroy(server);
}

static void log_to_counter(void *userdata, rak_log_level level, const char *message)
{
    (void)level;
    (void)message;
    /* Runs on the network thread; the main thread reads it only after destroy. */
    *(int *)userdata += 1;
}

static void null_and_stale_new_functions(void)
{
    rak_config *cfg = NULL;
    rak_peer *peer = NULL;
    rak_conn conn = {1}, forged = {0xfeedull}, out = {0};
    rak_conn list[4];
    size_t n = 0;
    rak_conn_stats cs;
    rak_stats ps;
    rak_callbacks cbs;
    rak_connect_options opts;
    rak_address addr;
    memset(&cbs, 0, sizeof cbs);
    memset(&opts, 0, sizeof opts);
    memset(&addr, 0, sizeof addr);
    addr.ip[0] = 127;
    addr.ip[3] = 1;
    addr.port = 1;
    addr.family = 4;

    EXPECT(rak_config_set_cookies(NULL, true), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_ping_amplification(NULL, 1), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_ip_frequency_limit(NULL, true, true), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_occasional_ping(NULL, 100), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_abuse_limits(NULL, 64, 10000, 30000), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_abuse_widening(NULL, 4), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_ipv6_only(NULL, true), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_reuse_address(NULL, true), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_log_callback(NULL, NULL, NULL, RAK_LOG_LEVEL_INFO),
           RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_connect_with_options(NULL, "127.0.0.1", 1, NULL, &out), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_conns(NULL, list, 4, &n), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_conn_by_guid(NULL, 1, &out), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_conn_by_address(NULL, &addr, &out), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_set_conn_timeout(NULL, conn, 100), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_set_max_incoming(NULL, 1), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_ban(NULL, "1.2.3.4", 0), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_unban(NULL, "1.2.3.4"), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_clear_bans(NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_advertise(NULL, "127.0.0.1", 1, NULL, 0), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_conn_stats(NULL, conn, &cs, sizeof cs), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_stats(NULL, &ps, sizeof ps), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_set_callbacks(NULL, &cbs, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_dispatch(NULL, 8, &n), RAK_RESULT_NULL_ARGUMENT);

    REQUIRE_OK(rak_config_create(&cfg));
    EXPECT(rak_config_set_log_callback(cfg, log_to_counter, NULL, 0), RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_config_set_log_callback(cfg, NULL, NULL, 99), RAK_RESULT_INVALID_ARGUMENT);
    REQUIRE_OK(rak_config_set_cookies(cfg, false));
    EXPECT(rak_config_set_ping_amplification(cfg, 0), RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_config_set_ping_amplification(cfg, 17), RAK_RESULT_INVALID_ARGUMENT);
    REQUIRE_OK(rak_config_set_ping_amplification(cfg, 16));
    REQUIRE_OK(rak_config_set_ip_frequency_limit(cfg, true, true));
    REQUIRE_OK(rak_config_set_occasional_ping(cfg, 0));
    EXPECT(rak_config_set_abuse_limits(cfg, 64, 0, 30000), RAK_RESULT_INVALID_ARGUMENT);
    REQUIRE_OK(rak_config_set_abuse_limits(cfg, 0, 0, 0));
    REQUIRE_OK(rak_config_set_abuse_limits(cfg, 64, 10000, 30000));
    EXPECT(rak_config_set_abuse_widening(cfg, 65), RAK_RESULT_INVALID_ARGUMENT);
    REQUIRE_OK(rak_config_set_abuse_widening(cfg, 4));
    REQUIRE_OK(rak_config_set_ipv6_only(cfg, false));
    REQUIRE_OK(rak_config_set_reuse_address(cfg, false));
    REQUIRE_OK(rak_peer_create(cfg, &peer));
    rak_config_destroy(cfg);
    EXPECT(rak_config_set_cookies(cfg, true), RAK_RESULT_STALE_HANDLE);

    EXPECT(rak_peer_connect_with_options(peer, NULL, 1, NULL, &out), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_connect_with_options(peer, "127.0.0.1", 1, NULL, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_connect_with_options(peer, "127.0.0.1", 0, &opts, &out), RAK_RESULT_INVALID_ARGUMENT);
    opts.password_len = 3; /* with a NULL password */
    EXPECT(rak_peer_connect_with_options(peer, "127.0.0.1", 1, &opts, &out), RAK_RESULT_NULL_ARGUMENT);
    CHECK(out.id == 0);
    EXPECT(rak_peer_conns(peer, NULL, 4, &n), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_conns(peer, list, 4, NULL), RAK_RESULT_NULL_ARGUMENT);
    REQUIRE_OK(rak_peer_conns(peer, NULL, 0, &n));
    CHECK(n == 0);
    EXPECT(rak_peer_conn_by_guid(peer, 1, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_conn_by_guid(peer, 1, &out), RAK_RESULT_NOT_FOUND);
    EXPECT(rak_peer_conn_by_address(peer, NULL, &out), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_conn_by_address(peer, &addr, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_conn_by_address(peer, &addr, &out), RAK_RESULT_NOT_FOUND);
    EXPECT(rak_peer_set_conn_timeout(peer, forged, 100), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_set_conn_timeout(peer, forged, 0), RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_peer_ban(peer, NULL, 0), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_ban(peer, "1.2.3", 0), RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_peer_unban(peer, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_unban(peer, "1.2.3.*.5"), RAK_RESULT_INVALID_ARGUMENT);
    REQUIRE_OK(rak_peer_ban(peer, "10.*.*.*", 1000));
    REQUIRE_OK(rak_peer_unban(peer, "10.*.*.*"));
    REQUIRE_OK(rak_peer_clear_bans(peer));
    EXPECT(rak_peer_advertise(peer, NULL, 1, NULL, 0), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_advertise(peer, "127.0.0.1", 1, NULL, 5), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_advertise(peer, "127.0.0.1", 0, NULL, 0), RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_peer_conn_stats(peer, forged, NULL, sizeof cs), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_conn_stats(peer, forged, &cs, 0), RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_peer_conn_stats(peer, forged, &cs, sizeof cs), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_stats(peer, NULL, sizeof ps), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_stats(peer, &ps, 0), RAK_RESULT_INVALID_ARGUMENT);
    REQUIRE_OK(rak_peer_stats(peer, &ps, sizeof ps));
    CHECK(ps.connections == 0);
    EXPECT(rak_peer_dispatch(peer, 8, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_dispatch(peer, 0, &n), RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_peer_dispatch(peer, 8, &n), RAK_RESULT_INVALID_ARGUMENT); /* no callbacks */
    REQUIRE_OK(rak_peer_set_callbacks(peer, &cbs, NULL));
    REQUIRE_OK(rak_peer_dispatch(peer, 8, &n));
    REQUIRE_OK(rak_peer_set_callbacks(peer, NULL, NULL));

    rak_peer_destroy(peer);
    EXPECT(rak_peer_connect_with_options(peer, "127.0.0.1", 1, NULL, &out), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_conns(peer, list, 4, &n), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_conn_by_guid(peer, 1, &out), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_conn_by_address(peer, &addr, &out), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_set_conn_timeout(peer, conn, 100), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_set_max_incoming(peer, 1), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_ban(peer, "1.2.3.4", 0), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_unban(peer, "1.2.3.4"), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_clear_bans(peer), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_advertise(peer, "127.0.0.1", 1, NULL, 0), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_conn_stats(peer, conn, &cs, sizeof cs), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_stats(peer, &ps, sizeof ps), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_set_callbacks(peer, &cbs, NULL), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_dispatch(peer, 8, &n), RAK_RESULT_STALE_HANDLE);
    CHECK(strcmp(rak_result_str(RAK_RESULT_NOT_FOUND), "not found") == 0);
}

/* What the dispatch callbacks saw. */
struct seen {
    int connected, messages, disconnected, other;
    rak_message *kept;
};

static void on_connected(void *userdata, const rak_event *ev)
{
    CHECK(ev->kind == RAK_EVENT_KIND_CONNECTED && ev->incoming);
    ((struct seen *)userdata)->connected++;
}

static bool on_message(void *userdata, const rak_event *ev)
{
    struct seen *s = userdata;
    s->messages++;
    if (!s->kept) {
        s->kept = ev->message; /* keep the first one: ours until released */
        return true;
    }
    return false;
}

static void on_disconnected(void *userdata, const rak_event *ev)
{
    CHECK(ev->reason == RAK_REASON_CLOSED_BY_REMOTE);
    ((struct seen *)userdata)->disconnected++;
}

static void on_other(void *userdata, const rak_event *ev)
{
    (void)ev;
    ((struct seen *)userdata)->other++;
}

/* A server driven by callbacks; a client with stats, lookups and a log callback. */
static void callbacks_and_stats(void)
{
    int log_lines = 0;
    rak_config *cfg = NULL;
    rak_peer *server = NULL, *client = NULL;
    uint16_t port = 0;
    uint64_t client_guid = 0;
    rak_conn conn = {0}, found = {0};
    struct seen seen;
    memset(&seen, 0, sizeof seen);

    REQUIRE_OK(rak_config_create(&cfg));
    REQUIRE_OK(rak_config_set_bind(cfg, "127.0.0.1", 0));
    REQUIRE_OK(rak_config_set_max_incoming(cfg, 2));
    REQUIRE_OK(rak_peer_create(cfg, &server));
    REQUIRE_OK(rak_config_set_max_incoming(cfg, 0));
    REQUIRE_OK(rak_config_set_occasional_ping(cfg, 20));
    REQUIRE_OK(rak_config_set_log_callback(cfg, log_to_counter, &log_lines, RAK_LOG_LEVEL_DEBUG));
    REQUIRE_OK(rak_peer_create(cfg, &client));
    rak_config_destroy(cfg);
    REQUIRE_OK(rak_peer_local_port(server, &port));
    REQUIRE_OK(rak_peer_guid(client, &client_guid));

    rak_callbacks cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.on_connected = on_connected;
    cbs.on_message = on_message;
    cbs.on_disconnected = on_disconnected;
    cbs.on_other = on_other;
    REQUIRE_OK(rak_peer_set_callbacks(server, &cbs, &seen));

    rak_connect_options opts;
    memset(&opts, 0, sizeof opts);
    opts.attempts = 5;
    opts.interval_ms = 100;
    REQUIRE_OK(rak_peer_connect_with_options(client, "localhost", port, &opts, &conn));
    wait_for(client, RAK_EVENT_KIND_CONNECTED);
    const uint8_t msg[3] = {134, 7, 7};
    for (int i = 0; i < 3; i++) {
        REQUIRE_OK(rak_peer_send(client, conn, msg, sizeof msg, NULL, NULL));
    }
    for (int i = 0; i < 200 && (seen.connected < 1 || seen.messages < 3); i++) {
        size_t n = 0;
        REQUIRE_OK(rak_peer_dispatch(server, 16, &n));
        rak_event ev;
        REQUIRE_OK(rak_peer_wait(client, &ev, 1, 20, &n)); /* pacing */
        if (n == 1) {
            rak_message_release(ev.message);
        }
    }
    CHECK(seen.connected == 1 && seen.messages == 3);
    CHECK(seen.kept && rak_message_len(seen.kept) == sizeof msg);
    rak_message_release(seen.kept);

    /* Lookups and stats on the server, pings on the client. */
    REQUIRE_OK(rak_peer_conn_by_guid(server, client_guid, &found));
    rak_conn list[2];
    size_t n = 0;
    REQUIRE_OK(rak_peer_conns(server, list, 2, &n));
    CHECK(n == 1 && list[0].id == found.id);
    rak_conn_stats cs;
    REQUIRE_OK(rak_peer_conn_stats(server, found, &cs, sizeof cs));
    CHECK(cs.messages_received >= 3 && cs.mtu_bytes >= 576);
    for (int i = 0; i < 200; i++) {
        REQUIRE_OK(rak_peer_conn_stats(client, conn, &cs, sizeof cs));
        if (cs.pongs_received >= 2) {
            break;
        }
        rak_event ev;
        REQUIRE_OK(rak_peer_wait(client, &ev, 1, 20, &n)); /* pacing */
        if (n == 1) {
            rak_message_release(ev.message);
        }
    }
    CHECK(cs.pongs_received >= 2 && cs.last_ping_ms >= 0 && cs.has_clock_differential);
    rak_stats ps;
    REQUIRE_OK(rak_peer_stats(server, &ps, sizeof ps));
    CHECK(ps.connections == 1 && ps.datagrams_received > 0);

    REQUIRE_OK(rak_peer_close(client, conn, true));
    for (int i = 0; i < 200 && seen.disconnected < 1; i++) {
        REQUIRE_OK(rak_peer_dispatch(server, 16, &n));
        rak_event ev;
        REQUIRE_OK(rak_peer_wait(client, &ev, 1, 20, &n));
    }
    CHECK(seen.disconnected == 1);
    rak_peer_destroy(client);
    CHECK(log_lines >= 3); /* started, connected, disconnected, stopped */
    rak_peer_destroy(server);
}

/* --- secure mode ------------------------------------------------------------------- */

static void secure_arguments(void)
{
    uint8_t pub[RAK_KEY_BYTES], priv[RAK_KEY_BYTES], pub2[RAK_KEY_BYTES], priv2[RAK_KEY_BYTES];
    uint8_t key[RAK_KEY_BYTES];
    char hex[RAK_KEY_HEX_BYTES];
    rak_config *cfg = NULL;
    rak_peer *peer = NULL;
    rak_conn out = {0}, forged = {0xfeedull};

    EXPECT(rak_key_pair_generate(NULL, priv), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_key_pair_generate(pub, NULL), RAK_RESULT_NULL_ARGUMENT);
    REQUIRE_OK(rak_key_pair_generate(pub, priv));
    REQUIRE_OK(rak_key_pair_generate(pub2, priv2));
    CHECK(memcmp(pub, pub2, RAK_KEY_BYTES) != 0 && memcmp(priv, priv2, RAK_KEY_BYTES) != 0);
    CHECK(memcmp(pub, priv, RAK_KEY_BYTES) != 0);

    /* The public key derived from the private one is the generated one. */
    EXPECT(rak_key_pair_public_key(NULL, key), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_key_pair_public_key(priv, NULL), RAK_RESULT_NULL_ARGUMENT);
    REQUIRE_OK(rak_key_pair_public_key(priv, key));
    CHECK(memcmp(key, pub, RAK_KEY_BYTES) == 0);
    REQUIRE_OK(rak_key_pair_public_key(priv2, key));
    CHECK(memcmp(key, pub2, RAK_KEY_BYTES) == 0);

    /* Hex: 64 lower-case digits out; exactly 64 digits of either case in. */
    EXPECT(rak_key_to_hex(NULL, hex), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_key_to_hex(pub, NULL), RAK_RESULT_NULL_ARGUMENT);
    REQUIRE_OK(rak_key_to_hex(pub, hex));
    CHECK(strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64);
    memset(key, 0, sizeof key);
    REQUIRE_OK(rak_key_from_hex(hex, key));
    CHECK(memcmp(key, pub, RAK_KEY_BYTES) == 0);
    char upper[RAK_KEY_HEX_BYTES];
    for (size_t i = 0; i < sizeof upper; i++) {
        upper[i] = (hex[i] >= 'a' && hex[i] <= 'f') ? (char)(hex[i] - 'a' + 'A') : hex[i];
    }
    memset(key, 0, sizeof key);
    REQUIRE_OK(rak_key_from_hex(upper, key));
    CHECK(memcmp(key, pub, RAK_KEY_BYTES) == 0);
    EXPECT(rak_key_from_hex(NULL, key), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_key_from_hex(hex, NULL), RAK_RESULT_NULL_ARGUMENT);
    char bad[80];
    memset(key, 0xAA, sizeof key);
    EXPECT(rak_key_from_hex("", key), RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_key_from_hex("abc", key), RAK_RESULT_INVALID_ARGUMENT);
    memcpy(bad, hex, 63);
    bad[63] = '\0'; /* 63 digits */
    EXPECT(rak_key_from_hex(bad, key), RAK_RESULT_INVALID_ARGUMENT);
    memcpy(bad, hex, 64);
    bad[64] = '0';
    bad[65] = '\0'; /* 65 digits */
    EXPECT(rak_key_from_hex(bad, key), RAK_RESULT_INVALID_ARGUMENT);
    memcpy(bad, hex, 65);
    bad[10] = 'g'; /* not a hex digit */
    EXPECT(rak_key_from_hex(bad, key), RAK_RESULT_INVALID_ARGUMENT);
    bad[10] = ' ';
    EXPECT(rak_key_from_hex(bad, key), RAK_RESULT_INVALID_ARGUMENT);
    for (size_t i = 0; i < sizeof key; i++) {
        CHECK(key[i] == 0xAA); /* nothing written on failure */
    }

    /* Key files: a round trip in a scratch directory; missing, garbage, unwritable. */
    char dir[] = "rak_api_test_XXXXXX"; /* in the working directory: any OS has one */
    CHECK(ex_mkdtemp(dir) != NULL);
    char path[64], missing[64], garbage[64], nodir[80];
    snprintf(path, sizeof path, "%s/server.key", dir);
    snprintf(missing, sizeof missing, "%s/missing.key", dir);
    snprintf(garbage, sizeof garbage, "%s/garbage.key", dir);
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/x.key", dir);
    EXPECT(rak_key_pair_save(NULL, priv), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_key_pair_save(path, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_key_pair_save(nodir, priv), RAK_RESULT_IO);
    REQUIRE_OK(rak_key_pair_save(path, priv));
    EXPECT(rak_key_pair_load(NULL, pub2, priv2), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_key_pair_load(path, NULL, priv2), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_key_pair_load(path, pub2, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_key_pair_load(missing, pub2, priv2), RAK_RESULT_NOT_FOUND);
    memset(pub2, 0, sizeof pub2);
    memset(priv2, 0, sizeof priv2);
    REQUIRE_OK(rak_key_pair_load(path, pub2, priv2));
    CHECK(memcmp(pub2, pub, RAK_KEY_BYTES) == 0 && memcmp(priv2, priv, RAK_KEY_BYTES) == 0);
    FILE *f = fopen(path, "r");
    char line[128];
    int public_lines = 0;
    CHECK(f != NULL);
    while (f && fgets(line, sizeof line, f)) {
        public_lines += strncmp(line, "public-key: ", 12) == 0 && strncmp(line + 12, hex, 64) == 0;
    }
    if (f) {
        fclose(f);
    }
    CHECK(public_lines == 1);
    f = fopen(garbage, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("private-key: not hex at all\n", f);
        fclose(f);
    }
    EXPECT(rak_key_pair_load(garbage, pub2, priv2), RAK_RESULT_INVALID_ARGUMENT);
    CHECK(remove(garbage) == 0 && remove(path) == 0 && ex_rmdir(dir) == 0);

    /* Config: the requirements need a key pair; NULL removes it and them. */
    EXPECT(rak_config_set_key_pair(NULL, priv), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_require_secure(NULL, true), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_config_set_require_client_key(NULL, true), RAK_RESULT_NULL_ARGUMENT);
    REQUIRE_OK(rak_config_create(&cfg));
    EXPECT(rak_config_set_require_secure(cfg, true), RAK_RESULT_INVALID_ARGUMENT);
    EXPECT(rak_config_set_require_client_key(cfg, true), RAK_RESULT_INVALID_ARGUMENT);
    REQUIRE_OK(rak_config_set_require_secure(cfg, false));
    REQUIRE_OK(rak_config_set_key_pair(cfg, priv));
    REQUIRE_OK(rak_config_set_require_secure(cfg, true));
    REQUIRE_OK(rak_config_set_require_client_key(cfg, true));
    REQUIRE_OK(rak_config_set_key_pair(cfg, NULL));
    EXPECT(rak_config_set_require_secure(cfg, true), RAK_RESULT_INVALID_ARGUMENT);
    REQUIRE_OK(rak_peer_create(cfg, &peer));
    rak_config_destroy(cfg);
    EXPECT(rak_config_set_key_pair(cfg, priv), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_config_set_require_secure(cfg, false), RAK_RESULT_STALE_HANDLE);

    /* Connect and remote key: NULLs, bad port, forged and stale handles. */
    EXPECT(rak_peer_connect_secure(NULL, "127.0.0.1", 1, NULL, pub, &out), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_connect_secure(peer, NULL, 1, NULL, pub, &out), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_connect_secure(peer, "127.0.0.1", 1, NULL, pub, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_connect_secure(peer, "127.0.0.1", 0, NULL, pub, &out),
           RAK_RESULT_INVALID_ARGUMENT);
    CHECK(out.id == 0);
    EXPECT(rak_peer_conn_remote_key(NULL, forged, key), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_conn_remote_key(peer, forged, NULL), RAK_RESULT_NULL_ARGUMENT);
    EXPECT(rak_peer_conn_remote_key(peer, forged, key), RAK_RESULT_STALE_HANDLE);
    rak_conn zero = {0};
    EXPECT(rak_peer_conn_remote_key(peer, zero, key), RAK_RESULT_STALE_HANDLE);
    rak_peer_destroy(peer);
    EXPECT(rak_peer_connect_secure(peer, "127.0.0.1", 1, NULL, NULL, &out),
           RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_conn_remote_key(peer, forged, key), RAK_RESULT_STALE_HANDLE);
    CHECK(strcmp(rak_reason_str(RAK_REASON_SERVER_NOT_SECURE), "server not secure") == 0);
    CHECK(strcmp(rak_reason_str(RAK_REASON_PUBLIC_KEY_MISMATCH), "public key mismatch") == 0);
    CHECK(strcmp(rak_reason_str(RAK_REASON_CLIENT_KEY_REQUIRED), "client key required") == 0);
    CHECK(strcmp(rak_reason_str(RAK_REASON_SECURE_HANDSHAKE_FAILED), "secure handshake failed") == 0);
}

/* A peer bound to 127.0.0.1, with the key pair of `priv` if not NULL. */
static rak_peer *secure_peer(const uint8_t *priv, uint32_t max_incoming, bool require_secure)
{
    rak_config *cfg = NULL;
    rak_peer *peer = NULL;
    REQUIRE_OK(rak_config_create(&cfg));
    REQUIRE_OK(rak_config_set_bind(cfg, "127.0.0.1", 0));
    REQUIRE_OK(rak_config_set_max_incoming(cfg, max_incoming));
    if (priv) {
        REQUIRE_OK(rak_config_set_key_pair(cfg, priv));
        REQUIRE_OK(rak_config_set_require_secure(cfg, require_secure));
    }
    REQUIRE_OK(rak_peer_create(cfg, &peer));
    rak_config_destroy(cfg);
    return peer;
}

/* Secure connections over loopback: pinned with a client key, unpinned without one,
 * a wrong pin, a plain client at a server that requires secure mode, and a secure
 * client at a plain server. */
static void secure_loopback(void)
{
    uint8_t spub[RAK_KEY_BYTES], spriv[RAK_KEY_BYTES], cpub[RAK_KEY_BYTES], cpriv[RAK_KEY_BYTES];
    uint8_t key[RAK_KEY_BYTES], wrong[RAK_KEY_BYTES];
    REQUIRE_OK(rak_key_pair_generate(spub, spriv));
    REQUIRE_OK(rak_key_pair_generate(cpub, cpriv));
    memcpy(wrong, spub, sizeof wrong);
    wrong[0] ^= 1;

    rak_peer *server = secure_peer(spriv, 8, true);
    uint16_t port = 0;
    REQUIRE_OK(rak_peer_local_port(server, &port));

    /* Pinned, and the client proves a key pair of its own. */
    rak_peer *client = secure_peer(cpriv, 0, false);
    rak_conn conn = {0};
    REQUIRE_OK(rak_peer_connect_secure(client, "127.0.0.1", port, NULL, spub, &conn));
    rak_event up = wait_for(client, RAK_EVENT_KIND_CONNECTED);
    CHECK(up.conn.id == conn.id);
    rak_event in = wait_for(server, RAK_EVENT_KIND_CONNECTED);
    REQUIRE_OK(rak_peer_conn_remote_key(client, conn, key));
    CHECK(memcmp(key, spub, RAK_KEY_BYTES) == 0);
    REQUIRE_OK(rak_peer_conn_remote_key(server, in.conn, key));
    CHECK(memcmp(key, cpub, RAK_KEY_BYTES) == 0);
    rak_conn_stats cs;
    REQUIRE_OK(rak_peer_conn_stats(client, conn, &cs, sizeof cs));
    CHECK(cs.secure && cs.datagrams_forged == 0 && cs.datagrams_replayed == 0);
    REQUIRE_OK(rak_peer_conn_stats(server, in.conn, &cs, sizeof cs));
    CHECK(cs.secure);

    /* A small and a split message, both ways intact. */
    size_t lens[2] = {40, 20000};
    for (int k = 0; k < 2; k++) {
        uint8_t *msg = malloc(lens[k]);
        CHECK(msg != NULL);
        if (!msg) {
            exit(1);
        }
        for (size_t i = 0; i < lens[k]; i++) {
            msg[i] = (uint8_t)(i * 13 + (size_t)k);
        }
        msg[0] = 134;
        REQUIRE_OK(rak_peer_send(client, conn, msg, lens[k], NULL, NULL));
        rak_event got = wait_for(server, RAK_EVENT_KIND_MESSAGE);
        CHECK(rak_message_len(got.message) == lens[k]);
        CHECK(memcmp(rak_message_data(got.message), msg, lens[k]) == 0);
        REQUIRE_OK(rak_peer_send(server, got.conn, rak_message_data(got.message),
                                 rak_message_len(got.message), NULL, NULL));
        rak_message_release(got.message);
        rak_event back = wait_for(client, RAK_EVENT_KIND_MESSAGE);
        CHECK(rak_message_len(back.message) == lens[k]);
        CHECK(memcmp(rak_message_data(back.message), msg, lens[k]) == 0);
        rak_message_release(back.message);
        free(msg);
    }

    /* Unpinned (trust on first use) and keyless: the server has no key to show. */
    rak_peer *tofu = secure_peer(NULL, 0, false);
    rak_conn tconn = {0};
    REQUIRE_OK(rak_peer_connect_secure(tofu, "127.0.0.1", port, NULL, NULL, &tconn));
    wait_for(tofu, RAK_EVENT_KIND_CONNECTED);
    REQUIRE_OK(rak_peer_conn_remote_key(tofu, tconn, key));
    CHECK(memcmp(key, spub, RAK_KEY_BYTES) == 0);
    rak_event tin = wait_for(server, RAK_EVENT_KIND_CONNECTED);
    EXPECT(rak_peer_conn_remote_key(server, tin.conn, key), RAK_RESULT_NOT_FOUND);

    /* A wrong pin, and a plain client at a server that requires secure mode. */
    rak_peer *other = secure_peer(NULL, 0, false);
    rak_conn oconn = {0};
    REQUIRE_OK(rak_peer_connect_secure(other, "127.0.0.1", port, NULL, wrong, &oconn));
    rak_event failed = wait_for(other, RAK_EVENT_KIND_CONNECT_FAILED);
    CHECK(failed.conn.id == oconn.id && failed.reason == RAK_REASON_PUBLIC_KEY_MISMATCH);
    REQUIRE_OK(rak_peer_connect(other, "127.0.0.1", port, NULL, 0, &oconn));
    failed = wait_for(other, RAK_EVENT_KIND_CONNECT_FAILED);
    CHECK(failed.conn.id == oconn.id && failed.reason == RAK_REASON_SECURITY_MISMATCH);
    EXPECT(rak_peer_conn_remote_key(other, oconn, key), RAK_RESULT_STALE_HANDLE);
    rak_stats ps;
    REQUIRE_OK(rak_peer_stats(server, &ps, sizeof ps));
    CHECK(ps.refused_security_required >= 1 && ps.dropped_forged == 0);

    /* A secure client at a plain server never falls back to plain. */
    rak_peer *plain = secure_peer(NULL, 4, false);
    uint16_t plain_port = 0;
    REQUIRE_OK(rak_peer_local_port(plain, &plain_port));
    REQUIRE_OK(rak_peer_connect_secure(other, "127.0.0.1", plain_port, NULL, NULL, &oconn));
    failed = wait_for(other, RAK_EVENT_KIND_CONNECT_FAILED);
    CHECK(failed.conn.id == oconn.id && failed.reason == RAK_REASON_SERVER_NOT_SECURE);

    /* A plain connection has no remote key. */
    REQUIRE_OK(rak_peer_connect(other, "127.0.0.1", plain_port, NULL, 0, &oconn));
    wait_for(other, RAK_EVENT_KIND_CONNECTED);
    EXPECT(rak_peer_conn_remote_key(other, oconn, key), RAK_RESULT_NOT_FOUND);
    REQUIRE_OK(rak_peer_conn_stats(other, oconn, &cs, sizeof cs));
    CHECK(!cs.secure);

    /* Closing a secure connection: the remote key goes with it. */
    REQUIRE_OK(rak_peer_close(client, conn, true));
    rak_event down = wait_for(server, RAK_EVENT_KIND_DISCONNECTED);
    CHECK(down.conn.id == in.conn.id && down.reason == RAK_REASON_CLOSED_BY_REMOTE);
    wait_for(client, RAK_EVENT_KIND_DISCONNECTED);
    EXPECT(rak_peer_conn_remote_key(client, conn, key), RAK_RESULT_STALE_HANDLE);
    EXPECT(rak_peer_conn_remote_key(server, in.conn, key), RAK_RESULT_STALE_HANDLE);

    rak_peer_destroy(plain);
    rak_peer_destroy(other);
    rak_peer_destroy(tofu);
    rak_peer_destroy(client);
    rak_peer_destroy(server);
}

int main(void)
{
    null_arguments();
    stale_and_invalid();
    loopback();
    null_and_stale_new_functions();
    callbacks_and_stats();
    secure_arguments();
    secure_loopback();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("api_test: all checks passed\n");
    return 0;
}
