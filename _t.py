import jtorch as torch, jtorch.nn as nn, jtorch.nn.functional as F
class Block(nn.Module):
    def __init__(self):
        super().__init__(); self.lin = nn.Linear(4, 4); self.bn = nn.BatchNorm1d(4)
    def forward(self, x, scale=2.0):
        y = F.softmax(self.bn(self.lin(x)), dim=-1)
        z = y[:, 1:].to(torch.float64) * scale
        return torch.zeros(2, dtype=torch.float32), z.sum(dim=1, keepdim=True)
m = Block()
x = torch.randn(3, 4)
e = torch._dynamo.explain(m)(x, scale=3.0)
print(e.graph_count, e.graph_break_count, e.op_count, e.ops_per_graph)
print(e.graphs[0].code)
e = torch._dynamo.explain(nn.Linear(4, 2))(x)
print(e.graph_count, e.ops_per_graph)
def f(x):
    m = x.max(dim=0)
    v, i = m
    return v + i.float(), x.chunk(2, dim=1)
e = torch._dynamo.explain(f)(x)
print(e.graph_count, e.ops_per_graph); print(e.graphs[0].code)
