"""Loading a checkpoint the modern way: a model built on `torch.device('meta')` (no memory, no
initialisation) filled by `load_state_dict(assign=True)`, or materialised with `to_empty` and then
loaded; `torch.load(mmap=True, weights_only=True)`; `weights_only` refusing an unknown class until
`torch.serialization.add_safe_globals` / `safe_globals`; `map_location`; a `_register_load_state_dict_pre_hook`
that upgrades an old checkpoint's renamed keys, `register_load_state_dict_post_hook` clearing expected
missing keys, `register_state_dict_post_hook` dropping a cache buffer; `strict=False` results and
torch's errors for size mismatches and missing keys; a bfloat16 checkpoint loaded into float32."""
import os
import pickle
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tut_common import finish, np_params, record

rng = np.random.RandomState(511)


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)

    def forward(self, x):
        return x + self.fc2(F.gelu(self.fc1(self.ln(x))))


class Model(nn.Module):
    def __init__(self, vocab=20, d=8, n=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(Block(d) for _ in range(n))
        self.bn = nn.BatchNorm1d(d)
        self.head = nn.Linear(d, vocab)
        self.register_buffer("positions", torch.arange(6).float() / 6, persistent=True)

    def forward(self, idx):
        h = self.embed(idx) + self.positions[: idx.shape[1], None]
        for b in self.blocks:
            h = b(h)
        h = self.bn(h.transpose(1, 2)).transpose(1, 2)
        return self.head(h)


idx = torch.tensor(rng.randint(0, 20, (3, 6)).astype(np.int64))
src = np_params(Model(), 512).eval()
expected = src(idx)
tmp = tempfile.mkdtemp()
path = os.path.join(tmp, "model.pt")
torch.save(src.state_dict(), path)

# 1. meta-device model + assign=True: the checkpoint's tensors become the parameters
with torch.device("meta"):
    meta_model = Model()
record("meta_devices", sorted({p.device.type for p in meta_model.parameters()}))
record("meta_flags", (meta_model.head.weight.is_meta, tuple(meta_model.head.weight.shape)))
state_dict = torch.load(path, mmap=True, weights_only=True)
print(type(state_dict).__name__, len(state_dict), list(state_dict)[:4])
record("keys", list(state_dict))
record("dtypes", sorted({str(v.dtype) for v in state_dict.values()}))
result = meta_model.load_state_dict(state_dict, assign=True)
print(result)
record("assign_result", (list(result.missing_keys), list(result.unexpected_keys)))
record("assigned_types", sorted({type(p).__name__ for p in meta_model.parameters()}))
record("assigned_requires_grad", [p.requires_grad for p in meta_model.parameters()])
record("assigned_is_meta", any(p.is_meta for p in meta_model.parameters()))
meta_model.eval()
record("assigned_logits", meta_model(idx))
record("assigned_matches", torch.allclose(meta_model(idx), expected))
record("num_batches_tracked", meta_model.bn.num_batches_tracked)

# assigned parameters train like any other (SGD: the last block's fc2 bias feeds BatchNorm, which
# removes it, so its gradient is rounding noise that Adam would turn into full steps)
opt = torch.optim.SGD(meta_model.parameters(), lr=0.1, momentum=0.9)
meta_model.train()
target = torch.tensor(rng.randint(0, 20, (3, 6)).astype(np.int64))
train_losses = []
for _ in range(3):
    opt.zero_grad()
    loss = F.cross_entropy(meta_model(idx).flatten(0, 1), target.flatten())
    loss.backward()
    opt.step()
    train_losses.append(loss.item())
record("assigned_train_losses", train_losses)
record("assigned_running_mean", meta_model.bn.running_mean)

# 2. without assign: load into a meta model is a no-op (torch warns) -> to_empty first
with torch.device("meta"):
    m2 = Model()
m2 = m2.to_empty(device="cpu")
record("to_empty", (m2.head.weight.device.type, m2.head.weight.is_meta, type(m2.head.weight).__name__))
m2.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
m2.eval()
record("to_empty_matches", torch.allclose(m2(idx), expected))
m3 = Model()
m3.load_state_dict(torch.load(path, weights_only=True, map_location=lambda storage, loc: storage))
record("map_location_fn", torch.equal(m3.head.weight, src.head.weight))

# 3. weights_only refuses unknown classes until they are allowed
class TrainConfig:
    def __init__(self, lr, epochs):
        self.lr, self.epochs = lr, epochs


ckpt_path = os.path.join(tmp, "ckpt.pt")
torch.save({"model": src.state_dict(), "config": TrainConfig(0.1, 3), "step": 7}, ckpt_path)
try:
    torch.load(ckpt_path, weights_only=True)
except pickle.UnpicklingError as e:
    record("unsafe_refused", ("weights_only" in str(e).lower() or "Weights only" in str(e), type(e).__name__))
with torch.serialization.safe_globals([TrainConfig]):
    ck = torch.load(ckpt_path, weights_only=True)
record("safe_globals", (ck["config"].lr, ck["config"].epochs, ck["step"]))
torch.serialization.add_safe_globals([TrainConfig])
ck = torch.load(ckpt_path, weights_only=True)
record("add_safe_globals", (type(ck["config"]).__name__, ck["step"], torch.equal(ck["model"]["head.bias"], src.head.bias)))
ck = torch.load(ckpt_path, weights_only=False)
record("weights_only_false", ck["config"].epochs)


# 4. an old checkpoint with renamed keys, upgraded by a load pre-hook
class NewModel(Model):
    def __init__(self):
        super().__init__()
        self._register_load_state_dict_pre_hook(self._upgrade)
        self.register_load_state_dict_post_hook(self._ignore_cache)
        self.register_state_dict_post_hook(self._drop_cache)
        self.register_buffer("cache", torch.zeros(3))

    @staticmethod
    def _upgrade(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        for k in list(state_dict):
            if k.startswith(prefix + "classifier."):
                state_dict[prefix + "head." + k[len(prefix + "classifier."):]] = state_dict.pop(k)

    @staticmethod
    def _ignore_cache(module, incompatible_keys):
        for k in [k for k in incompatible_keys.missing_keys if k.split(".")[-1] == "cache"]:
            incompatible_keys.missing_keys.remove(k)

    @staticmethod
    def _drop_cache(module, state_dict, prefix, local_metadata):
        state_dict.pop(prefix + "cache", None)


old = {(k.replace("head.", "classifier.") if k.startswith("head.") else k): v for k, v in src.state_dict().items()}
new_model = NewModel()
res = new_model.load_state_dict(old)
record("upgraded", (list(res.missing_keys), list(res.unexpected_keys)))
new_model.eval()
record("upgraded_matches", torch.allclose(new_model(idx), expected))
record("new_state_keys", list(new_model.state_dict()))
wrapped = nn.Sequential(NewModel())
res = wrapped.load_state_dict({"0." + k: v for k, v in old.items()})
record("upgraded_nested", (list(res.missing_keys), torch.equal(wrapped[0].head.weight, src.head.weight)))

# 5. strict=False and the errors
partial = {k: v for k, v in src.state_dict().items() if not k.startswith("head.")}
partial["extra.weight"] = torch.zeros(2)
res = Model().load_state_dict(partial, strict=False)
record("non_strict", (sorted(res.missing_keys), sorted(res.unexpected_keys)))
try:
    Model().load_state_dict(partial)
except RuntimeError as e:
    msg = str(e)
    record("strict_error", ("Missing key(s)" in msg, "Unexpected key(s)" in msg, "head.weight" in msg))
bad = dict(src.state_dict())
bad["head.weight"] = torch.zeros(5, 8)
try:
    Model().load_state_dict(bad)
except RuntimeError as e:
    record("size_mismatch", ("size mismatch for head.weight" in str(e), "torch.Size([5, 8])" in str(e)))
res = Model().load_state_dict({k: v for k, v in src.state_dict().items() if k not in ("head.weight",)},
                              strict=False)
record("missing_only", list(res.missing_keys))

# 6. a bfloat16 checkpoint loaded (and cast) into a float32 model; keep_vars and prefixes
bf_path = os.path.join(tmp, "bf16.pt")
torch.save({k: (v.to(torch.bfloat16) if v.is_floating_point() else v) for k, v in src.state_dict().items()}, bf_path)
sd_bf = torch.load(bf_path, mmap=True, weights_only=True)
m4 = Model()
m4.load_state_dict(sd_bf)
record("bf16_dtype", (str(sd_bf["head.weight"].dtype), str(m4.head.weight.dtype)))
record("bf16_values", m4.head.weight)
m4.eval()
record("lowp_bf16_logits", m4(idx))
kv = src.state_dict(keep_vars=True)
record("keep_vars", (type(kv["head.weight"]).__name__, kv["head.weight"].requires_grad,
                     type(src.state_dict()["head.weight"]).__name__))
record("prefixed", list(src.blocks[0].state_dict(prefix="blocks.0."))[:3])
record("metadata_version", src.state_dict()._metadata[""].get("version"))
finish()
