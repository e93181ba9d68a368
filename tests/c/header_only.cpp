// The header compiles on its own (no other includes first) as strict C++.
#include <raknet.h>

int main()
{
    rak_conn conn{};
    rak_send_options opts{RAK_RELIABILITY_RELIABLE_ORDERED, RAK_PRIORITY_HIGH, 0};
    rak_event ev{};
    rak_event_kind kind = RAK_EVENT_KIND_MESSAGE;
    rak_result ok = RAK_RESULT_OK;
    return static_cast<int>(conn.id + opts.channel + ev.receipt) + (kind == RAK_EVENT_KIND_MESSAGE ? 0 : 1) +
           static_cast<int>(ok);
}
