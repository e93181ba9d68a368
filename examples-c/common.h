/*
 * Helpers shared by the example programs: option parsing, RakNet reliability names,
 * a monotonic clock and the ABI check. Plain C99; the OS services come from portable.h.
 */
#ifndef RAK_EXAMPLES_COMMON_H
#define RAK_EXAMPLES_COMMON_H

#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "portable.h"
#include "raknet.h"

/* ID_USER_PACKET_ENUM: the first message id free for applications. */
#define EX_ID_USER_PACKET 134

static const char *const ex_reliability_names[] = {
    "unreliable",
    "unreliable_sequenced",
    "reliable",
    "reliable_ordered",
    "reliable_sequenced",
    "unreliable_with_ack_receipt",
    "reliable_with_ack_receipt",
    "reliable_ordered_with_ack_receipt",
};

#define EX_RELIABILITY_COUNT (sizeof ex_reliability_names / sizeof ex_reliability_names[0])

static inline void ex_die(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* Prints every line at once, so a script reading a pipe sees events as they happen. */
static inline void ex_line_buffered(void)
{
    ex_stdio_for_pipes();
}

/* Exits unless the library and this program were built from the same ABI. */
static inline void ex_check_abi(const char *prog)
{
    if (rak_abi_version() != RAK_ABI_VERSION) {
        ex_die(prog, "libraknet ABI %u, but built against ABI %u", (unsigned)rak_abi_version(),
               (unsigned)RAK_ABI_VERSION);
    }
}

static inline const char *ex_reliability_name(uint32_t reliability)
{
    return reliability < EX_RELIABILITY_COUNT ? ex_reliability_names[reliability] : "unknown";
}

/* The RAK_RELIABILITY_* value for a RakNet name; false if unknown. */
static inline bool ex_parse_reliability(const char *name, uint32_t *out)
{
    for (uint32_t i = 0; i < EX_RELIABILITY_COUNT; i++) {
        if (strcmp(name, ex_reliability_names[i]) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

static inline bool ex_is_reliable(uint32_t r)
{
    return r == RAK_RELIABILITY_RELIABLE || r == RAK_RELIABILITY_RELIABLE_ORDERED ||
           r == RAK_RELIABILITY_RELIABLE_SEQUENCED ||
           r == RAK_RELIABILITY_RELIABLE_WITH_ACK_RECEIPT ||
           r == RAK_RELIABILITY_RELIABLE_ORDERED_WITH_ACK_RECEIPT;
}

static inline bool ex_is_ordered(uint32_t r)
{
    return r == RAK_RELIABILITY_RELIABLE_ORDERED ||
           r == RAK_RELIABILITY_RELIABLE_ORDERED_WITH_ACK_RECEIPT;
}

static inline bool ex_is_sequenced(uint32_t r)
{
    return r == RAK_RELIABILITY_UNRELIABLE_SEQUENCED || r == RAK_RELIABILITY_RELIABLE_SEQUENCED;
}

/* Byte k of test message `seq`'s payload (rak_client and the interop helpers share it):
 * a pseudorandom pattern keyed by the sequence number. Each aligned 4-byte word w is
 * lowbias32(w * 0x9e3779b9 + seq * 0x85ebca6b + 0x6c69626b), little-endian. The hash
 * is a bijection, so no two aligned words of one message are equal and a fragment
 * delivered at the wrong offset shows (a pattern repeating every 256 bytes would hide
 * swapped fragments whose offsets differ by a multiple of 256). */
static inline uint8_t ex_pattern_byte(uint32_t seq, size_t k)
{
    uint32_t x = (uint32_t)(k >> 2) * 0x9e3779b9u + seq * 0x85ebca6bu + 0x6c69626bu;
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return (uint8_t)(x >> (8 * (k & 3)));
}

/* Parses an unsigned decimal in [min, max] or exits. */
static inline unsigned long long ex_parse_uint(const char *prog, const char *opt, const char *text,
                                        unsigned long long min, unsigned long long max)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < min || v > max) {
        ex_die(prog, "%s: expected a number from %llu to %llu, got '%s'", opt, min, max, text);
    }
    return v;
}

/* The value after option argv[*i], advancing *i; exits if it is missing. */
static inline const char *ex_value(const char *prog, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        ex_die(prog, "%s needs a value", argv[*i]);
    }
    *i += 1;
    return argv[*i];
}

/* Milliseconds on a monotonic clock. */
static inline uint64_t ex_now_ms(void)
{
    return ex_now_ns() / 1000000u;
}

/* Formats an address into buf (RAK_ADDRESS_STR_BYTES bytes); "-" if there is none. */
static inline const char *ex_address(const rak_address *a, char *buf)
{
    size_t len = 0;
    if (rak_address_str(a, buf, RAK_ADDRESS_STR_BYTES, &len) != RAK_RESULT_OK) {
        strcpy(buf, "-");
    }
    return buf;
}

/* Calls that should not fail in a correct program: report and exit. */
static inline void ex_check(const char *prog, const char *what, rak_result r)
{
    if (r != RAK_RESULT_OK) {
        ex_die(prog, "%s: %s", what, rak_result_str(r));
    }
}

/* Secure mode: loads the key pair in `path`, or, if the file does not exist, generates
 * one and saves it there (mode 0600). Exits on any other error. True if it was created. */
static inline bool ex_load_or_create_key(const char *prog, const char *path,
                                         uint8_t pub[RAK_KEY_BYTES], uint8_t priv[RAK_KEY_BYTES])
{
    rak_result r = rak_key_pair_load(path, pub, priv);
    if (r == RAK_RESULT_OK) {
        return false;
    }
    if (r != RAK_RESULT_NOT_FOUND) {
        ex_die(prog, "--key-file %s: cannot load a key pair: %s", path, rak_result_str(r));
    }
    ex_check(prog, "rak_key_pair_generate", rak_key_pair_generate(pub, priv));
    r = rak_key_pair_save(path, priv);
    if (r != RAK_RESULT_OK) {
        ex_die(prog, "--key-file %s: cannot save the new key pair: %s", path, rak_result_str(r));
    }
    return true;
}

/* Formats a RAK_KEY_BYTES key as 64 lower-case hex digits into buf. */
static inline const char *ex_key_hex(const uint8_t key[RAK_KEY_BYTES], char buf[RAK_KEY_HEX_BYTES])
{
    if (rak_key_to_hex(key, buf) != RAK_RESULT_OK) {
        strcpy(buf, "-");
    }
    return buf;
}

/* Parses --server-key HEX (64 hex digits) or exits. */
static inline void ex_parse_key(const char *prog, const char *opt, const char *text,
                                uint8_t out[RAK_KEY_BYTES])
{
    if (rak_key_from_hex(text, out) != RAK_RESULT_OK) {
        ex_die(prog, "%s: expected 64 hex digits (a public key), got '%s'", opt, text);
    }
}

/* The built-in network simulator, from the --sim-* options; applied to both directions. */
struct ex_sim {
    rak_sim_options opts;
    bool on;
};

#define EX_SIM_USAGE                                                                         \
    "[--sim-loss PCT] [--sim-latency-ms MS] [--sim-jitter-ms MS]\n"                          \
    "                  [--sim-dup PCT] [--sim-reorder PCT]"

/* Parses a percentage in [0, 100] (fractions allowed) or exits. */
static inline double ex_parse_pct(const char *prog, const char *opt, const char *text)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v >= 0.0 && v <= 100.0)) {
        ex_die(prog, "%s: expected a percentage from 0 to 100, got '%s'", opt, text);
    }
    return v;
}

