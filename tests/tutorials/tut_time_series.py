"""Time-series forecasting as the examples and forecasting scripts write it: the pytorch/examples
time_sequence_prediction model (two nn.LSTMCell layers in float64 via model.double(), hidden states
made with torch.zeros(..., dtype=torch.double), outputs collected and torch.cat'ed, `future` steps
fed back, trained with optim.LBFGS and a closure), min-max scaling, sliding windows by Tensor.unfold,
a temporal convolutional network (causal dilated Conv1d with left F.pad, nn.utils.parametrizations.
weight_norm, residual 1x1 downsampling, Chomp-free), a seasonal/trend decomposition by avg_pool1d
over a replicate-padded series (DLinear style), a GRU seq2one forecaster with an explicit h0,
quantile (pinball) loss for three quantiles and torch.quantile of the residuals, and autoregressive
multi-step forecasting with torch.no_grad."""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from tut_common import finish, np_params, record

rng = np.random.RandomState(2)

# the example's sine data: N waves of length L shifted by random offsets
T, L, N = 20, 60, 8
x = np.empty((N, L), np.int64)
x[:] = np.array(range(L)) + rng.randint(-4 * T, 4 * T, N).reshape(N, 1)
data = np.sin(x / 1.0 / T).astype("float64")


class Sequence(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTMCell(1, 12)
        self.lstm2 = nn.LSTMCell(12, 12)
        self.linear = nn.Linear(12, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), 12, dtype=torch.double)
        c_t = torch.zeros(input.size(0), 12, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), 12, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), 12, dtype=torch.double)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):  # if we should predict the future
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


input = torch.from_numpy(data[2:, :-1])
target = torch.from_numpy(data[2:, 1:])
test_input = torch.from_numpy(data[:2, :-1])
test_target = torch.from_numpy(data[:2, 1:])
seq = np_params(Sequence(), seed=0)
seq.double()
print("dtype after double():", seq.linear.weight.dtype)
criterion = nn.MSELoss()
optimizer = torch.optim.LBFGS(seq.parameters(), lr=0.8, max_iter=6)
lbfgs_losses = []
for i in range(3):
    def closure():
        optimizer.zero_grad()
        out = seq(input)
        loss = criterion(out, target)
        lbfgs_losses.append(loss.item())
        loss.backward()
        return loss
    optimizer.step(closure)
    with torch.no_grad():
        future = 10
        pred = seq(test_input, future=future)
        loss = criterion(pred[:, :-future], test_target)
        print(f"step {i} test loss: {loss.item():.6f}")
record("lbfgs_losses", lbfgs_losses)
record("prediction", pred)
record("lbfgs_state_n_iter", optimizer.state[optimizer._params[0]]["n_iter"])

# a noisy seasonal series for the window models
t = np.arange(200)
series = (0.02 * t + np.sin(2 * np.pi * t / 12) + 0.3 * np.sin(2 * np.pi * t / 5) + 0.1 * rng.randn(200))
series = torch.tensor(series.astype(np.float32))
lo, hi = series[:150].min(), series[:150].max()
scaled = (series - lo) / (hi - lo)
WIN, HORIZON = 24, 4
windows = scaled.unfold(0, WIN + HORIZON, 1)  # (num_windows, WIN + HORIZON)
print("windows:", tuple(windows.shape), "is view of series:", windows.data_ptr() == scaled.data_ptr())
X, Y = windows[:, :WIN], windows[:, WIN:]
X_train, Y_train, X_test, Y_test = X[:120], Y[:120], X[120:], Y[120:]
record("windows_first", windows[:3])


class CausalConvBlock(nn.Module):
    def __init__(self, cin, cout, kernel, dilation):
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.conv1 = weight_norm(nn.Conv1d(cin, cout, kernel, dilation=dilation))
        self.conv2 = weight_norm(nn.Conv1d(cout, cout, kernel, dilation=dilation))
        self.downsample = nn.Conv1d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = F.relu(self.conv1(F.pad(x, (self.pad, 0))))
        h = F.relu(self.conv2(F.pad(h, (self.pad, 0))))
        res = x if self.downsample is None else self.downsample(x)
        return F.relu(h + res)


class TCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(CausalConvBlock(1, 8, 3, 1), CausalConvBlock(8, 8, 3, 2), CausalConvBlock(8, 8, 3, 4))
        self.head = nn.Linear(8, HORIZON)

    def forward(self, x):  # (N, WIN)
        h = self.blocks(x.unsqueeze(1))
        return self.head(h[:, :, -1])


class DLinear(nn.Module):
    """Trend by a moving average (replicate padding keeps the length), seasonality the rest."""

    def __init__(self, kernel=5):
        super().__init__()
        self.kernel = kernel
        self.trend = nn.Linear(WIN, HORIZON)
        self.seasonal = nn.Linear(WIN, HORIZON)

    def decompose(self, x):
        pad = (self.kernel - 1) // 2
        padded = F.pad(x.unsqueeze(1), (pad, pad), mode="replicate")
        trend = F.avg_pool1d(padded, self.kernel, stride=1).squeeze(1)
        return trend, x - trend

    def forward(self, x):
        trend, seasonal = self.decompose(x)
        return self.trend(trend) + self.seasonal(seasonal)


class GRUForecaster(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(1, 10, num_layers=2, batch_first=True, dropout=0.0)
        self.head = nn.Linear(10, HORIZON * 3)  # three quantiles per step

    def forward(self, x):
        h0 = torch.zeros(2, x.shape[0], 10)
        out, hn = self.gru(x.unsqueeze(-1), h0)
        return self.head(out[:, -1]).view(-1, HORIZON, 3), hn


QUANTILES = torch.tensor([0.1, 0.5, 0.9])


def pinball(pred, target):
    err = target.unsqueeze(-1) - pred
    return torch.max(QUANTILES * err, (QUANTILES - 1) * err).mean()


tcn = np_params(TCN(), seed=4)
print("tcn parametrized:", sorted(n for n, _ in tcn.blocks[0].conv1.named_parameters()))
record("tcn_weight_init", tcn.blocks[0].conv1.weight)
dlin = np_params(DLinear(), seed=5)
gru = np_params(GRUForecaster(), seed=6)
trend, seas = dlin.decompose(X_train[:2])
record("trend", trend)
opts = {"tcn": torch.optim.Adam(tcn.parameters(), lr=5e-3), "dlinear": torch.optim.Adam(dlin.parameters(), lr=5e-3),
        "gru": torch.optim.RMSprop(gru.parameters(), lr=5e-3)}
hist = {k: [] for k in opts}
for epoch in range(4):
    for b in range(0, 120, 40):
        xb, yb = X_train[b: b + 40], Y_train[b: b + 40]
        for name, model in (("tcn", tcn), ("dlinear", dlin), ("gru", gru)):
            opts[name].zero_grad()
            if name == "gru":
                q, _ = model(xb)
                loss = pinball(q, yb)
            else:
                loss = F.mse_loss(model(xb), yb)
            loss.backward()
            opts[name].step()
            hist[name].append(loss.item())
    print(f"epoch {epoch}: " + " ".join(f"{k} {v[-1]:.5f}" for k, v in hist.items()))
record("hist", hist)
record("tcn_params", dict(tcn.named_parameters()))
record("gru_params", dict(gru.named_parameters()))

with torch.no_grad():
    q, hn = gru(X_test)
    resid = Y_test - tcn(X_test)
record("quantile_preds", q)
record("hn", hn)
coverage = ((Y_test >= q[..., 0]) & (Y_test <= q[..., 2])).float().mean()
print(f"interval coverage {coverage.item():.4f}")
record("resid_quantiles", torch.quantile(resid, torch.tensor([0.05, 0.5, 0.95]), dim=0))
record("resid_nanquantile", torch.nanquantile(resid.flatten(), 0.25, interpolation="midpoint"))

# autoregressive forecast: feed each prediction back into the window
with torch.no_grad():
    window = X_test[:1].clone()
    preds = []
    for _ in range(3):
        step = dlin(window)[:, :1]
        preds.append(step)
        window = torch.cat([window[:, 1:], step], dim=1)
forecast = torch.cat(preds, dim=1) * (hi - lo) + lo
record("ar_forecast", forecast)
print("forecast:", [round(v, 4) for v in forecast.squeeze(0).tolist()])
finish()
