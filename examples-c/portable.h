/*
 * The few operating-system services the example programs, the benchmark programs and the
 * C tests use beyond C99, for POSIX systems (Linux, macOS) and Windows (MinGW-w64; the
 * Windows calls are MSVC's too), so that their sources carry no #ifdef of their own:
 *
 *   ex_now_ns()          nanoseconds on a monotonic clock
 *   ex_sleep_ns(ns)      sleeps at least ns (Windows: whole milliseconds, rounded up)
 *   ex_cpu_us()          user + system CPU time of the whole process, microseconds
 *   ex_rss_kb()          resident set size (Windows: working set), KiB; 0 if unknown
 *   ex_mkdtemp(tmpl)     mkdtemp(): creates a fresh directory from "...XXXXXX"
 *   ex_rmdir(path)       removes an empty directory (remove() does not on Windows); 0 if done
 *   ex_stdio_for_pipes() stdout line-buffered (Windows: unbuffered; see below)
 *
 * Signals: SIGINT and SIGTERM are C90 and signal() exists everywhere; on Windows only
 * SIGINT is ever raised (Ctrl-C), which is enough to stop a program cleanly.
 * This header does not include raknet.h: the raw-UDP and ENet baselines use it too.
 */
#ifndef RAK_EXAMPLES_PORTABLE_H
#define RAK_EXAMPLES_PORTABLE_H

#if !defined(_WIN32) && (!defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L)
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef PSAPI_VERSION
#define PSAPI_VERSION 2 /* GetProcessMemoryInfo from kernel32: no psapi.lib to link */
#endif
#include <windows.h>
#include <psapi.h>
#include <direct.h>
#include <fcntl.h>
#include <io.h>

static inline uint64_t ex_now_ns(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (freq.QuadPart == 0) {
        QueryPerformanceFrequency(&freq);
    }
    QueryPerformanceCounter(&now);
    /* Whole seconds and the remainder apart, so the multiplication cannot overflow. */
    uint64_t t = (uint64_t)now.QuadPart, f = (uint64_t)freq.QuadPart;
    return t / f * 1000000000u + t % f * 1000000000u / f;
}

static inline void ex_sleep_ns(uint64_t ns)
{
    uint64_t ms = (ns + 999999u) / 1000000u;
    Sleep(ms > 0xFFFFFFFEu ? 0xFFFFFFFEu : (DWORD)ms);
}

static inline uint64_t ex_filetime_us(FILETIME t)
{
    return (((uint64_t)t.dwHighDateTime << 32) | t.dwLowDateTime) / 10u; /* 100 ns units */
}

static inline uint64_t ex_cpu_us(void)
{
    FILETIME created, exited, kernel, user;
    if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user)) {
        return 0;
    }
    return ex_filetime_us(kernel) + ex_filetime_us(user);
}

static inline uint64_t ex_rss_kb(void)
{
    PROCESS_MEMORY_COUNTERS pmc;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc)) {
        return 0;
    }
    return (uint64_t)pmc.WorkingSetSize / 1024u;
}

static inline char *ex_mkdtemp(char *tmpl)
{
    if (_mktemp_s(tmpl, strlen(tmpl) + 1) != 0 || _mkdir(tmpl) != 0) {
        return NULL;
    }
    return tmpl;
}

static inline int ex_rmdir(const char *path)
{
    return _rmdir(path);
}

/* The C runtime has no line buffering (_IOLBF means full buffering there), so stdout is
 * unbuffered, and binary: in text mode every "\n" would reach a pipe as "\r\n", which
 * the scripts that read these programs' output would see as part of the line. */
static inline void ex_stdio_for_pipes(void)
{
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
    setvbuf(stdout, NULL, _IONBF, 0);
}

#else /* POSIX */

#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t ex_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void ex_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

static inline uint64_t ex_cpu_us(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
           (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

/* VmRSS of /proc/self/status (Linux); 0 elsewhere. */
static inline uint64_t ex_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) {
        return 0;
    }
    char line[256];
    uint64_t kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoull(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

static inline char *ex_mkdtemp(char *tmpl)
{
    return mkdtemp(tmpl);
}

static inline int ex_rmdir(const char *path)
{
    return rmdir(path);
}

/* Prints every line at once, so a script reading a pipe sees events as they happen. */
static inline void ex_stdio_for_pipes(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
}

#endif

#endif
