#!/usr/bin/env python3
"""The case for in-graph probe reductions on a GPU, measured with PyTorch alone (no Vigil, no JVM).

For all-MiniLM-L6-v2's real tap set (44 tensors: 6 attention maps [B,12,T,T], 13 residual [B,T,384],
6 GELU outputs [B,T,1536], 18 other matmul inputs [B,T,384], the pooler input [B,384]) at B x T of
8 x 128 and 32 x 512, times on the GPU:
  copy    every tap copied to host memory (pageable and pinned), what the host strategy pays before
          any statistic is computed;
  reduce  the per-request reductions of the in-graph strategy on the device (masked per-channel
          max/min/sum|x| and moments sum x..x^4 over unmasked tokens, per-token max|h| and the exact
          per-sequence median by topk, token cosine as |sum x_hat|^2, attention key mass, sink mass and
          sum p log p, |x| counts per exponent bucket), then the small results copied to host.
Prints a Markdown table and writes it, with the raw numbers as JSON, under $OUT (or ./out).
Usage: python3 scripts/gpu-premise.py [repeats]   (needs a CUDA GPU and PyTorch)
"""
import json
import os
import statistics
import sys
import time

import torch

HIDDEN, FFN, HEADS, LAYERS = 384, 1536, 12, 6


def tap_set(batch, tokens, dev, gen):
    """The 44 tapped tensors of one MiniLM request, with realistic value shapes, and the attention mask."""
    taps = {}
    for layer in range(LAYERS):
        logits = torch.randn(batch, HEADS, tokens, tokens, device=dev, generator=gen)
        logits[..., 0] += 4.0  # an attention sink on the first key
        taps[f"attn{layer}"] = torch.softmax(logits, dim=-1)
        taps[f"gelu{layer}"] = torch.nn.functional.gelu(torch.randn(batch, tokens, FFN, device=dev, generator=gen))
        for name in ("ln_in", "context", "ln_attn"):
            taps[f"{name}{layer}"] = torch.randn(batch, tokens, HIDDEN, device=dev, generator=gen)
    for site in range(2 * LAYERS + 1):
        h = torch.randn(batch, tokens, HIDDEN, device=dev, generator=gen)
        h[:, 0, 7] *= 300.0  # a massive activation on the first token
        taps[f"res{site}"] = h
    taps["pooler"] = torch.randn(batch, HIDDEN, device=dev, generator=gen)
    lengths = torch.randint(tokens // 2, tokens + 1, (batch,), device=dev, generator=gen)
    mask = (torch.arange(tokens, device=dev)[None, :] < lengths[:, None]).to(torch.float32)
    return taps, mask


def row_reductions(x, mask):
    """Per-channel and per-token reductions of a [B,T,C] (or [B,C]) site over unmasked tokens."""
    if x.dim() == 2:
        x = x[:, None, :]
        mask = torch.ones(x.shape[0], 1, device=x.device)
    m = mask[..., None]
    big = torch.finfo(torch.float32).max
    a = x.abs()
    out = [
        torch.where(m > 0, x, -big).amax(dim=(0, 1)),
        torch.where(m > 0, x, big).amin(dim=(0, 1)),
        (a * m).sum(dim=(0, 1)),
        (x * m).sum(dim=(0, 1)),
    ]
    x2 = x * x * m
    out += [x2.sum(dim=(0, 1)), (x2 * x).sum(dim=(0, 1)), (x2 * x * x).sum(dim=(0, 1))]
    tok_max = (a.amax(dim=2) * mask)  # [B,T]
    # exact median per sequence by top-k: padded tokens sort last, k = half of each row's length
    k = int(mask.sum(dim=1).max().item()) // 2 + 1
    out.append(torch.topk(tok_max, k, dim=1).values[:, -1])
    xhat = x / x.norm(dim=2, keepdim=True).clamp(min=1e-12)
    out.append(((xhat * m).sum(dim=1) ** 2).sum(dim=1))
    exponents = torch.frexp(a[m.expand_as(a) > 0])[1].clamp(-64, 64) + 64
    out.append(torch.bincount(exponents.flatten().long(), minlength=129))
    return out


def attention_reductions(p, mask):
    """Key mass, first-key (sink) mass and sum p log p per head over unmasked query rows."""
    q = mask[:, None, :, None]
    plogp = torch.where(p > 0, p * torch.log(p), torch.zeros_like(p))
    return [(p * q).sum(dim=2).sum(dim=0), (p[..., 0] * mask[:, None, :]).sum(dim=(0, 2)),
            (plogp * q).sum(dim=(0, 2, 3))]


def reduce_all(taps, mask):
    results = []
    for name, t in taps.items():
        results += attention_reductions(t, mask) if name.startswith("attn") else row_reductions(t, mask)
    return results


def timed(fn, repeats):
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def measure(batch, tokens, repeats):
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev).manual_seed(1)
    taps, mask = tap_set(batch, tokens, dev, gen)
    tap_bytes = sum(t.numel() * t.element_size() for t in taps.values())
    pinned = {n: torch.empty(t.shape, dtype=t.dtype, pin_memory=True) for n, t in taps.items()}

    def copy_pageable():
        for t in taps.values():
            t.to("cpu")

    def copy_pinned():
        for n, t in taps.items():
            pinned[n].copy_(t, non_blocking=True)

    small = {}

    def reduce_and_copy():
        small["r"] = [r.to("cpu") for r in reduce_all(taps, mask)]

    for fn in (copy_pageable, copy_pinned, reduce_and_copy):
        fn()  # warm-up: kernels, allocator, pinned pages
    rows = {}
    for label, fn in (("copy taps to host (pageable)", copy_pageable),
                      ("copy taps to host (pinned)", copy_pinned),
                      ("reduce on GPU + copy results", reduce_and_copy)):
        rows[label] = timed(fn, repeats)
    result_bytes = sum(r.numel() * r.element_size() for r in small["r"])
    return {"batch": batch, "tokens": tokens, "tap_bytes": tap_bytes, "result_bytes": result_bytes,
            "ms": rows}


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    if not torch.cuda.is_available():
        sys.exit("gpu-premise: no CUDA device")
    out_dir = os.environ.get("OUT", "out")
    os.makedirs(out_dir, exist_ok=True)
    results = [measure(8, 128, repeats), measure(32, 512, repeats)]
    lines = [f"GPU: {torch.cuda.get_device_name(0)}, PyTorch {torch.__version__}, CUDA {torch.version.cuda}, "
             f"{repeats} repeats, median [min-max] ms", "",
             "| B x T | taps | results | what | ms | GB/s of taps |", "|---|---|---|---|---|---|"]
    for r in results:
        for label, times in r["ms"].items():
            med = statistics.median(times)
            lines.append(f"| {r['batch']} x {r['tokens']} | {r['tap_bytes'] / 1e6:.0f} MB | "
                         f"{r['result_bytes'] / 1e6:.2f} MB | {label} | {med:.2f} [{min(times):.2f}-{max(times):.2f}] | "
                         f"{r['tap_bytes'] / med / 1e6:.0f} |")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(out_dir, "gpu-premise.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(out_dir, "gpu-premise.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
