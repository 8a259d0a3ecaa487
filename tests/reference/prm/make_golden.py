#!/usr/bin/python3
"""make_golden.py — released PRMs scored the way their authors score them, for tests/test_prm_golden.c.

    /usr/bin/python3 tests/reference/prm/make_golden.py      (Debian's python3-torch, python3-jinja2)

Writes under tests/data/prm/:
  class2/   a tiny random Qwen2ForProcessRewardModel laid out as Qwen2.5-Math-PRM-7B is: a byte-level
            tokenizer with <|im_start|>, <|im_end|>, <extra_0>, and a Qwen2.5-Math-like chat template
            (qwen2.5-instruct.jinja with Qwen2.5-Math's default system turn, "Please reason step by
            step, and put your final answer within \\boxed{}.")
  scalar/   a tiny random Qwen2 backbone with a Linear(h, 1) reward head, published as
            ReasonFlux-PRM-1.5B is (config.json Qwen2ForCausalLM + reward_head.pt, in a temporary
            folder) and converted by scripts/convert_reasonflux_prm_1p5b.py
  golden.json  per case the problem, the steps and the rewards computed the official way:
    class2 (Qwen2.5-Math-PRM-7B's model card; ReasonFlux-PRM-7B's README): text =
      apply_chat_template([system?, user: problem, assistant: "<extra_0>".join(steps) + "<extra_0>"],
      tokenize=False, add_generation_prompt=False); ids = tokenizer.encode(text); step rewards =
      make_step_rewards: softmax(logits)[:, 1] at the ids equal to <extra_0>. "qwen" cases pass the
      card's explicit system message, "reasonflux" cases none (the template inserts its default).
    scalar (ReasonFlux_PRM/utils/rm_utils.py, RewardModel): ids = tokenizer(problem + completion),
      completion = "\\n\\n".join(steps); reward = sigmoid(reward_head(hidden_states[-1][last])).
      "step_extension": fluxrl's own per-step read-outs (sigmoid at each step's last token, same input).

The transformer is tests/reference/model/make_golden.py's independent PyTorch implementation; the
template is rendered by python3-jinja2 set up as transformers does (tests/reference/jinja); the
tokenizer has no merges, so its ids are the added tokens and the bytes of the text, computed here.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")
OUT = os.path.join(ROOT, "tests", "data", "prm")


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ref = load("model_ref", os.path.join(HERE, "..", "model", "make_golden.py"))
jinja_ref = load("jinja_ref", os.path.join(HERE, "..", "jinja", "make_golden.py"))
torch.set_num_threads(1)

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<extra_0>"]  # ids 256..259
QWEN_MATH_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."


def bytes_to_unicode():  # GPT-2's byte-level alphabet
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def tokenizer_json():
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    bl = {"add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 256 + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, s in enumerate(SPECIALS)],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "ByteLevel", **bl},
        "post_processor": {"type": "ByteLevel", **bl},
        "decoder": {"type": "ByteLevel", **bl},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": []},
    }


def encode(text):
    """The tokenizer above: added tokens split out, every other byte its own id (no merges)."""
    ids, i = [], 0
    raw = text.encode("utf-8")
    while i < len(raw):
        for k, s in enumerate(SPECIALS):
            sb = s.encode()
            if raw.startswith(sb, i):
                ids.append(256 + k)
                i += len(sb)
                break
        else:
            ids.append(raw[i])
            i += 1
    return ids


def template():
    src = open(os.path.join(ROOT, "tests", "data", "jinja", "templates", "qwen2.5-instruct.jinja"), encoding="utf-8").read()
    t = src.replace("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.", "Please reason step by step, "
                    "and put your final answer within \\\\boxed{}.")
    assert t != src
    return t


QWEN2 = {"model_type": "qwen2", "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
         "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8, "vocab_size": 260,
         "rope_theta": 10000.0, "rms_norm_eps": 1e-6, "qkv_bias": True, "qk_norm": False,
         "tie_word_embeddings": True}


def params(head, seed):
    gen = torch.Generator().manual_seed(seed)
    P = {}
    for n, shape in ref.param_shapes(QWEN2, head).items():
        if n.endswith("norm.weight") or "layernorm" in n:
            P[n] = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        elif len(shape) == 1:
            P[n] = 0.1 * torch.randn(shape, generator=gen)
        else:
            P[n] = 0.3 * torch.randn(shape, generator=gen)
    return P, gen


def config(arch):
    c = QWEN2
    return {"architectures": [arch], "model_type": "qwen2", "hidden_size": c["hidden_size"],
            "intermediate_size": c["intermediate_size"], "num_hidden_layers": c["num_hidden_layers"],
            "num_attention_heads": c["num_attention_heads"], "num_key_value_heads": c["num_key_value_heads"],
            "max_position_embeddings": 1024, "rope_theta": c["rope_theta"], "rms_norm_eps": c["rms_norm_eps"],
            "tie_word_embeddings": True, "vocab_size": c["vocab_size"], "hidden_act": "silu",
            "torch_dtype": "float32", "use_sliding_window": False, "bos_token_id": 256, "eos_token_id": 258}


def write_folder(d, arch, tensors, chat_template):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config(arch), f, indent=2)
        f.write("\n")
    ref.save_safetensors(os.path.join(d, "model.safetensors"), tensors)
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f, ensure_ascii=False)
    tc = {"add_bos_token": False, "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
          "tokenizer_class": "Qwen2Tokenizer"}
    if chat_template:
        tc["chat_template"] = chat_template
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f, indent=2, ensure_ascii=False)
        f.write("\n")


def one_seq(ids):
    t = torch.tensor([ids])
    return t, torch.arange(len(ids))[None], torch.zeros(1, len(ids), dtype=torch.int64)


def hidden(P, ids):
    """Final normed hidden states (T, C): the LM path with an identity head."""
    C = QWEN2["hidden_size"]
    Q = dict(P, **{"lm_head.weight": torch.eye(C)})
    return ref.forward(Q, dict(QWEN2, tie_word_embeddings=False), "lm", *one_seq(ids))[0]


def make_step_rewards(logits, token_masks):  # Qwen2.5-Math-PRM-7B's model card, verbatim in effect
    probabilities = torch.nn.functional.softmax(logits, dim=-1)
    probabilities = probabilities * token_masks.unsqueeze(-1)
    res = []
    for i in range(probabilities.size(0)):
        sample = probabilities[i]
        res.append(sample[sample != 0].view(-1, 2)[:, 1].tolist())
    return res


CASES = [
    ("Compute 12+3-4.", ["12+3 = 15", "15-4 = 11", "The answer is \\boxed{11}."]),
    ("Sue has 18 flamingos; a third are painted white. How many stay pink?",
     ["A third of 18 is 6.", "18 - 6 = 12\nSo 12 stay pink.", "The answer is 12."]),
    ("x + 3 = 10. Find x.", ["x = 7"]),
    ("Résumé: café costs 3 €, tea 2 €. Total?", ["3 € + 2 € = 5 €.", "  The total is 5 €.  ", "Done."]),
]


def main():
    torch.manual_seed(0)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    chat = template()
    sep = 256 + SPECIALS.index("<extra_0>")

    # 2-class, the Qwen2.5-Math-PRM layout.
    P2, _ = params("prm", 11)
    write_folder(os.path.join(OUT, "class2"), "Qwen2ForProcessRewardModel", P2, chat)
    golden = {"class2": [], "scalar": [], "torch": torch.__version__}
    specials = {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
    for style in ("qwen", "reasonflux", "other_system"):
        for problem, steps in CASES:
            msgs = [{"role": "user", "content": problem},
                    {"role": "assistant", "content": "<extra_0>".join(steps) + "<extra_0>"}]
            system = {"qwen": QWEN_MATH_SYSTEM, "reasonflux": None, "other_system": "Check each step."}[style]
            if system:
                msgs.insert(0, {"role": "system", "content": system})
            r = jinja_ref.render(chat, {"messages": msgs, "add_generation_prompt": False, "tools": None,
                                        "documents": None, **specials})
            text = r["text"]
            ids = encode(text)
            with torch.no_grad():
                logits = ref.forward(P2, QWEN2, "prm", *one_seq(ids))
            rewards = make_step_rewards(logits, torch.tensor([ids]) == sep)[0]
            assert len(rewards) == len(steps)
            golden["class2"].append({"style": style, "system": system if style == "other_system" else None,
                                     "problem": problem, "steps": steps, "text": text, "step_rewards": rewards})

    # Scalar, the ReasonFlux-PRM-1.5B layout: the published folder, then the converter.
    PS, gen = params("lm", 12)
    w = 0.5 * torch.randn(1, QWEN2["hidden_size"], generator=gen)
    b = 0.5 * torch.randn(1, generator=gen)
    with tempfile.TemporaryDirectory() as tmp:
        pub = os.path.join(tmp, "ReasonFlux-PRM-1.5B")
        write_folder(pub, "Qwen2ForCausalLM", PS, None)
        head = torch.nn.Linear(QWEN2["hidden_size"], 1)
        with torch.no_grad():
            head.weight.copy_(w)
            head.bias.copy_(b)
        torch.save(head.state_dict(), os.path.join(pub, "reward_head.pt"))
        conv = os.path.join(ROOT, "scripts", "convert_reasonflux_prm_1p5b.py")
        subprocess.run([sys.executable, conv, pub, os.path.join(OUT, "scalar")], check=True)
    for problem, steps in CASES:
        text = problem + "\n\n".join(steps)
        ids = encode(text)
        with torch.no_grad():
            h = hidden(PS, ids)
            v = (h @ w.T + b)[:, 0]
        # fluxrl's extension: each step read at its last token (every id here is one byte).
        ends, at = [], len(problem.encode())
        for k, s in enumerate(steps):
            at += len(s.encode()) + (2 if k else 0)
            ends.append(at - 1)
        golden["scalar"].append({"problem": problem, "steps": steps, "reward": torch.sigmoid(v[-1]).item(),
                                 "step_extension": [torch.sigmoid(v[e]).item() for e in ends]})
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote %s: %d class2 and %d scalar cases" % (OUT, len(golden["class2"]), len(golden["scalar"])))


if __name__ == "__main__":
    main()
