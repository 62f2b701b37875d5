// Declarations only (see the header); a C target needs a source file.
#include "CFuzzerDriver.h"
