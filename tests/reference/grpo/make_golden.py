#!/usr/bin/python3
"""Golden data for tests/test_grpo.c: GRPO advantages and the policy loss with its gradients,
computed independently with PyTorch autograd in float64 from float32 inputs.

Run with Debian's python3 (python3-torch):  /usr/bin/python3 tests/reference/grpo/make_golden.py
Writes tests/data/grpo/golden.json.
"""
import json
import os

import numpy as np
import torch

rng = np.random.default_rng(20261126)


def f32(a):
    return [float(x) for x in np.asarray(a, dtype=np.float32)]


def group_ids(sizes):
    return [g for g, n in enumerate(sizes) for _ in range(n)]


def adv_cases():
    cases = []
    for sizes in ([4, 4, 4], [1, 3, 8], [2, 2, 5, 6]):
        r = np.asarray(rng.integers(0, 3, sum(sizes)), dtype=np.float32) * 0.5
        r[:sizes[0]] = 1.0  # a group with all rewards equal
        groups = group_ids(sizes)
        eps = 1e-6
        std, nostd, rloo = [], [], []
        for g, n in enumerate(sizes):
            x = torch.tensor(r[np.asarray(groups) == g], dtype=torch.float64)
            m = x.mean()
            s = x.std() if n > 1 else torch.tensor(0.0, dtype=torch.float64)  # torch.std: unbiased
            std += ((x - m) / (s + eps)).tolist()
            nostd += (x - m).tolist()
            rloo += [float(x[i] - (x.sum() - x[i]) / (n - 1)) if n > 1 else 0.0 for i in range(n)]
        cases.append({"rewards": f32(r), "groups": groups, "eps": eps, "grpo_std": std, "grpo_nostd": nostd, "rloo": rloo})
    return cases


def process_cases():
    cases = []
    for sizes, with_outcome in (([3, 2], False), ([4], True), ([2, 1, 3], True)):
        groups = group_ids(sizes)
        n = len(groups)
        lens = [int(x) for x in rng.integers(0, 12, n)]
        ends, rewards = [], []
        for L in lens:
            k = int(rng.integers(0, min(L, 4) + 1)) if L > 0 else 0
            e = sorted(rng.choice(np.arange(1, L + 1), size=k, replace=False).tolist()) if k else []
            ends.append([int(x) for x in e])
            rewards.append(f32(rng.random(k)))
        outcome = f32(rng.normal(size=n)) if with_outcome else None
        eps = 1e-6
        token_adv = []
        for i in range(n):
            g = groups[i]
            allr = torch.tensor([x for j in range(n) if groups[j] == g for x in rewards[j]], dtype=torch.float64)
            mean = allr.mean() if len(allr) else torch.tensor(0.0, dtype=torch.float64)
            std = allr.std() if len(allr) > 1 else torch.tensor(0.0, dtype=torch.float64)
            for t in range(lens[i]):
                # every step whose last token (end - 1) is at or after t
                a = sum(float((rewards[i][j] - mean) / (std + eps)) for j in range(len(ends[i])) if ends[i][j] - 1 >= t)
                token_adv.append(a + (outcome[i] if outcome else 0.0))
        cases.append({"groups": groups, "response_len": lens, "step_end": ends, "step_reward": rewards,
                      "outcome_adv": outcome, "eps": eps, "token_adv": token_adv})
    return cases


