// trace_fixture.c — writes a trace store of N deterministic traces in batches of 10, for the
// shell tests of `fluxrl traces` and of other tools reading the file (h5dump, h5py).
//   trace_fixture OUT.h5 N
#include <stdlib.h>

#include "rollout/trace_store.h"
#include "trace_fixture.h"

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    fx_err err;
    trace_store *s;
    if (trace_store_create(&s, argv[1], "{\"run\": {\"name\": \"fixture\"}}", "fixture-model", "fixture-tokenizer", &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    trace_batch b;
    trace_batch_init(&b);
    int64_t n = atoll(argv[2]);
    for (int64_t i = 0; i < n; i++) {
        make_trace(i, 2, &b);
        if (b.n == 10 || i == n - 1) {
            if (trace_store_append(s, &b, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            trace_batch_clear(&b);
        }
    }
    trace_batch_free(&b);
    return trace_store_close(s, &err) ? 1 : 0;
}
