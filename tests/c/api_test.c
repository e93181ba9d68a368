/*
 * The C API from C: every function with NULL arguments returns its documented error,
 * forged and stale rak_conn values return RAK_RESULT_STALE_HANDLE, destroy(NULL) is a
 * no-op, and a server and a client exchange messages over loopback in one process.
 */
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
    char buf[RAK_ADDRESS_STRLEN];
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
    EXPECT(rak_config_set_timeout_ms(NULL, 1000), RAK_RESULT_NULL_ARGUMENT);
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
    char text[RAK_ADDRESS_STRLEN];
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

int main(void)
{
    null_arguments();
    stale_and_invalid();
    loopback();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("api_test: all checks passed\n");
    return 0;
}
