"""The benchmark models, written once against the PyTorch API: ``build(torch)`` works for
real torch and for jtorch alike."""


def mlp(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.25), nn.Flatten(), nn.Linear(64 * 7 * 7, 10),
    )


def transformer(torch, vocab=256, d=128, heads=4, layers=2, seq=64):
    nn = torch.nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.pos = nn.Parameter(torch.zeros(1, seq, d))
            layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.1, batch_first=True)
            self.enc = nn.TransformerEncoder(layer, layers)
            self.head = nn.Linear(d, vocab)
            self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(seq))

        def forward(self, x):
            h = self.emb(x) + self.pos[:, :x.shape[1]]
            h = self.enc(h, mask=self.mask, is_causal=True)
            return self.head(h)
    return LM()


SPECS = {
    # name: (builder, optimizer factory, input maker(torch, batch), batch)
    "mlp": (mlp, lambda torch, p: torch.optim.Adam(p, lr=1e-3),
            lambda torch, b: (torch.randn(b, 784), torch.randint(0, 10, (b,))), 128),
    "cnn": (cnn, lambda torch, p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
            lambda torch, b: (torch.randn(b, 1, 28, 28), torch.randint(0, 10, (b,))), 64),
    "transformer": (transformer, lambda torch, p: torch.optim.AdamW(p, lr=3e-4),
                    lambda torch, b: (torch.randint(0, 256, (b, 64)), torch.randint(0, 256, (b, 64))), 16),
}


def train_step(torch, net, opt):
    """The benchmarks' training step (one definition for every runner): cross-entropy over the last
    dimension, backward, optimizer step."""
    crit = torch.nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        out = net(x)
        loss = crit(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss
    return step


def build_on(torch, model, device):
    """``model`` of SPECS on ``device`` with its optimizer and training step (seeded: the same initial
    weights in every runner)."""
    build, make_opt, make_input, batch = SPECS[model]
    torch.manual_seed(0)
    net = build(torch).to(device)
    opt = make_opt(torch, net.parameters())
    return net, opt, train_step(torch, net, opt)
