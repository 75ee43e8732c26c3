// runtime/detail/gdb_script.hpp — the .debug_gdb_scripts entry that has GDB
// load the goro extension (share/goro/gdb/goro_gdb.py) for any program linked
// with goro, as Go's linker does for runtime-gdb.py (docs/debugging.md).
//
// An entry is a byte 1 (a Python script named by file) and the file name,
// NUL-terminated. The section is not allocated: --gc-sections never drops
// it and it costs the running program nothing; "MS" lets the linker fold
// identical entries from several objects into one. strip removes it with
// the rest of the debug sections.
#pragma once

#if defined(__ELF__)
#define GORO_GDB_SCRIPT_ENTRY(path)                                      \
    __asm__(".pushsection \".debug_gdb_scripts\", \"MS\", @progbits, 1\n" \
            ".byte 1\n"                                                  \
            ".asciz \"" path "\"\n"                                      \
            ".popsection\n")
#else
#define GORO_GDB_SCRIPT_ENTRY(path)
#endif
