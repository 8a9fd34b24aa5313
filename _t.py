import jtorch as torch
from jtorch.export import Dim, export
class M(torch.nn.Module):
    def forward(self, x, y):
        return x.sum() + y[: x.shape[0]].sum() + y[x.shape[0]:].sum()
class S(torch.nn.Module):
    def forward(self, x, y):
        return x.sum() + y.sum()
class N(torch.nn.Module):
    def forward(self, x):
        return x * 2
class C(torch.nn.Module):
    def forward(self, x, y):
        return torch.cat([x, x]) + y
dx = Dim("dx", min=2, max=32)
ep = export(M(), (torch.randn(4), torch.randn(8)), dynamic_shapes={"x": {0: dx}, "y": {0: 2 * dx}})
print(ep.range_constraints)
print(ep.module()(torch.randn(5), torch.randn(10)))
for bad in [(torch.randn(5), torch.randn(11)), (torch.randn(40), torch.randn(80))]:
    try: ep.module()(*bad)
    except Exception as e: print("RUNERR", type(e).__name__, e)
for m, args, dyn in [(M(), (torch.randn(4), torch.randn(9)), {"x": {0: dx}, "y": {0: 2 * dx}}),
                  (M(), (torch.randn(4), torch.randn(4)), {"x": {0: dx}, "y": {0: dx + 1}}),
                  (N(), (torch.randn(40),), {"x": {0: dx}}),
                  (N(), (torch.randn(7),), {"x": {0: 2 * dx}}),
                  (N(), (torch.randn(70),), {"x": {0: 2 * dx}})]:
    try:
        export(m, args, dynamic_shapes=dyn); print("ok")
    except Exception as e: print("ERR", type(e).__name__, getattr(e, "error_type", None), e)
for m, args, dyn, bad in [(S(), (torch.randn(4), torch.randn(5)), {"x": {0: dx}, "y": {0: dx + 1}}, (torch.randn(4), torch.randn(6))),
                     (S(), (torch.randn(4), torch.randn(7)), {"x": {0: dx}, "y": {0: 2*dx - 1}}, (torch.randn(4), torch.randn(6))),
                     (N(), (torch.randn(8),), {"x": {0: 2 * dx}}, (torch.randn(9),)),
                     (N(), (torch.randn(8),), {"x": {0: 2 * dx}}, (torch.randn(80),)),
                     (N(), (torch.randn(8),), {"x": {0: 2 * dx}}, (torch.randn(2),)),
                     (S(), (torch.randn(8), torch.randn(9)), {"x": {0: 2*dx}, "y": {0: 2*dx + 1}}, (torch.randn(8), torch.randn(8))),
                     (S(), (torch.randn(4), torch.randn(12)), {"x": {0: Dim("a")}, "y": {0: Dim("a")*3}}, (torch.randn(4), torch.randn(13))),
                     (C(), (torch.randn(4), torch.randn(8)), {"x": {0: dx}, "y": {0: 2*dx}}, (torch.randn(5), torch.randn(10))),
                     ]:
    ep = export(m, args, dynamic_shapes=dyn); print("RC", ep.range_constraints)
    try: ep.module()(*bad); print("ran")
    except Exception as e: print("RUNERR", type(e).__name__, e)
print(ep)