def loss_case(params, seq_lens, use_mask, use_w):
    N = sum(seq_lens)
    start = np.cumsum([0] + seq_lens[:-1]).tolist()
    old = f32(rng.normal(-2.0, 1.0, N))
    logp = f32(np.asarray(old) + rng.uniform(-0.5, 0.5, N))
    ref = f32(np.asarray(logp) + rng.uniform(-0.3, 0.3, N))
    ent = f32(rng.uniform(0.0, 3.0, N))
    adv = f32(rng.normal(0.0, 1.0, N))
    w = f32(rng.uniform(0.5, 2.0, N)) if use_w else None
    mask = [int(x) for x in (rng.random(N) > 0.25)] if use_mask else None
    global_tokens = (sum(mask) if mask else N) + 7.0  # other ranks' tokens
    global_seqs = len(seq_lens) + 2.0

    lp = torch.tensor(logp, dtype=torch.float64, requires_grad=True)
    H = torch.tensor(ent, dtype=torch.float64, requires_grad=True)
    o, r_, A = (torch.tensor(x, dtype=torch.float64) for x in (old, ref, adv))
    W = torch.tensor(w, dtype=torch.float64) if w else torch.ones(N, dtype=torch.float64)
    M = torch.tensor(mask, dtype=torch.float64) if mask else torch.ones(N, dtype=torch.float64)
    ratio = torch.exp(lp - o)
    pg = torch.maximum(-A * ratio, -A * torch.clamp(ratio, 1 - params["eps_low"], 1 + params["eps_high"]))
    if params["dual_clip"] > 1:
        pg = torch.where(A < 0, torch.minimum(pg, -A * params["dual_clip"]), pg)
    d = lp - r_
    kl = {0: d, 1: 0.5 * d * d, 2: torch.exp(-d) + d - 1}[params["kl"]]
    tok = W * pg + params["beta_kl"] * kl - params["beta_ent"] * H
    loss = torch.tensor(0.0, dtype=torch.float64)
    for s, L in zip(start, seq_lens):
        sl = slice(s, s + L)
        if params["agg"] == 0:
            loss = loss + (tok[sl] * M[sl]).sum() / global_tokens
        elif params["agg"] == 1:
            cnt = M[sl].sum()
            if cnt > 0:
                loss = loss + (tok[sl] * M[sl]).sum() / cnt / global_seqs
        else:
            loss = loss + (tok[sl] * M[sl]).sum() / params["max_len"] / global_seqs
    loss.backward()
    return {"params": params, "start": start, "len": seq_lens, "logp": logp, "old_logp": old, "ref_logp": ref,
            "entropy": ent, "adv": adv, "is_weight": w, "mask": mask, "global_tokens": global_tokens,
            "global_seqs": global_seqs, "loss": float(loss), "dlogp": lp.grad.tolist(), "dent": H.grad.tolist()}


def loss_cases():
    cases = []
    base = {"eps_low": 0.2, "eps_high": 0.28, "dual_clip": 0.0, "beta_kl": 0.0, "kl": 0, "beta_ent": 0.0, "agg": 0,
            "max_len": 64}
    variants = [
        {},
        {"agg": 1},
        {"agg": 2},
        {"beta_kl": 0.05, "kl": 0},
        {"beta_kl": 0.1, "kl": 1, "agg": 1},
        {"beta_kl": 0.04, "kl": 2, "beta_ent": 0.01},
        {"dual_clip": 3.0, "eps_low": 0.1, "eps_high": 0.1},
        {"beta_kl": 0.02, "kl": 2, "dual_clip": 2.0, "agg": 2, "beta_ent": 0.005},
    ]
    for k, v in enumerate(variants):
        p = dict(base, **v)
        lens = [int(x) for x in rng.integers(1, 20, 5)]
        cases.append(loss_case(p, lens, use_mask=k % 2 == 1, use_w=k % 3 == 2))
    return cases


def rebel_cases():
    """REBEL: every pair (a < b) of one group regresses (D_a - D_b) / eta onto R_a - R_b, where D_s is
    the sum over sequence s of logp - old_logp; explicit pairs, autograd on the token log-probs."""
    rr = np.random.default_rng(20261205)  # its own stream: the cases above keep theirs
    cases = []
    for sizes, eta, extra in (([2], 1.0, 0), ([3, 1, 4], 0.5, 5), ([2, 2, 2, 2], 0.01, 0), ([6], 3.0, 11)):
        groups = group_ids(sizes)
        S = len(groups)
        lens = [int(x) for x in rr.integers(1, 15, S)]
        N = sum(lens)
        start = np.cumsum([0] + lens[:-1]).tolist()
        old = f32(rr.normal(-2.0, 1.0, N))
        logp = f32(np.asarray(old) + rr.uniform(-0.3, 0.3, N))
        reward = f32(rr.normal(0.0, 1.0, S))
        pairs = sum(n * (n - 1) // 2 for n in sizes)
        global_pairs = float(pairs + extra)  # other ranks' pairs
        lp = torch.tensor(logp, dtype=torch.float64, requires_grad=True)
        o = torch.tensor(old, dtype=torch.float64)
        D = [(lp[s:s + L] - o[s:s + L]).sum() for s, L in zip(start, lens)]
        loss = torch.tensor(0.0, dtype=torch.float64)
        for a in range(S):
            for b in range(a + 1, S):
                if groups[a] == groups[b]:
                    u = (D[a] - D[b]) / eta - (float(reward[a]) - float(reward[b]))
                    loss = loss + u * u
        loss = loss / global_pairs
        loss.backward()
        cases.append({"groups": groups, "len": lens, "logp": logp, "old_logp": old, "reward": reward, "eta": eta,
                      "pairs": pairs, "global_pairs": global_pairs, "loss": float(loss), "dlogp": lp.grad.tolist()})
    return cases


out = {"adv_cases": adv_cases(), "process_cases": process_cases(), "loss_cases": loss_cases(),
       "rebel_cases": rebel_cases()}
path = os.path.join(os.path.dirname(__file__), "..", "..", "data", "grpo", "golden.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", os.path.normpath(path))
