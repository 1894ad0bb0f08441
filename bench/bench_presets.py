"""Per preset: parameters, GFLOPs at 512 x 512 (one image, generator + classifier), and training images/s on this
machine at 128 x 128, batch 16, bf16 autocast. Run: .venv/bin/python bench/bench_presets.py"""

import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from training.networks.generators import PRESETS, build_generator  # noqa: E402


def gflops(generator, size=512):
    inputs = (torch.rand(1, 1, size, size) * 100, torch.zeros(1, 2, size, size), torch.zeros(1, 1, size, size))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        generator(*inputs)
    return counter.get_total_flops() / 1e9


def images_per_second(generator, size=128, batch=16, steps=4):
    generator.train().to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW([p for p in generator.parameters() if p.requires_grad], 1e-4)
    inputs = (
        torch.rand(batch, 1, size, size) * 100,
        torch.zeros(batch, 2, size, size),
        torch.zeros(batch, 1, size, size),
    )
    for step in range(steps + 1):
        if step == 1:
            start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = generator(*inputs).float().abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return batch * steps / (time.perf_counter() - start)


print(f"{'preset':15} {'params':>8} {'trainable':>9} {'GFLOPs@512':>10} {'train img/s@128':>15}")
for preset in PRESETS:
    generator = build_generator(preset, pretrained=False).eval()
    total = sum(p.numel() for p in generator.parameters()) / 1e6
    trainable = sum(p.numel() for p in generator.parameters() if p.requires_grad) / 1e6
    flops = gflops(generator)
    rate = images_per_second(generator)
    print(f"{preset:15} {total:7.2f}M {trainable:8.2f}M {flops:10.1f} {rate:15.1f}")
