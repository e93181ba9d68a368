/*
 * rak_ping: sends an unconnected ping and prints the responder's GUID and offline data.
 *
 *   rak_ping --host H --port P [--timeout-ms T] [--open-only]
 *
 * Exit status 1 if no answer arrives within T ms (default 2000).
 */
#include "common.h"

#include <ctype.h>

static const char *prog = "rak_ping";

static void usage(void)
{
    fprintf(stderr, "usage: rak_ping --host H --port P [--timeout-ms T] [--open-only]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = NULL;
    long port = -1;
    unsigned long long timeout_ms = 2000;
    bool open_only = false;

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
        } else {
            usage();
        }
    }
    if (!host || port < 0) {
        usage();
    }

    rak_peer *peer = NULL;
    rak_result r = rak_peer_create(NULL, &peer);
    if (r != RAK_RESULT_OK) {
        printf("cannot start: %s\n", rak_result_str(r));
        return 1;
    }
    r = rak_peer_ping(peer, host, (uint16_t)port, open_only);
    if (r != RAK_RESULT_OK) {
        printf("ping %s:%ld failed: %s\n", host, port, rak_result_str(r));
        rak_peer_destroy(peer);
        return 1;
    }

    int status = 1;
    uint64_t deadline = ex_now_ms() + timeout_ms;
    for (uint64_t now = ex_now_ms(); now < deadline && status != 0; now = ex_now_ms()) {
        rak_event ev[16];
        size_t n = 0;
        if (rak_peer_wait(peer, ev, 16, (uint32_t)(deadline - now), &n) != RAK_RESULT_OK) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (ev[i].kind == RAK_EVENT_KIND_PONG && status != 0) {
                char addr[RAK_ADDRESS_STRLEN];
                const uint8_t *data = rak_message_data(ev[i].message);
                size_t len = rak_message_len(ev[i].message);
                printf("pong from %s guid=%016" PRIx64 " rtt=%ums data=\"",
                       ex_address(&ev[i].address, addr), ev[i].guid, (unsigned)ev[i].rtt_ms);
                for (size_t k = 0; k < len; k++) {
                    if (isprint(data[k]) && data[k] != '"' && data[k] != '\\') {
                        putchar(data[k]);
                    } else {
                        printf("\\x%02x", (unsigned)data[k]);
                    }
                }
                printf("\" (%zu bytes)\n", len);
                status = 0;
            }
            rak_message_release(ev[i].message);
        }
    }
    if (status != 0) {
        printf("no response from %s:%ld within %llu ms\n", host, port, timeout_ms);
    }
    rak_peer_destroy(peer);
    return status;
}
