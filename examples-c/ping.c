/*
 * rak_ping: sends an unconnected ping and prints the responder's GUID and offline data;
 * with --broadcast, lists every server on the LAN that answers.
 *
 *   rak_ping --host H --port P [--timeout-ms T] [--open-only]
 *   rak_ping --broadcast --port P [--host H] [--timeout-ms T] [--open-only]
 *
 * H is an IPv4 or IPv6 literal or a host name. Without --broadcast the first answer is
 * printed and the program exits 0; exit status 1 if none arrives within T ms (default
 * 2000).
 *
 * --broadcast (LAN discovery) pings 255.255.255.255 (the local network) and
 * 127.255.255.255 (servers on this machine, also without a network interface), or
 * only H if given (a subnet's broadcast address, say), then prints every server that
 * answers within T ms (default 1000), once per GUID, and "N server(s) answered".
 * Exit status 0 if at least one did.
 */
#include "common.h"

#include <ctype.h>

static const char *prog = "rak_ping";

static void usage(void)
{
    fprintf(stderr, "usage: rak_ping --host H --port P [--timeout-ms T] [--open-only]\n"
                    "       rak_ping --broadcast --port P [--host H] [--timeout-ms T] "
                    "[--open-only]\n");
    exit(2);
}

#define MAX_SERVERS 256

static void print_pong(const rak_event *ev)
{
    char addr[RAK_ADDRESS_STR_BYTES];
    const uint8_t *data = rak_message_data(ev->message);
    size_t len = rak_message_len(ev->message);
    printf("pong from %s guid=%016" PRIx64 " rtt=%ums data=\"", ex_address(&ev->address, addr),
           ev->guid, (unsigned)ev->rtt_ms);
    for (size_t k = 0; k < len; k++) {
        if (isprint(data[k]) && data[k] != '"' && data[k] != '\\') {
            putchar(data[k]);
        } else {
            printf("\\x%02x", (unsigned)data[k]);
        }
    }
    printf("\" (%zu bytes)\n", len);
}

int main(int argc, char **argv)
{
    const char *host = NULL;
    long port = -1;
    unsigned long long timeout_ms = 0;
    bool open_only = false, broadcast = false;

    ex_line_buffered();
    ex_check_abi(prog);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--host")) {
            host = ex_value(prog, argc, argv, &i);
        } else if (!strcmp(a, "--port")) {
            port = (long)ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 1, 65535);
        } else if (!strcmp(a, "--timeout-ms")) {
            timeout_ms = ex_parse_uint(prog, a, ex_value(prog, argc, argv, &i), 1, 600000);
        } else if (!strcmp(a, "--open-only")) {
            open_only = true;
        } else if (!strcmp(a, "--broadcast")) {
            broadcast = true;
        } else {
            usage();
        }
    }
    if ((!host && !broadcast) || port < 0) {
        usage();
    }
    if (timeout_ms == 0) {
        timeout_ms = broadcast ? 1000 : 2000;
    }

    rak_config *config = NULL;
    ex_check(prog, "rak_config_create", rak_config_create(&config));
    if (host && strchr(host, ':')) {
        /* An IPv6 literal: a dual-stack socket reaches it. */
        ex_check(prog, "--host", rak_config_set_bind(config, "::", 0));
    }
    rak_peer *peer = NULL;
    rak_result r = rak_peer_create(config, &peer);
    rak_config_destroy(config);
    if (r != RAK_RESULT_OK) {
        printf("cannot start: %s\n", rak_result_str(r));
        return 1;
    }
    const char *targets[2] = {host, NULL};
    if (broadcast && !host) {
        targets[0] = "255.255.255.255";
        targets[1] = "127.255.255.255";
    }
    for (size_t t = 0; t < 2 && targets[t]; t++) {
        r = rak_peer_ping(peer, targets[t], (uint16_t)port, open_only);
        if (r != RAK_RESULT_OK) {
            printf("ping %s:%ld failed: %s\n", targets[t], port, rak_result_str(r));
            rak_peer_destroy(peer);
            return 1;
        }
    }

    uint64_t seen[MAX_SERVERS];
    size_t nseen = 0;
    bool done = false;
    uint64_t deadline = ex_now_ms() + timeout_ms;
    for (uint64_t now = ex_now_ms(); now < deadline && !done; now = ex_now_ms()) {
        rak_event ev[16];
        size_t n = 0;
        if (rak_peer_wait(peer, ev, 16, (uint32_t)(deadline - now), &n) != RAK_RESULT_OK) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (ev[i].kind == RAK_EVENT_KIND_PONG && !done) {
                bool known = false;
                for (size_t k = 0; k < nseen; k++) {
                    known = known || seen[k] == ev[i].guid;
                }
                if (!known && nseen < MAX_SERVERS) {
                    seen[nseen++] = ev[i].guid;
                    print_pong(&ev[i]);
                }
                done = !broadcast;
            }
            rak_message_release(ev[i].message);
        }
    }
    if (broadcast) {
        printf("%zu server(s) answered on port %ld\n", nseen, port);
    }
    if (nseen == 0) {
        if (broadcast) {
            printf("no response to the broadcast within %llu ms\n", timeout_ms);
        } else {
            printf("no response from %s:%ld within %llu ms\n", host, port, timeout_ms);
        }
    }
    rak_peer_destroy(peer);
    return nseen > 0 ? 0 : 1;
}
