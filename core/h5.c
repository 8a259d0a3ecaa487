// h5.c — see h5.h.
#define _POSIX_C_SOURCE 200809L // fseeko, ftello
#include "h5.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

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

static uint64_t get_le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; k--) v = v << 8 | p[k];
    return v;
}

// Walks the objects of the collection at `at` (size csize, within the file) as libhdf5's
// H5HG deserializer does: a 16-byte header per object (index u16, reference count u16, 4 reserved,
// length u64), its data padded to 8 bytes; the free-space object (index 0) spans its own header;
// a tail shorter than a header is free space. The walk must end exactly at the collection's end.
static int walk_heap(FILE *f, const char *path, uint64_t at, uint64_t csize, fx_err *err) {
    uint64_t p = at + 16, end = at + csize;
    while (end - p >= 16) {
        unsigned char h[16];
        if (fseeko(f, (off_t)p, SEEK_SET) || fread(h, 1, 16, f) != 16)
            return fx_errf(err, "%s: cannot read the global heap collection at offset %llu", path,
                           (unsigned long long)at);
        unsigned idx = (unsigned)get_le(h, 2);
        uint64_t len = get_le(h + 8, 8);
        bool fits = idx ? len <= end - p - 16 && 16 + (len + 7) / 8 * 8 <= end - p : len >= 16 && len <= end - p;
        if (!fits)
            return fx_errf(err,
                           "%s: corrupt: the global heap collection at offset %llu (%llu bytes) holds object %u "
                           "of %llu bytes at offset %llu, which does not fit in it (the file is damaged)",
                           path, (unsigned long long)at, (unsigned long long)csize, idx, (unsigned long long)len,
                           (unsigned long long)p);
        p += idx ? 16 + (len + 7) / 8 * 8 : len;
    }
    return 0;
}

int fx_h5_check_global_heaps(const char *path, fx_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0; // the open that follows says so
    int rc = 0;
    off_t size = fseeko(f, 0, SEEK_END) ? -1 : ftello(f);
    size_t n = size < 0 ? 0 : size < FX_H5_HEAP_SCAN ? (size_t)size : (size_t)FX_H5_HEAP_SCAN;
    unsigned char *b = n ? fx_malloc(n) : NULL;
    if (n && (fseeko(f, 0, SEEK_SET) || fread(b, 1, n, f) != n)) n = 0;
    static const unsigned char sig[8] = {'G', 'C', 'O', 'L', 1, 0, 0, 0};
    for (size_t i = 0; !rc && i + 16 <= n; i++) {
        if (b[i] != 'G' || memcmp(b + i, sig, 8) != 0) continue;
        uint64_t csize = get_le(b + i + 8, 8);
        if (csize < 16 || csize > (uint64_t)size - i)
            rc = fx_errf(err,
                         "%s: corrupt: the global heap collection at offset %zu claims %llu bytes, beyond the "
                         "file's %lld (the file is damaged or truncated)",
                         path, i, (unsigned long long)csize, (long long)size);
        else if (!(rc = walk_heap(f, path, i, csize, err)))
            i += (size_t)(csize < n - i ? csize : n - i) - 1;
    }
    free(b);
    fclose(f);
    return rc;
}
