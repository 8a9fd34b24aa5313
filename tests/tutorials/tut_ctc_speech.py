"""Speech recognition with CTC, as ASR training scripts write it: features made from synthetic
"utterances" (a tone per character, framed with Tensor.unfold, a hann window and torch.fft.rfft
magnitudes, log1p compression, per-utterance normalisation), SpecAugment-style time and frequency
masks placed by numpy and applied with masked_fill, a model of Conv1d front-end (stride 2, whose
output lengths are computed with the conv formula), a bidirectional GRU over pack_padded_sequence,
a Linear classifier and log_softmax in (T, N, C) layout, nn.CTCLoss(blank=0, zero_infinity=True)
with targets both concatenated (1-D) and padded (2-D), reduction 'none' / 'sum' / 'mean', an
impossible alignment (target longer than input) giving inf or zero with zero_infinity, gradients of
the CTC loss to the log-probabilities, Adam with gradient clipping, greedy decoding with argmax and
torch.unique_consecutive, and the word error rate by edit distance."""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tut_common import finish, np_params, record

rng = np.random.RandomState(3)
ALPHABET = "_abcde"  # index 0 is the CTC blank
N_FFT, HOP = 16, 8


def synth(text):
    """Each character: a few frames of a tone whose frequency names it, with silence between."""
    pieces = []
    for ch in text:
        k = ALPHABET.index(ch)
        n = HOP * rng.randint(3, 5)
        tt = np.arange(n)
        pieces.append(np.sin(2 * np.pi * (k + 1) * tt / N_FFT) + 0.1 * rng.randn(n))
        pieces.append(0.05 * rng.randn(HOP * 2))
    return np.concatenate(pieces).astype(np.float32)


def features(wave):
    frames = wave.unfold(0, N_FFT, HOP)  # (frames, N_FFT)
    window = torch.hann_window(N_FFT)
    spec = torch.fft.rfft(frames * window, dim=-1).abs()
    feats = torch.log1p(spec)
    return (feats - feats.mean(0, keepdim=True)) / (feats.std(0, keepdim=True) + 1e-5)


words = ["abc", "bad", "cab", "dace", "bead", "ace", "deed", "ab", "cede", "ebb", "add", "face"[1:]]
utterances = [torch.from_numpy(synth(w)) for w in words]
feats = [features(u) for u in utterances]
print("feature shapes:", [tuple(f.shape) for f in feats[:4]])
record("feat0", feats[0])

lengths = torch.tensor([f.shape[0] for f in feats])
batch = nn.utils.rnn.pad_sequence(feats, batch_first=True)  # (N, T, F)
targets = [torch.tensor([ALPHABET.index(c) for c in w]) for w in words]
target_lengths = torch.tensor([len(t) for t in targets])
flat_targets = torch.cat(targets)
padded_targets = nn.utils.rnn.pad_sequence(targets, batch_first=True, padding_value=0)
record("padded_targets", padded_targets)
print("lengths:", lengths.tolist(), "target lengths:", target_lengths.tolist())


def spec_augment(x, lengths):
    x = x.clone()
    n, t, f = x.shape
    time_mask = torch.zeros(n, t, 1, dtype=torch.bool)
    freq_mask = torch.zeros(n, 1, f, dtype=torch.bool)
    for i in range(n):
        t0 = rng.randint(0, max(1, int(lengths[i]) - 3))
        time_mask[i, t0: t0 + 2] = True
        f0 = rng.randint(0, f - 2)
        freq_mask[i, :, f0: f0 + 2] = True
    return x.masked_fill(time_mask | freq_mask, 0.0)


