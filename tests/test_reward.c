// test_reward.c — PRM aggregation, reward mixing with format and overlong penalties, top-k data
// selection and Best-of-N, on hand-worked numbers.
#include "reward/reward.h"

#include <math.h>
#include <stdbool.h>
#include "test.h"

int main(void) {
    float steps[4] = {0.9f, 0.5f, 0.7f, 0.1f};
    CHECK_NEAR(reward_prm_aggregate(steps, 4, 0.8f, 1.0f), 0.55 + 0.8, 1e-6);
    CHECK_NEAR(reward_prm_aggregate(steps, 4, 0.8f, 0.5f), 0.55 + 0.4, 1e-6);
    CHECK_NEAR(reward_prm_aggregate(steps, 0, 0.8f, 1.0f), 0.8, 1e-6);

    reward_mix_params p = {.beta = 0.25f, .format_penalty = 0.5f, .max_len = 100, .overlong_buffer = 20,
                           .length_penalty = 1.0f};
    CHECK_NEAR(reward_mix(&p, 1.0f, 0.4f, true, 50), 0.75 + 0.1, 1e-6);
    CHECK_NEAR(reward_mix(&p, 1.0f, 0.4f, false, 50), 0.85 - 0.5, 1e-6);
    CHECK_NEAR(reward_mix(&p, 1.0f, 0.4f, true, 80), 0.85, 1e-6);       // at the soft limit: nothing
    CHECK_NEAR(reward_mix(&p, 1.0f, 0.4f, true, 90), 0.85 - 0.5, 1e-6); // half-way into the buffer
    CHECK_NEAR(reward_mix(&p, 1.0f, 0.4f, true, 130), 0.85 - 1.0, 1e-6);// capped at the full penalty
    reward_mix_params outcome_only = {0};
    CHECK_NEAR(reward_mix(&outcome_only, 1.0f, NAN, true, 10), 1.0, 0); // beta 0: the PRM is not read
    // reward.mix = reasonflux: 0.75 * the PRM's read-out + 0.25 * outcome; beta unused; penalties after.
    // pcm.reward = bt: sum_i w_i sigmoid(r_i - ref_i). sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4,
    // sigmoid(-ln 3) = 1/4; differences of +-800 (exp overflows a double at 710) give 1 and 0.
    {
        const double r[3] = {2.0, log(3.0), -5.0}, ref[3] = {2.0, 0.0, log(3.0) - 5.0};
        const float w[3] = {0.5f, 0.25f, 0.25f};
        CHECK_NEAR(reward_bt(r, ref, w, 3), 0.5 * 0.5 + 0.25 * 0.75 + 0.25 * 0.25, 1e-15);
        const double big[2] = {800.0, -800.0}, zero[2] = {0.0, 0.0};
        const float w2[2] = {0.75f, 0.25f};
        CHECK_NEAR(reward_bt(big, zero, w2, 2), 0.75, 0);
        CHECK_NEAR(reward_bt(zero, big, w2, 2), 0.25, 0);
    }
    reward_mix_params rf = p;
    rf.mode = REWARD_MIX_REASONFLUX;
    CHECK_NEAR(reward_mix(&rf, 1.0f, 0.4f, true, 50), 0.75 * 0.4 + 0.25, 1e-6);
    CHECK_NEAR(reward_mix(&rf, 0.0f, 0.8f, false, 90), 0.6 - 0.5 - 0.5, 1e-6);

    float score[7] = {0.2f, 0.9f, 0.5f, 0.9f, 0.1f, 0.7f, 0.3f};
    int64_t idx[7];
    CHECK_INT(reward_top_k(score, 7, 3, idx), 3);
    CHECK(idx[0] == 1 && idx[1] == 3 && idx[2] == 5); // the tie 0.9/0.9 keeps index order
    CHECK_INT(reward_top_k(score, 7, 10, idx), 7);
    CHECK_INT(idx[6], 4);
    int64_t group[7] = {0, 0, 0, 1, 1, 2, 2}, best[3];
    CHECK_INT(reward_best_of_n(score, group, 7, best), 3);
    CHECK(best[0] == 1 && best[1] == 3 && best[2] == 5);

    // Sampled accuracy, 2 problems x 4 samples. Problem 0: answers 7, 7.0, 8, (none), right: only
    // the 7s -> pass@1 2/4, majority right (7 = 7.0: two votes), pass@4 right. Problem 1: 3, 5, 5,
    // 3, right: the first 3 only -> the vote ties 2-2 and goes to the first answer (3, right).
    // Over the first 2 samples: problem 0 has 7 and 7.0 (pass@1 1, majority right), problem 1
    // has 3 and 5 (pass@1 1/2, a 1-1 tie: 3, right).
    bool right[8] = {1, 1, 0, 0, 1, 0, 0, 0};
    char *answers[8] = {"7", "7.0", "8", NULL, "3", "5", "5", "4"};
    answers[7] = "3"; // same answer as sample 0 but judged wrong: the vote still picks sample 0
    reward_accuracy a = reward_sample_accuracy(right, answers, 2, 4, 4);
    CHECK_NEAR(a.pass1, (0.5 + 0.25) / 2, 0);
    CHECK_NEAR(a.majority, 1.0, 0);
    CHECK_NEAR(a.pass_k, 1.0, 0);
    a = reward_sample_accuracy(right, answers, 2, 4, 2);
    CHECK_NEAR(a.pass1, (1.0 + 0.5) / 2, 0);
    CHECK_NEAR(a.majority, 1.0, 0);
    CHECK_NEAR(a.pass_k, 1.0, 0);
    bool wrong_first[8] = {0, 1, 0, 0, 0, 1, 1, 0}; // the votes' winners (7, then 3) judged wrong
    a = reward_sample_accuracy(wrong_first, answers, 2, 4, 4);
    CHECK_NEAR(a.majority, 0.0, 0);
    CHECK_NEAR(a.pass_k, 1.0, 0);
    // Weighted vote: no weights is the majority vote; weights can outvote a count.
    CHECK_NEAR(reward_vote(right, answers, NULL, 2, 4, 4), 1.0, 0);
    CHECK_NEAR(reward_vote(wrong_first, answers, NULL, 2, 4, 4), 0.0, 0);
    // problem 0: 7 (0.1 + 0.1) against 8 (0.9): 8, wrong; problem 1: 3 (1; its second sample's NaN
    // does not vote) against 5 (0.2 + 0.2): 3, sample 4, right
    float w[8] = {0.1f, 0.1f, 0.9f, 0.5f, 1.0f, 0.2f, 0.2f, NAN};
    CHECK_NEAR(reward_vote(right, answers, w, 2, 4, 4), 0.5, 0);
    w[7] = 1.0f; // sample 7 (3, judged wrong) joins sample 4's answer: 2 against 0.4, sample 4 first
    CHECK_NEAR(reward_vote(right, answers, w, 2, 4, 4), 0.5, 0);
    float tie[8] = {0.5f, 0.5f, 1.0f, 0.0f, -INFINITY, 0.3f, 0.3f, -INFINITY}; // 7 and 8 tie at 1: the first
    CHECK_NEAR(reward_vote(right, answers, tie, 2, 4, 4), 0.5, 0); // problem 1: 5 alone votes, wrong
    CHECK_NEAR(reward_vote(right, answers, tie, 2, 4, 1), 0.5, 0); // sample 4 cannot vote: nothing chosen
    float rewards[3] = {0.9f, 0.2f, 0.7f};
    CHECK_NEAR(reward_min_step(rewards, 3), 0.2f, 0);
    CHECK(isinf(reward_min_step(rewards, 0)) && reward_min_step(rewards, 0) < 0); // no step: ranks last
    return test_summary("test_reward");
}
