// h5.h — small HDF5 helpers shared by the trace store and checkpoints.
#ifndef FLUXRL_H5_H
#define FLUXRL_H5_H

#include <hdf5.h>

// A UTF-8 variable-length string attribute (h5py reads it as str). 0 on success.
int fx_h5_write_str_attr(hid_t obj, const char *name, const char *value);
// A fixed-length string attribute: stored in its object header, which the latest file format
// checksums (a variable-length one lives in the global heap, whose lengths nothing checks and
// libhdf5 trusts). 0 on success.
int fx_h5_write_fixed_str_attr(hid_t obj, const char *name, const char *value);
// The attribute's value, variable- or fixed-length (caller frees), or NULL when absent or not a string.
char *fx_h5_read_str_attr(hid_t obj, const char *name);
// Both of fluxrl's HDF5 formats report errors themselves, naming file and dataset: this turns
// off HDF5's own printing of error stacks. Called before any other HDF5 call, it also turns off
// HDF5's cleanup at exit, which crashed on a file whose close had failed (a full disk).
void fx_h5_quiet(void);

#endif