class SpeechModel(nn.Module):
    def __init__(self, n_feats, hidden, n_classes):
        super().__init__()
        self.conv = nn.Conv1d(n_feats, hidden, kernel_size=3, stride=2, padding=1)
        self.act = nn.GELU()
        self.rnn = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.classifier = nn.Linear(hidden * 2, n_classes)

    @staticmethod
    def out_lengths(lengths):
        return torch.div(lengths + 2 * 1 - 3, 2, rounding_mode="floor") + 1

    def forward(self, x, lengths):
        x = self.act(self.conv(x.transpose(1, 2))).transpose(1, 2)  # (N, T', H)
        out_lengths = self.out_lengths(lengths)
        packed = pack_padded_sequence(x, out_lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        logits = self.classifier(out)
        return F.log_softmax(logits, dim=-1).transpose(0, 1), out_lengths  # (T', N, C)


model = np_params(SpeechModel(N_FFT // 2 + 1, 16, len(ALPHABET)), seed=4)
ctc = nn.CTCLoss(blank=0, zero_infinity=True)

log_probs, out_lengths = model(batch, lengths)
record("log_probs0", log_probs)
record("out_lengths", out_lengths)
for reduction in ("none", "sum", "mean"):
    record(f"ctc_{reduction}_flat", F.ctc_loss(log_probs, flat_targets, out_lengths, target_lengths,
                                               reduction=reduction))
    record(f"ctc_{reduction}_padded", F.ctc_loss(log_probs, padded_targets, out_lengths, target_lengths,
                                                 reduction=reduction))

# gradient of the loss to the log-probabilities (a leaf copy)
lp = log_probs.detach().requires_grad_()
F.ctc_loss(lp, padded_targets, out_lengths, target_lengths).backward()
record("ctc_grad_log_probs", lp.grad)

# an impossible alignment: 2 frames cannot emit "aab" (needs a blank between the a's)
short_lp = torch.from_numpy(rng.randn(2, 1, len(ALPHABET)).astype(np.float32)).log_softmax(-1).requires_grad_()
tgt = torch.tensor([[1, 1, 2]])
inf_loss = F.ctc_loss(short_lp, tgt, torch.tensor([2]), torch.tensor([3]), reduction="none")
zero_loss = F.ctc_loss(short_lp, tgt, torch.tensor([2]), torch.tensor([3]), reduction="none", zero_infinity=True)
zero_loss.sum().backward()
print("impossible:", inf_loss.tolist(), zero_loss.tolist(), short_lp.grad.abs().sum().item())
# float64 log-probs keep their dtype
record("ctc_double", F.ctc_loss(log_probs.double(), padded_targets, out_lengths, target_lengths))

opt = torch.optim.Adam(model.parameters(), lr=1e-2)
losses = []
for epoch in range(10):
    model.train()
    x = spec_augment(batch, lengths) if epoch % 2 else batch
    log_probs, out_lengths = model(x, lengths)
    loss = ctc(log_probs, flat_targets, out_lengths, target_lengths)
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    losses.append(loss.item())
    print(f"epoch {epoch} ctc loss {loss.item():.4f}")
record("losses", losses)
record("params", dict(model.named_parameters()))


def greedy_decode(log_probs, out_lengths):
    best = log_probs.argmax(-1).transpose(0, 1)  # (N, T)
    texts = []
    for seq, n in zip(best, out_lengths.tolist()):
        collapsed = torch.unique_consecutive(seq[:n])
        texts.append("".join(ALPHABET[i] for i in collapsed.tolist() if i != 0))
    return texts


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, cb in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (ca != cb))
    return d[-1]


model.eval()
with torch.no_grad():
    log_probs, out_lengths = model(batch, lengths)
decoded = greedy_decode(log_probs, out_lengths)
record("final_log_probs", log_probs)
cer = sum(edit_distance(d, w) for d, w in zip(decoded, words)) / sum(len(w) for w in words)
print("decoded:", decoded)
print(f"CER {cer:.3f}")
vals, inverse, counts = torch.unique_consecutive(torch.tensor([0, 0, 2, 2, 2, 0, 3, 3]), return_inverse=True,
                                                 return_counts=True)
print(vals.tolist(), inverse.tolist(), counts.tolist())
finish()
