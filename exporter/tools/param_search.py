"""Brute force over "obvious" encoder-classifier configurations for the seeds' parameter table.

For every (dim, layers, mlp width, classes, bias/norm/position choices, EFT filter layout) the vocabulary is
solved from the 512-token count and the configuration is kept when it also gives the 1024-token count.
Run: python3 exporter/tools/param_search.py   (see docs/EFT.md)
"""
STD = {512: 438114, 1024: 454498}
EFT = {512: 751978, 1024: 1030506}
def layer_common(D, F, ln_bias, mlp_bias):
    ln = 2 * (2*D if ln_bias else D)
    mlp = 2*D*F + ((F + D) if mlp_bias else 0)
    return ln + mlp
def attn(D, bias):
    return 4*D*D + (4*D if bias else 0)
def filt(T, D, rows, parts):
    r = {"T/2+1": T//2 + 1, "T": T, "T/2": T//2}[rows]
    return r * D * parts
sols = {"std": [], "eft": []}
for D in (16, 32, 48, 64, 128):
  for L in range(1, 25):
    for Fm in (1, 2, 4, 8):
      F = Fm*D
      for C in range(2, 21):
        for head_bias in (True, False):
          for fin in (0, 1, 2):     # final norm: none, gamma only, gamma+beta
            for ln_bias in (True, False):
              for mlp_bias in (True, False):
                for pos in (0, 1):
                  for kind in ("std", "eft"):
                    variants = [("attn_bias", True), ("attn_bias", False)] if kind == "std" else \
                        [(r, p) for r in ("T/2+1", "T", "T/2") for p in (1, 2)]
                    for v in variants:
                      def count(T, V):
                        n = V*D + pos*T*D + fin*D + D*C + (C if head_bias else 0)
                        per = layer_common(D, F, ln_bias, mlp_bias)
                        per += attn(D, v[1]) if kind == "std" else filt(T, D, v[0], v[1])
                        return n + L*per
                      target = STD if kind == "std" else EFT
                      rest = target[512] - count(512, 0)
                      if rest <= 0 or rest % D: continue
                      V = rest // D
                      if count(1024, V) == target[1024]:
                        sols[kind].append(dict(D=D, L=L, F=F, C=C, V=V, head_bias=head_bias, final_norm=fin,
                                               ln_bias=ln_bias, mlp_bias=mlp_bias, pos=pos, variant=v))
for k in sols:
    print(k, len(sols[k]), "solutions")
nice = {256, 257, 258, 512, 1000, 1024, 2000, 4096, 5000, 8192, 10000, 16384, 20000, 30000, 30522, 32000}
for k in sols:
    for s in sols[k]:
        if s["V"] in nice or s["V"] % 1000 == 0:
            print(k, s)
# joint: same D, L, F, C, V, biases, final norm, pos
keys = ("D","L","F","C","V","head_bias","final_norm","ln_bias","mlp_bias","pos")
std_set = {tuple(s[x] for x in keys) for s in sols["std"]}
joint = [s for s in sols["eft"] if tuple(s[x] for x in keys) in std_set]
print("joint", len(joint))
for s in joint[:20]: print(s)
from collections import Counter
print("std (D,pos) combos", Counter((s["D"], s["pos"]) for s in sols["std"]))
print("eft (D,L,pos,variant)", Counter((s["D"], s["L"], s["pos"], s["variant"]) for s in sols["eft"]))
print("--- EFT as specified (T/2+1 complex filter, pos, all biases, final LN gamma+beta)")
for s in sols["eft"]:
    if s["variant"] == ("T/2+1", 2) and s["pos"] == 1 and s["final_norm"] == 2 and s["ln_bias"] and s["mlp_bias"] and s["head_bias"]:
        print(s)
print("--- std as our prenorm (all biases, final LN gamma+beta)")
for s in sols["std"]:
    if s["final_norm"] == 2 and s["ln_bias"] and s["mlp_bias"] and s["head_bias"] and s["variant"][1]:
        print(s)
