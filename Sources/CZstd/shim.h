// libzstd, bound as a system library (Debian: libzstd-dev).
#include <zstd.h>
