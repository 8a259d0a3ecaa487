// h5.c — see h5.h.
#include "h5.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fx.h"

static hid_t utf8_string(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

int fx_h5_write_str_attr(hid_t obj, const char *name, const char *value) {
    hid_t t = utf8_string(), space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, t, &value);
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    H5Tclose(t);
    return rc < 0 ? -1 : 0;
}

int fx_h5_write_fixed_str_attr(hid_t obj, const char *name, const char *value) {
    hid_t t = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value) + 1);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t a = H5Acreate2(obj, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, t, value);
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    H5Tclose(t);
    return rc < 0 ? -1 : 0;
}

char *fx_h5_read_str_attr(hid_t obj, const char *name) {
    if (H5Aexists(obj, name) <= 0) return NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return NULL;
    hid_t stored = H5Aget_type(a);
    char *out = NULL;
    if (stored >= 0 && H5Tget_class(stored) == H5T_STRING && H5Tis_variable_str(stored) == 0) {
        size_t n = H5Tget_size(stored);
        out = fx_calloc(n + 1, 1);
        if (H5Aread(a, stored, out) < 0) free(out), out = NULL;
    } else if (stored >= 0 && H5Tget_class(stored) == H5T_STRING) {
        hid_t t = utf8_string();
        char *v = NULL;
        if (H5Aread(a, t, &v) >= 0 && v) {
            out = fx_strdup(v);
            H5free_memory(v);
        }
        H5Tclose(t);
    }
    if (stored >= 0) H5Tclose(stored);
    H5Aclose(a);
    return out;
}

void fx_h5_quiet(void) {
    // Before the library starts (the first call): no cleanup at exit. A file whose close failed
    // (a full disk) stays half-closed inside libhdf5 1.10, and its exit handler then crashed on it
    // (exit 139 after fluxrl's message). Every file fluxrl opens is closed by fluxrl itself.
    static bool once;
    if (!once) H5dont_atexit(), once = true;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}
