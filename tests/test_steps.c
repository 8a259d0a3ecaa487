// test_steps.c — fluxrl's one step-splitting rule: on token boundaries (separators inside one token
// or spanning two, "</think>", whitespace-only pieces, the step limit) and on text, and both give the
// same steps of the same response.
#include "rollout/steps.h"
#include "test.h"

// A toy vocabulary: id -> text; id 99 is "</think>" (no text).
static const char *vocab[] = {"A", "B", " c", "\n", "\n\n", "\n\nD", "  ", "x.", "\n\n\n", " \t\n", "\r\n"};
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
    // A whitespace-only line is a blank line too: "A\n" + " \t\n" + "B" + "\r\n" + "\r\n" + "x.".
    int32_t h[] = {0, 3, 9, 1, 10, 10, 7};
    CHECK_INT(split(h, 7, -1, 0, 16, ends, parts, &te), 3);
    CHECK(ends[0] == 3 && ends[1] == 6 && ends[2] == 7);

    // On text: the same rule.
    steps_span sp[8];
    size_t close;
    const char *t1 = "<think>\nA\n \nB c\n\n\n</think>\n\nx.\r\n\r\ny\n\t\n";
    CHECK_INT(steps_split_text(t1, sp, 8, &close), 4);
    CHECK_INT((int)close, (int)(strstr(t1, "</think>") - t1));
    const char *want1[] = {"A", "B c", "x.", "y"};
    for (int s = 0; s < 4; s++) {
        CHECK_INT((int)(sp[s].end - sp[s].begin), (int)strlen(want1[s]));
        CHECK(!strncmp(t1 + sp[s].begin, want1[s], strlen(want1[s])));
        CHECK_INT(sp[s].part, s < 2 ? 0 : 1);
    }
    // No "</think>": every step is part 0; the step limit folds the rest into the last one.
    const char *t2 = "a\n\nb\n\nc d";
    CHECK_INT(steps_split_text(t2, sp, 2, &close), 2);
    CHECK(close == (size_t)-1 && sp[0].part == 0 && sp[1].part == 0);
    CHECK(sp[1].begin == 3 && sp[1].end == strlen(t2));
    // One line with text in it and newlines around is not a separator; only whitespace: no steps.
    CHECK_INT(steps_split_text("a\n.\nb", sp, 8, &close), 1);
    CHECK_INT(steps_split_text(" \n\n\t", sp, 8, &close), 0);
    // Tokens and text agree: the tokens of h, as text, split into the same step texts.
    char joined[64] = "";
    for (int i = 0; i < 7; i++) strcat(joined, vocab[h[i]]);
    CHECK_INT(steps_split_text(joined, sp, 8, &close), 3);
    CHECK(!strncmp(joined + sp[1].begin, "B", 1) && sp[1].end - sp[1].begin == 1);
    // A later "</think>" has no text: on tokens (id 99 again) and on text, it neither ends a step
    // nor makes one, and the blank line around it is one.
    int32_t t3[] = {0, 99, 3, 99, 3, 1, 3, 99, 3, 7};
    CHECK_INT(split(t3, 10, 99, 0, 16, ends, parts, &te), 3);
    CHECK(te == 1 && ends[0] == 2 && ends[1] == 9 && ends[2] == 10);
    const char *t4 = "A</think>\n</think>\nB\n</think>\nx.</think>";
    CHECK_INT(steps_split_text(t4, sp, 8, &close), 3);
    CHECK(sp[0].end - sp[0].begin == 1 && t4[sp[1].begin] == 'B' && sp[1].end - sp[1].begin == 1);
    CHECK(!strncmp(t4 + sp[2].begin, "x.", 2) && sp[2].end - sp[2].begin == 2 && sp[2].part == 1);
    return test_summary("test_steps");
}
