// The system zlib, for gzip decompression of IDX files.
#include <zlib.h>
