/* The header compiles on its own (no other includes first) as strict C. */
#include <raknet.h>

int main(void)
{
    rak_conn conn = {0};
    rak_send_options opts = {RAK_RELIABILITY_RELIABLE_ORDERED, RAK_PRIORITY_HIGH, 0};
    rak_event ev;
    (void)ev;
    return (int)(conn.id + opts.channel) + (RAK_ABI_VERSION - RAK_ABI_VERSION);
}
