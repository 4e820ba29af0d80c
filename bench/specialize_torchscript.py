#!/usr/bin/python3
"""Builds the TorchScript baselines of bench/specialize.cpp: each workload as a plain PyTorch model
with the weights the C++ side wrote (a list of tensors: parameters, then buffers, in the order of
the modify model's parameters() and buffers()), scripted, frozen and optimised for inference.

usage: specialize_torchscript.py <directory> <workload>...
  reads <directory>/<workload>.weights.pt, writes <directory>/<workload>.ts.pt
"""
import math
import sys

import torch
from torch import nn


class Mlp(nn.Sequential):
    def __init__(self, width):
        layers = []
        for _ in range(8):
            layers += [nn.Linear(width, width), nn.ReLU()]
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.block1 = ResidualBlock(16)
        self.down = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.bn_down = nn.BatchNorm2d(32)
        self.block2 = ResidualBlock(32)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        x = self.block1(x)
        x = torch.relu(self.bn_down(self.down(x)))
        x = self.block2(x)
        return self.head(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


class Attention(nn.Module):
    def __init__(self, c, heads, tokens):
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)
        self.register_buffer("mask", torch.ones(tokens, tokens, dtype=torch.bool).triu(1), persistent=False)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q = q.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        k = k.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        v = v.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.mask[:t, :t], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, c, heads, tokens):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c)
        self.attn = Attention(c, heads, tokens)
        self.ln_2 = nn.LayerNorm(c)
        self.c_fc = nn.Linear(c, 4 * c)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * c, c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(self.gelu(self.c_fc(self.ln_2(x))))


class Gpt(nn.Module):
    def __init__(self, layers=4, c=128, heads=4, tokens=64, vocab=512):
        super().__init__()
        self.h = nn.Sequential(*[Block(c, heads, tokens) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(c)
        self.lm_head = nn.Linear(c, vocab, bias=False)

    def forward(self, x):
        return self.lm_head(self.ln_f(self.h(x)))


WORKLOADS = {
    "mlp64_b1": lambda: Mlp(64),
    "mlp512_b32": lambda: Mlp(512),
    "cnn_b1": Cnn,
    "gpt_b1": Gpt,
}


def main(directory, names):
    torch.set_num_threads(1)
    for name in names:
        model = WORKLOADS[name]().eval()
        tensors = torch.load(f"{directory}/{name}.weights.pt")
        targets = list(model.parameters()) + [b for b in model.buffers() if b.dtype != torch.bool]
        if len(tensors) != len(targets):
            sys.exit(f"{name}: the C++ side wrote {len(tensors)} tensors, the PyTorch model has {len(targets)}")
        with torch.no_grad():
            for i, (source, target) in enumerate(zip(tensors, targets)):
                if source.shape != target.shape:
                    sys.exit(f"{name}: tensor {i} is {tuple(source.shape)} in C++, {tuple(target.shape)} here")
                target.copy_(source)
        path = f"{directory}/{name}.ts.pt"
        # freeze folds Conv+BatchNorm and drops Dropout; optimize_for_inference works in place.
        torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(model))).save(path)
        try:
            torch.jit.load(path)
        except RuntimeError as e:
            # LibTorch 1.13 writes the optimised CNN with a constant it cannot read back
            # ("required keyword attribute 'value' is undefined"): keep the frozen model.
            print(f"{name}: optimize_for_inference's result does not load ({e}); using torch.jit.freeze's",
                  file=sys.stderr)
            torch.jit.freeze(torch.jit.script(model)).save(path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