/* If argv[*i] is a --sim-* option, consumes it and its value and returns true. */
static inline bool ex_parse_sim(const char *prog, int argc, char **argv, int *i,
                                struct ex_sim *sim)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--sim-loss")) {
        sim->opts.loss_pct = ex_parse_pct(prog, a, ex_value(prog, argc, argv, i));
    } else if (!strcmp(a, "--sim-dup")) {
        sim->opts.duplicate_pct = ex_parse_pct(prog, a, ex_value(prog, argc, argv, i));
    } else if (!strcmp(a, "--sim-reorder")) {
        sim->opts.reorder_pct = ex_parse_pct(prog, a, ex_value(prog, argc, argv, i));
    } else if (!strcmp(a, "--sim-latency-ms")) {
        sim->opts.latency_ms =
            (uint32_t)ex_parse_uint(prog, a, ex_value(prog, argc, argv, i), 0, RAK_MAX_SIM_DELAY_MS);
    } else if (!strcmp(a, "--sim-jitter-ms")) {
        sim->opts.jitter_ms =
            (uint32_t)ex_parse_uint(prog, a, ex_value(prog, argc, argv, i), 0, RAK_MAX_SIM_DELAY_MS);
    } else {
        return false;
    }
    sim->on = true;
    return true;
}

/* Sets the simulator options on both directions of the config's peer. */
static inline void ex_apply_sim(const char *prog, rak_config *config, const struct ex_sim *sim)
{
    if (sim->on) {
        ex_check(prog, "--sim-*",
                 rak_config_set_simulator(config, RAK_SIM_DIRECTION_BOTH, &sim->opts));
    }
}

/* Prints what the simulator did, one line, if it was on. */
static inline void ex_print_sim(rak_peer *peer, const struct ex_sim *sim)
{
    rak_runtime_stats st;
    if (!sim->on || rak_peer_runtime_stats(peer, &st, sizeof st) != RAK_RESULT_OK) {
        return;
    }
    printf("simulator out: %" PRIu64 " datagrams, %" PRIu64 " lost, %" PRIu64
           " duplicated, %" PRIu64 " reordered; in: %" PRIu64 " datagrams, %" PRIu64
           " lost, %" PRIu64 " duplicated, %" PRIu64 " reordered\n",
           st.sim_out_submitted, st.sim_out_lost, st.sim_out_duplicated, st.sim_out_reordered,
           st.sim_in_submitted, st.sim_in_lost, st.sim_in_duplicated, st.sim_in_reordered);
}

#endif
