#!/usr/bin/python3
"""train_step.py SIZE [THREADS] — the PyTorch side of bench/train_step: the same Qwen2-shaped model
(tied embeddings, q/k/v bias, RMSNorm, RoPE, causal GQA attention, SwiGLU), the same batch shape,
fp32, and the same step (forward, mean cross-entropy, backward, clip_grad_norm_(1.0), AdamW) as
bench/model/bench_model.c (train), written the way a PyTorch user would (nn.Linear, autograd,
torch.optim.AdamW). Prints one JSON line. Shapes: bench/model/shapes.h.
Run with Debian's python3 (python3-torch 1.13: no scaled_dot_product_attention yet)."""
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = {  # name: C, L, NH, NKV, HS, F, V, B, T, steps
    "1m": (128, 4, 4, 2, 32, 384, 1024, 16, 128, 10),
    "25m": (512, 6, 8, 4, 64, 1536, 12000, 8, 256, 4),
    "qwen05b": (896, 2, 14, 2, 64, 4864, 151936, 2, 256, 2),
}


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


class RMSNorm(nn.Module):
    def __init__(self, n, eps=1e-6):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(n)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, cos, sin):
    h = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., h:], x[..., :h]], -1) * sin


class Block(nn.Module):
    def __init__(self, C, NH, NKV, HS, FF):
        super().__init__()
        self.NH, self.NKV, self.HS = NH, NKV, HS
        self.ln1, self.ln2 = RMSNorm(C), RMSNorm(C)
        self.q, self.k, self.v = nn.Linear(C, NH * HS), nn.Linear(C, NKV * HS), nn.Linear(C, NKV * HS)
        self.o = nn.Linear(NH * HS, C, bias=False)
        self.gate, self.up = nn.Linear(C, FF, bias=False), nn.Linear(C, FF, bias=False)
        self.down = nn.Linear(FF, C, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        h = self.ln1(x)
        q = self.q(h).view(B, T, self.NH, self.HS).transpose(1, 2)
        k = self.k(h).view(B, T, self.NKV, self.HS).transpose(1, 2)
        v = self.v(h).view(B, T, self.NKV, self.HS).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        rep = self.NH // self.NKV
        k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(self.HS) + mask
        a = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, -1)
        x = x + self.o(a)
        h = self.ln2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Model(nn.Module):
    def __init__(self, C, L, NH, NKV, HS, FF, V):
        super().__init__()
        self.emb = nn.Embedding(V, C)
        self.blocks = nn.ModuleList(Block(C, NH, NKV, HS, FF) for _ in range(L))
        self.norm = RMSNorm(C)
        self.HS = HS

    def forward(self, ids):
        T = ids.shape[1]
        inv = 1.0 / (1e6 ** (torch.arange(0, self.HS, 2).float() / self.HS))
        ang = torch.arange(T).float()[:, None] * inv
        emb = torch.cat([ang, ang], -1)
        cos, sin = emb.cos(), emb.sin()
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = self.emb(ids)
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        return self.norm(x) @ self.emb.weight.T  # tied head


def main():
    name = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    C, L, NH, NKV, HS, FF, V, B, T, steps = SHAPES[name]
    rss0 = rss_mib()
    model = Model(C, L, NH, NKV, HS, FF, V)
    with torch.no_grad():  # as the C side: N(0, 0.02) matrices, zero biases, unit norms
        for n, p in model.named_parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.02)
            elif n.endswith("bias"):
                p.zero_()
    nparams = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.9, 0.95), eps=1e-8)
    ids = torch.randint(0, V, (B, T))
    tgt = torch.cat([ids[:, 1:], torch.full((B, 1), -100)], 1)
    total = 0.0
    for k in range(steps + 1):  # step 0 warms up
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(ids).view(-1, V), tgt.view(-1), ignore_index=-100)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if k > 0:
            total += time.perf_counter() - t0
    dt = total / steps
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"size": name, "params": nparams, "B": B, "T": T, "threads": threads, "step_s": round(dt, 4),
                      "tokens_per_s": round(B * T / dt, 1), "peak_rss_mib": round(peak, 1),
                      "peak_over_start_mib": round(peak - rss0, 1), "loss": round(loss.item(), 4)}))


if __name__ == "__main__":
    main()
