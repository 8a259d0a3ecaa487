#!/usr/bin/python3
"""generate.py SIZE B [THREADS] — the PyTorch side of bench/generate: the same Qwen2-shaped model
(bench/model/shapes.h), B prompts of 16 tokens, then 64 greedy tokens each with a KV cache,
written the way a PyTorch user would (nn.Linear, cached keys and values concatenated per step,
torch.no_grad). Times the 64 decode steps. Prints one JSON line. Debian's python3 (python3-torch)."""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import train_step
from train_step import SHAPES, RMSNorm, rope

PROMPT, NEW = 16, 64


class Block(train_step.Block):
    """train_step's block (the same layers), with a forward that uses and extends a KV cache."""

    def forward(self, x, cos, sin, cache):
        B, T, _ = x.shape
        h = self.ln1(x)
        q = rope(self.q(h).view(B, T, self.NH, self.HS).transpose(1, 2), cos, sin)
        k = rope(self.k(h).view(B, T, self.NKV, self.HS).transpose(1, 2), cos, sin)
        v = self.v(h).view(B, T, self.NKV, self.HS).transpose(1, 2)
        if cache:
            k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
        rep = self.NH // self.NKV
        kk, vv = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        att = q @ kk.transpose(-1, -2) / self.HS**0.5
        if T > 1:
            att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        y = (F.softmax(att, -1) @ vv).transpose(1, 2).reshape(B, T, -1)
        x = x + self.o(y)
        h = self.ln2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h)), (k, v)


def main():
    size, B = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    C, L, NH, NKV, HS, FF, V = SHAPES[size][:7]
    torch.manual_seed(1)
    emb = nn.Embedding(V, C)
    blocks = nn.ModuleList([Block(C, NH, NKV, HS, FF) for _ in range(L)])
    norm = RMSNorm(C)
    inv = 1.0 / (1e6 ** (torch.arange(0, HS, 2).float() / HS))

    def cossin(pos):
        f = torch.outer(pos.float(), inv)
        f = torch.cat([f, f], -1)
        return f.cos(), f.sin()

    def step(ids, pos, caches):
        cos, sin = cossin(pos)
        x = emb(ids)
        new = []
        for blk, c in zip(blocks, caches):
            x, kv = blk(x, cos, sin, c)
            new.append(kv)
        return norm(x[:, -1]) @ emb.weight.t(), new

    with torch.no_grad():
        ids = torch.randint(0, V, (B, PROMPT))
        t0 = time.perf_counter()
        logits, caches = step(ids, torch.arange(PROMPT), [None] * L)
        t1 = time.perf_counter()
        for k in range(NEW):
            nxt = logits.argmax(-1, keepdim=True)
            logits, caches = step(nxt, torch.tensor([PROMPT + k]), caches)
        t2 = time.perf_counter()
    print(json.dumps({"size": size, "B": B, "prefill_s": t1 - t0, "decode_s": t2 - t1, "tokens_per_s": B * NEW / (t2 - t1)}))


if __name__ == "__main__":
    main()
