/* TEST-ONLY stand-in for Windows' bcryptprimitives.dll, never shipped.
 *
 * Rust's standard library (1.78 and later) imports ProcessPrng from bcryptprimitives.dll
 * for its random numbers. Wine 8 (Debian 12) has that DLL without ProcessPrng, so every
 * Rust program, and libraknet's raknet.dll, fails to load under it. scripts/wine/shim.sh
 * builds this file with MinGW-w64 and places the result beside the test executables,
 * where Windows' loader prefers it; it answers from RtlGenRandom (advapi32's
 * SystemFunction036), which Wine implements with the host's CSPRNG. Real Windows 10 and
 * 11 have their own ProcessPrng: nothing here is installed or packaged. */
#include <windows.h>

typedef BOOLEAN(WINAPI *rtl_gen_random_fn)(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    static rtl_gen_random_fn gen;
    if (gen == NULL) {
        HMODULE advapi = LoadLibraryA("advapi32.dll");
        if (advapi == NULL)
            return FALSE;
        gen = (rtl_gen_random_fn)(void *)GetProcAddress(advapi, "SystemFunction036");
        if (gen == NULL)
            return FALSE;
    }
    while (len > 0) {
        ULONG n = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        if (!gen(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
