// test_steps.c — splitting responses into steps on token boundaries: separators inside one token
// or spanning two, "</think>", whitespace-only pieces, the step limit.
#include "rollout/steps.h"
#include "test.h"

// A toy vocabulary: id -> text; id 99 is "</think>" (no text).
static const char *vocab[] = {"A", "B", " c", "\n", "\n\n", "\n\nD", "  ", "x.", "\n\n\n"};
static const char *piece(void *ctx, int32_t id, size_t *len) {
    (void)ctx;
    if (id == 99) return *len = 0, NULL;
    *len = strlen(vocab[id]);
    return vocab[id];
}

static int split(const int32_t *ids, int n, int think_id, int starts_in_think, int max, int32_t *ends, uint8_t *parts,
                 int32_t *te) {
    steps_params p = {NULL, think_id, starts_in_think};
    return steps_split(ids, n, &p, piece, NULL, ends, parts, max, te);
}

int main(void) {
    int32_t ends[16], te;
    uint8_t parts[16];
    // "A\n\nB c\n" + "\n" (separator across two tokens) + "x." : three steps, all response.
    int32_t a[] = {0, 4, 1, 2, 3, 3, 7};
    CHECK_INT(split(a, 7, -1, 0, 16, ends, parts, &te), 3);
    CHECK(ends[0] == 2 && ends[1] == 6 && ends[2] == 7);
    CHECK(parts[0] == 1 && parts[2] == 1 && te == -1);
    // Thinking then response: "A\n\nB</think>\n\nx." -> trajectory A | B</think>, response \n\nx.
    int32_t b[] = {0, 4, 1, 99, 4, 7};
    CHECK_INT(split(b, 6, 99, 0, 16, ends, parts, &te), 3);
    CHECK_INT(te, 3);
    CHECK(ends[0] == 2 && ends[1] == 4 && ends[2] == 6);
    CHECK(parts[0] == 0 && parts[1] == 0 && parts[2] == 1);
    // "</think>" right after a separator joins the previous step; leading blank lines do not
    // end a step; "\n\nD" ends a step and starts the next with D.
    int32_t c[] = {4, 0, 4, 99, 1, 5, 6};
    CHECK_INT(split(c, 7, 99, 0, 16, ends, parts, &te), 3);
    CHECK(ends[0] == 4 && parts[0] == 0); // "\n\nA\n\n</think>"
    CHECK(ends[1] == 6 && parts[1] == 1); // "B\n\nD" ends at the token that completes "\n\n"
    CHECK(ends[2] == 7 && parts[2] == 1); // "D  " (the whitespace token joins it)
    // No "</think>", but the prompt opened <think>: everything is trajectory.
    int32_t d[] = {0, 8, 1};
    CHECK_INT(split(d, 3, 99, 1, 16, ends, parts, &te), 2);
    CHECK(ends[0] == 2 && ends[1] == 3 && parts[0] == 0 && parts[1] == 0 && te == -1);
    // Trailing whitespace joins the last step; the step limit folds the rest into the last one.
    int32_t e[] = {0, 4, 1, 4, 0, 4, 1, 6};
    CHECK_INT(split(e, 8, -1, 0, 2, ends, parts, &te), 2);
    CHECK(ends[0] == 2 && ends[1] == 8);
    CHECK_INT(split(e, 8, -1, 0, 16, ends, parts, &te), 4);
    CHECK(ends[3] == 8);
    // Only whitespace: one step holding everything.
    int32_t f[] = {6, 3};
    CHECK_INT(split(f, 2, -1, 0, 16, ends, parts, &te), 1);
    CHECK_INT(ends[0], 2);
    // Every token belongs to a step: ends increase and the last is n.
    int32_t g[] = {4, 4, 0, 8, 8, 1, 99, 4, 4, 7, 4};
    int k = split(g, 11, 99, 0, 16, ends, parts, &te);
    int ok = ends[k - 1] == 11;
    for (int i = 1; i < k; i++) ok &= ends[i] > ends[i - 1];
    CHECK(ok);
    return test_summary("test_steps");
}
