// make_tiny_models.c — writes the models of prm_fixture.h into DIR, for the shell tests.
#include "prm_fixture.h"

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    backend *be = backend_cpu_create(1);
    int rc = make_tiny_models(argv[1], be);
    backend_destroy(be);
    return rc ? 1 : 0;
}
