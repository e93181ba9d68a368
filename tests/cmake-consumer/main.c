/* Links against the installed library, checks the ABI and runs a peer briefly. */
#include <stdio.h>

#include <raknet.h>

/* The static targets (raknet::raknet_static, pkg-config --static) must define
 * RAKNET_STATIC, and only they: raknet.h's RAKNET_API depends on it. */
#if defined(CONSUMER_STATIC) != defined(RAKNET_STATIC)
#error "RAKNET_STATIC is defined exactly for the static consumers"
#endif

int main(void)
{
    if (rak_abi_version() != RAK_ABI_VERSION) {
        fprintf(stderr, "ABI mismatch: library %u, header %u\n", (unsigned)rak_abi_version(),
                (unsigned)RAK_ABI_VERSION);
        return 1;
    }
    rak_peer *peer = NULL;
    rak_result r = rak_peer_create(NULL, &peer);
    if (r != RAK_RESULT_OK) {
        fprintf(stderr, "rak_peer_create: %s\n", rak_result_str(r));
        return 1;
    }
    uint16_t port = 0;
    r = rak_peer_local_port(peer, &port);
    rak_peer_destroy(peer);
    if (r != RAK_RESULT_OK || port == 0) {
        fprintf(stderr, "rak_peer_local_port: %s\n", rak_result_str(r));
        return 1;
    }
    printf("consumer: libraknet %s, ABI %u, bound port %u\n", rak_version_string(),
           (unsigned)rak_abi_version(), (unsigned)port);
    return 0;
}
