// The installed header from C++17.
#include <raknet.h>

#include <iostream>

int main()
{
    rak_config *config = nullptr;
    if (rak_config_create(&config) != RAK_RESULT_OK) {
        return 1;
    }
    const rak_result r = rak_config_set_protocol_version(config, 0);
    rak_config_destroy(config);
    if (r != RAK_RESULT_INVALID_ARGUMENT) {
        return 1;
    }
    std::cout << "consumer_cxx: " << rak_result_str(r) << " as expected\n";
    return rak_abi_version() == RAK_ABI_VERSION ? 0 : 1;
}
