// h5.h — small HDF5 helpers shared by the trace store and checkpoints.
#ifndef FLUXRL_H5_H
#define FLUXRL_H5_H

#include <hdf5.h>

#include "fx.h"

// A UTF-8 variable-length string attribute (h5py reads it as str). 0 on success.
int fx_h5_write_str_attr(hid_t obj, const char *name, const char *value);
// A fixed-length string attribute: stored in its object header, which the latest file format
// checksums (a variable-length one lives in the global heap, whose lengths nothing checks and
// libhdf5 trusts). 0 on success.
int fx_h5_write_fixed_str_attr(hid_t obj, const char *name, const char *value);
// The attribute's value, variable- or fixed-length (caller frees), or NULL when absent or not a string.
char *fx_h5_read_str_attr(hid_t obj, const char *name);
// Checks the global heap collections (where variable-length strings live) among the first
// FX_H5_HEAP_SCAN bytes of the file at path, before HDF5 reads them: libhdf5 1.10 trusts each
// object's length in a collection (no checksum covers it) and reads past the collection when one
// is damaged. A collection is found by its 8-byte header ("GCOL", version 1, three zero bytes);
// its size must lie within the file and its objects' headers must tile it exactly, ending with
// the free-space object (index 0) or a tail too short for a header, as libhdf5 writes them.
// fluxrl writes its variable-length strings (the attributes) when it creates a file, so their
// collection lies within the first blocks. 0 when none is damaged; else err names the file, the
// collection's offset and what is wrong.
#define FX_H5_HEAP_SCAN (1L << 20)
int fx_h5_check_global_heaps(const char *path, fx_err *err);
// Both of fluxrl's HDF5 formats report errors themselves, naming file and dataset: this turns
// off HDF5's own printing of error stacks. Called before any other HDF5 call, it also turns off
// HDF5's cleanup at exit, which crashed on a file whose close had failed (a full disk).
void fx_h5_quiet(void);

#endif
