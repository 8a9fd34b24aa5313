"""A tour of the everyday API that scripts use between the tutorials' big pieces: DataLoader
workers, torchvision.utils grids, module traversal and hooks, schedulers, whole-model pickling,
numpy sharing, views, indexing, in-place updates, reductions, casts and functional helpers.
Everything is printed; the printed output must match torch's."""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tut_common import OUT, finish  # noqa: I001  (before torchvision: see tut_common)
import torchvision.utils as vutils

rng = np.random.RandomState(0)
out = OUT


def show(*a):
    print(*a)


# a dataset the spawned DataLoader workers can import
class DS(torch.utils.data.Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return torch.full((2,), float(i)), i


def main():
    dl = torch.utils.data.DataLoader(DS(), batch_size=4, num_workers=2)
    show([b[1].tolist() for b in dl])
    dl = torch.utils.data.DataLoader(DS(), batch_size=4, num_workers=2, persistent_workers=True, pin_memory=True)
    show([b[0].sum().item() for b in dl])
    imgs = torch.tensor(rng.rand(5, 3, 4, 4).astype(np.float32))
    g = vutils.make_grid(imgs, padding=2, normalize=True)
    show(g.shape, round(g.sum().item(), 3))
    show(vutils.make_grid(imgs, nrow=2).shape)
    vutils.save_image(imgs, os.path.join(out, "x.png"))
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Sequential(nn.Flatten(), nn.Linear(16, 2)))
    show([n for n, _ in m.named_modules()])
    show([type(c).__name__ for c in m.children()])
    acts = {}
    h = m[0].register_forward_hook(lambda mod, i, o: acts.update(conv=o.shape))
    m(imgs); h.remove()
    show(acts)
    bh = m[2][1].register_full_backward_hook(lambda mod, gi, go: acts.update(bw=(len(gi), go[0].shape)))
    m(imgs).sum().backward()
    show(acts["bw"]); bh.remove()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    sch = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, 'min', patience=1, factor=0.5)
    for v in [1.0, 1.0, 1.0, 1.0, 0.5]:
        sch.step(v)
    show(opt.param_groups[0]['lr'])
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    sch = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    lrs = []
    for _ in range(10):
        opt.step(); sch.step(); lrs.append(round(sch.get_last_lr()[0], 6))
    show(lrs)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    sch = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.9 ** e)
    for _ in range(3): opt.step(); sch.step()
    show(sch.get_last_lr())
    sch = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 2], gamma=0.1)
    for _ in range(3): opt.step(); sch.step()
    show(sch.get_last_lr())
    show(F.one_hot(torch.tensor([0, 2, 1]), num_classes=4))
    torch.save(m, os.path.join(out, "whole.pt"))
    m2 = torch.load(os.path.join(out, "whole.pt"), weights_only=False)
    show(type(m2).__name__, torch.equal(m2[0].weight, m[0].weight))
    a = np.ones(3, dtype=np.float32); t = torch.from_numpy(a); a[0] = 5; show(t)
    t.add_(1); show(a)
    try:
        torch.ones(3, 4).t().view(-1)
    except RuntimeError as e:
        show("view error", str(e)[:60])
    @torch.no_grad()
    def f(x): return x * 2
    show(f(torch.ones(2, requires_grad=True)).requires_grad)
    x = torch.arange(6.0).view(2, 3)
    show(x.flatten(), x.unsqueeze(0).shape, x.permute(1, 0).contiguous().view(-1), x.numel(), x.stride(), x.t().is_contiguous())
    show(torch.cat([x, x], dim=1).shape, torch.stack([x, x]).shape, x.chunk(3, 1)[0], x.split([1, 2], 1)[1])
    show(x.masked_fill(x > 2, -1), x.clamp(min=1, max=4), torch.where(x > 2, x, torch.zeros_like(x)))
    show(x.argmax(), x.argmax(dim=1), x.max(), x.sum(1, keepdim=True), x.mean(0), x.std(1), x.var())
    show(x.to(torch.int64), x.long(), x.int().dtype, x.bool(), x.half().dtype, x.type(torch.IntTensor).dtype, x.type())
    show(torch.tensor([[1, 2], [3, 4]]) @ torch.tensor([[1], [1]]), torch.tensor([1, 2]).dot(torch.tensor([3, 4])))
    show(x.new_zeros(2), x.new_tensor([1, 2]), torch.zeros_like(x, dtype=torch.long), torch.ones(2, 3).fill_(7))
    show(torch.randint(0, 10, (3,)).dtype, torch.rand(2).dtype, torch.randn(2, dtype=torch.float64).dtype, torch.randperm(4).dtype)
    show(torch.allclose(x, x + 1e-9), torch.equal(x, x.clone()), x.eq(x).all(), (x == 1).nonzero(), x.nonzero(as_tuple=True))
    show(x.unique(), torch.tensor([3, 1, 3]).unique(return_counts=True), torch.bincount(torch.tensor([0, 1, 1])))
    show(x.cumsum(0), x.exp(), x.sqrt(), x.abs(), x.neg(), x.sign(), x.floor(), x.ceil(), x.frac())
    show(torch.tensor([1, 2, 3]) * 1.5, torch.tensor([1, 2]) + torch.tensor([1.5]), torch.tensor([1, 2], dtype=torch.uint8) + 300)
    show(x[:, [0, 2]], x[x > 1], x[..., -1], x[None, :, 1:].shape, x[1], x[-1, -1].item())
    y = x.clone(); y[0, :] = 9; y[:, 1] += 1; y[y > 9] = 0; show(y)
    idx = torch.tensor([0, 0, 1]); z = torch.zeros(3); z.index_add_(0, idx, torch.ones(3)); show(z)
    z = torch.zeros(2, 3).scatter_(1, torch.tensor([[0], [2]]), 1.0); show(z)
    show(torch.gather(x, 1, torch.tensor([[0, 0], [1, 0]])), x.repeat(1, 2).shape, x.expand(2, 2, 3).shape, x.flip(0))
    show(torch.einsum('ij,kj->ik', x, x), torch.tensordot(x, x, dims=([1], [1])), torch.outer(x[0], x[1]).shape)
    show(torch.linalg.norm(x), x.norm(dim=1), torch.cdist(x, x).shape, F.normalize(x, dim=1), F.cosine_similarity(x, x + 1))
    show(F.pad(x, (1, 1)), F.interpolate(x[None, None], scale_factor=2, mode='nearest').shape, F.interpolate(x[None, None], size=(3, 5), mode='bilinear', align_corners=False))
    show(torch.manual_seed(3).__class__.__name__, torch.initial_seed(), torch.get_rng_state().dtype, torch.seed() > 0)
    finish()


if __name__ == "__main__":
    main()
