# Cross-builds libraknet for 64-bit Windows from Linux with MinGW-w64 (Debian:
# gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64; rustup target add x86_64-pc-windows-gnu):
#
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/mingw-w64-x86_64.cmake
#   cmake --build build-win && ctest --test-dir build-win      # the tests run under wine
#
# cargo builds raknet.dll, its import library libraknet.dll.a and the static libraknet.a
# for x86_64-pc-windows-gnu; the C programs link against them. When wine is installed,
# CTest runs the Windows programs through scripts/wine/run.sh (CMAKE_CROSSCOMPILING_EMULATOR).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_mingw x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${_mingw}-gcc)
set(CMAKE_CXX_COMPILER ${_mingw}-g++)
set(CMAKE_RC_COMPILER ${_mingw}-windres)
# A -DCMAKE_FIND_ROOT_PATH=... of the caller (e.g. an install prefix to find raknet in) stays.
list(APPEND CMAKE_FIND_ROOT_PATH /usr/${_mingw})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The programs carry their GCC runtime (libgcc, libstdc++) inside, so an .exe needs no
# MinGW DLL beside it: only raknet.dll.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")

# The Rust target cargo builds the library for (read by the top-level CMakeLists.txt).
set(RAKNET_RUST_TARGET x86_64-pc-windows-gnu CACHE STRING "Rust target triple of the library")

# Windows programs run under wine on this Linux machine (tests only).
if(NOT DEFINED CMAKE_CROSSCOMPILING_EMULATOR)
  find_program(RAKNET_WINE NAMES wine wine64)
  if(RAKNET_WINE)
    get_filename_component(_raknet_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
    set(CMAKE_CROSSCOMPILING_EMULATOR "${_raknet_root}/scripts/wine/run.sh")
  endif()
endif()
