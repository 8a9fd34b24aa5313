"""Text classification (AG_NEWS tutorial) style: a tokenizer and vocabulary built here, a
collate_batch that concatenates token ids and makes cumulative offsets, nn.EmbeddingBag(mode="mean")
with offsets, SGD + StepLR stepped on validation accuracy, clip_grad_norm_, random_split-free train/valid
split, per_sample_weights with mode="sum", padding_idx and mode="max"."""
from collections import Counter

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from tut_common import finish, np_params, record

rng = np.random.RandomState(21)
topics = {0: ["game", "team", "score", "coach", "season", "win"],
          1: ["market", "stock", "price", "bank", "profit", "trade"],
          2: ["chip", "software", "robot", "phone", "data", "cloud"],
          3: ["election", "minister", "vote", "war", "treaty", "law"]}
filler = ["the", "a", "of", "in", "on", "new", "says", "after", "and", "to"]


def make_text(label):
    n = rng.randint(4, 12)
    words = [rng.choice(topics[label]) if rng.rand() < 0.45 else rng.choice(filler) for _ in range(n)]
    return " ".join(words)


train_iter = [(int(lbl) + 1, make_text(int(lbl))) for lbl in rng.randint(0, 4, 96)]
test_iter = [(int(lbl) + 1, make_text(int(lbl))) for lbl in rng.randint(0, 4, 32)]


def tokenizer(line):
    return line.lower().split()


counter = Counter()
for _, text in train_iter:
    counter.update(tokenizer(text))
itos = ["<unk>"] + sorted(counter, key=lambda w: (-counter[w], w))
stoi = {w: i for i, w in enumerate(itos)}


def vocab(tokens):
    return [stoi.get(t, 0) for t in tokens]


def text_pipeline(x):
    return vocab(tokenizer(x))


def label_pipeline(x):
    return int(x) - 1


print(text_pipeline("here is the an example"), label_pipeline("3"))


def collate_batch(batch):
    label_list, text_list, offsets = [], [], [0]
    for _label, _text in batch:
        label_list.append(label_pipeline(_label))
        processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
        text_list.append(processed_text)
        offsets.append(processed_text.size(0))
    label_list = torch.tensor(label_list, dtype=torch.int64)
    offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
    text_list = torch.cat(text_list)
    return label_list, text_list, offsets


dataloader = DataLoader(train_iter, batch_size=8, shuffle=False, collate_fn=collate_batch)
first = next(iter(dataloader))
record("first_batch", first)
print(first[2])


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        initrange = 0.5
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.fc.weight.data.uniform_(-initrange, initrange)
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


num_class = len(set(label for (label, text) in train_iter))
vocab_size = len(itos)
emsize = 16
model = np_params(TextClassificationModel(vocab_size, emsize, num_class), 22, scale=0.5)
print(model)
record("fc_bias_init_zero", float(TextClassificationModel(vocab_size, emsize, num_class).fc.bias.abs().sum()))

EPOCHS = 4
LR = 5
BATCH_SIZE = 8
criterion = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=LR)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
total_accu = None
split = 80
split_train_, split_valid_ = train_iter[:split], train_iter[split:]
train_dataloader = DataLoader(split_train_, batch_size=BATCH_SIZE, shuffle=False, collate_fn=collate_batch)
valid_dataloader = DataLoader(split_valid_, batch_size=BATCH_SIZE, shuffle=False, collate_fn=collate_batch)
test_dataloader = DataLoader(test_iter, batch_size=BATCH_SIZE, shuffle=False, collate_fn=collate_batch)
losses = []


def train(dataloader):
    model.train()
    total_acc, total_count = 0, 0
    for idx, (label, text, offsets) in enumerate(dataloader):
        optimizer.zero_grad()
        predicted_label = model(text, offsets)
        loss = criterion(predicted_label, label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        losses.append(loss.item())
        total_acc += (predicted_label.argmax(1) == label).sum().item()
        total_count += label.size(0)
    return total_acc / total_count


def evaluate(dataloader):
    model.eval()
    total_acc, total_count = 0, 0
    with torch.no_grad():
        for idx, (label, text, offsets) in enumerate(dataloader):
            predicted_label = model(text, offsets)
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
    return total_acc / total_count


for epoch in range(1, EPOCHS + 1):
    train_acc = train(train_dataloader)
    accu_val = evaluate(valid_dataloader)
    if total_accu is not None and total_accu > accu_val:
        scheduler.step()
    else:
        total_accu = accu_val
    print(f"| end of epoch {epoch:3d} | train accuracy {train_acc:8.3f} | valid accuracy {accu_val:8.3f} "
          f"| lr {scheduler.get_last_lr()[0]:.4f}")
record("losses", losses)
record("test_accuracy", evaluate(test_dataloader))
record("embedding_after", model.embedding.weight)
record("fc_after", (model.fc.weight, model.fc.bias))

ag_news_label = {1: "World", 2: "Sports", 3: "Business", 4: "Sci/Tec"}


def predict(text, text_pipeline):
    with torch.no_grad():
        text = torch.tensor(text_pipeline(text))
        output = model(text, torch.tensor([0]))
        return output.argmax(1).item() + 1


ex_text_str = "the team win the season after the coach score"
print("This is a %s news" % ag_news_label[predict(ex_text_str, text_pipeline)])

# the other EmbeddingBag forms: 2-D input without offsets, sum with per-sample weights, max,
# padding_idx, include_last_offset, and their gradients
w = torch.tensor(rng.randn(10, 3).astype(np.float32))
bag_sum = nn.EmbeddingBag.from_pretrained(w, freeze=False, mode="sum")
ids = torch.tensor([1, 2, 4, 5, 4, 3, 2, 9])
offs = torch.tensor([0, 3, 3, 6])
psw = torch.tensor(rng.rand(8).astype(np.float32))
out = bag_sum(ids, offs, per_sample_weights=psw)
out.pow(2).sum().backward()
record("bag_sum_psw", (out, bag_sum.weight.grad))
bag_max = nn.EmbeddingBag.from_pretrained(w, freeze=False, mode="max")
out = bag_max(ids, torch.tensor([0, 2, 5]))
out.sum().backward()
record("bag_max", (out, bag_max.weight.grad))
bag_pad = nn.EmbeddingBag(10, 3, mode="mean", padding_idx=0)
bag_pad.weight.data.copy_(w)
two_d = torch.tensor([[1, 0, 3], [0, 0, 2], [4, 5, 6]])
out = bag_pad(two_d)
out.sum().backward()
record("bag_pad_2d", (out, bag_pad.weight.grad))
last = nn.functional.embedding_bag(ids, w, torch.tensor([0, 3, 5, 8]), mode="mean", include_last_offset=True)
record("include_last_offset", last)
finish()
