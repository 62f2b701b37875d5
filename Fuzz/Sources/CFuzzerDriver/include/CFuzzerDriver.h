// libFuzzer's driver, for fuzz executables whose main is their own (SwiftPM names an executable's
// entry point, so libFuzzer's main cannot be used): it parses the libFuzzer flags in argv and runs
// `callback` on each input. Linked from libclang_rt.fuzzer by -sanitize=fuzzer.
#ifndef WIRESTREAM_CFUZZERDRIVER_H
#define WIRESTREAM_CFUZZERDRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
