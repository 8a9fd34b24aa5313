"""BiLSTM-CRF tagger ("Advanced: Making Dynamic Decisions and the Bi-LSTM CRF" tutorial) style, both
as the tutorial writes it (one sentence at a time: the forward algorithm with log_sum_exp over a
transitions matrix whose START/STOP rows are set to -10000, the gold path score, Viterbi decoding
with backpointers, neg_log_likelihood trained by SGD with weight_decay) and batched as people write
it afterwards: sentences of different lengths through pad_sequence, pack_padded_sequence
(enforce_sorted=False) into a bidirectional LSTM and pad_packed_sequence back, a masked forward
algorithm with torch.logsumexp and torch.where over time, a masked gold score with gather, batched
Viterbi with max/argmax and backtracking, checked against the one-sentence version, and
pack_sequence / PackedSequence fields."""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence

from tut_common import finish, np_params, record


def argmax(vec):
    _, idx = torch.max(vec, 1)
    return idx.item()


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


def log_sum_exp(vec):
    max_score = vec[0, argmax(vec)]
    max_score_broadcast = max_score.view(1, -1).expand(1, vec.size()[1])
    return max_score + torch.log(torch.sum(torch.exp(vec - max_score_broadcast)))


START_TAG, STOP_TAG = "<START>", "<STOP>"
EMBEDDING_DIM, HIDDEN_DIM = 5, 4


class BiLSTM_CRF(nn.Module):
    def __init__(self, vocab_size, tag_to_ix, embedding_dim, hidden_dim):
        super().__init__()
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.vocab_size = vocab_size
        self.tag_to_ix = tag_to_ix
        self.tagset_size = len(tag_to_ix)
        self.word_embeds = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim // 2, num_layers=1, bidirectional=True)
        self.hidden2tag = nn.Linear(hidden_dim, self.tagset_size)
        self.transitions = nn.Parameter(torch.zeros(self.tagset_size, self.tagset_size))
        self.hidden = self.init_hidden()

    def fix_transitions(self):
        self.transitions.data[self.tag_to_ix[START_TAG], :] = -10000
        self.transitions.data[:, self.tag_to_ix[STOP_TAG]] = -10000

    def init_hidden(self):
        return (torch.zeros(2, 1, self.hidden_dim // 2), torch.zeros(2, 1, self.hidden_dim // 2))

    def _forward_alg(self, feats):
        init_alphas = torch.full((1, self.tagset_size), -10000.)
        init_alphas[0][self.tag_to_ix[START_TAG]] = 0.
        forward_var = init_alphas
        for feat in feats:
            alphas_t = []
            for next_tag in range(self.tagset_size):
                emit_score = feat[next_tag].view(1, -1).expand(1, self.tagset_size)
                trans_score = self.transitions[next_tag].view(1, -1)
                next_tag_var = forward_var + trans_score + emit_score
                alphas_t.append(log_sum_exp(next_tag_var).view(1))
            forward_var = torch.cat(alphas_t).view(1, -1)
        terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
        return log_sum_exp(terminal_var)

    def _get_lstm_features(self, sentence):
        self.hidden = self.init_hidden()
        embeds = self.word_embeds(sentence).view(len(sentence), 1, -1)
        lstm_out, self.hidden = self.lstm(embeds, self.hidden)
        lstm_out = lstm_out.view(len(sentence), self.hidden_dim)
        return self.hidden2tag(lstm_out)

    def _score_sentence(self, feats, tags):
        score = torch.zeros(1)
        tags = torch.cat([torch.tensor([self.tag_to_ix[START_TAG]], dtype=torch.long), tags])
        for i, feat in enumerate(feats):
            score = score + self.transitions[tags[i + 1], tags[i]] + feat[tags[i + 1]]
        score = score + self.transitions[self.tag_to_ix[STOP_TAG], tags[-1]]
        return score

    def _viterbi_decode(self, feats):
        backpointers = []
        init_vvars = torch.full((1, self.tagset_size), -10000.)
        init_vvars[0][self.tag_to_ix[START_TAG]] = 0
        forward_var = init_vvars
        for feat in feats:
            bptrs_t, viterbivars_t = [], []
            for next_tag in range(self.tagset_size):
                next_tag_var = forward_var + self.transitions[next_tag]
                best_tag_id = argmax(next_tag_var)
                bptrs_t.append(best_tag_id)
                viterbivars_t.append(next_tag_var[0][best_tag_id].view(1))
            forward_var = (torch.cat(viterbivars_t) + feat).view(1, -1)
            backpointers.append(bptrs_t)
        terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
        best_tag_id = argmax(terminal_var)
        path_score = terminal_var[0][best_tag_id]
        best_path = [best_tag_id]
        for bptrs_t in reversed(backpointers):
            best_tag_id = bptrs_t[best_tag_id]
            best_path.append(best_tag_id)
        start = best_path.pop()
        assert start == self.tag_to_ix[START_TAG]
        best_path.reverse()
        return path_score, best_path

    def neg_log_likelihood(self, sentence, tags):
        feats = self._get_lstm_features(sentence)
        forward_score = self._forward_alg(feats)
        gold_score = self._score_sentence(feats, tags)
        return forward_score - gold_score

    def forward(self, sentence):
        lstm_feats = self._get_lstm_features(sentence)
        score, tag_seq = self._viterbi_decode(lstm_feats)
        return score, tag_seq


training_data = [(
    "the wall street journal reported today that apple corporation made money".split(),
    "B I I I O O O B I O O".split()
), (
    "georgia tech is a university in georgia".split(),
    "B I O O O O B".split()
), (
    "apple made money in georgia today".split(),
    "B O O O B O".split()
)]
word_to_ix = {}
for sentence, tags in training_data:
    for word in sentence:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)
tag_to_ix = {"B": 0, "I": 1, "O": 2, START_TAG: 3, STOP_TAG: 4}

model = BiLSTM_CRF(len(word_to_ix), tag_to_ix, EMBEDDING_DIM, HIDDEN_DIM)
np_params(model, 0, scale=0.5)
model.fix_transitions()
optimizer = optim.SGD(model.parameters(), lr=0.05, weight_decay=1e-4)

with torch.no_grad():
    precheck_sent = prepare_sequence(training_data[0][0], word_to_ix)
    score, path = model(precheck_sent)
    record("before_score", score)
    record("before_path", path)
    print(f"before: {score.item():.4f} {path}")

nlls = []
for epoch in range(3):
    for sentence, tags in training_data:
        model.zero_grad()
        sentence_in = prepare_sequence(sentence, word_to_ix)
        targets = torch.tensor([tag_to_ix[t] for t in tags], dtype=torch.long)
        loss = model.neg_log_likelihood(sentence_in, targets)
        loss.backward()
        optimizer.step()
        nlls.append(loss.item())
record("nlls", nlls)
record("transitions", model.transitions)
with torch.no_grad():
    score, path = model(prepare_sequence(training_data[0][0], word_to_ix))
    record("after_score", score)
    record("after_path", path)
    print(f"after: {score.item():.4f} {path}")


# ---- batched: padded sentences, packed BiLSTM, masked forward algorithm and Viterbi
class BatchedCRFTagger(nn.Module):
    def __init__(self, base):
        super().__init__()
        self.base = base  # shares the embedding, LSTM, linear layer and transitions
        self.start, self.stop = tag_to_ix[START_TAG], tag_to_ix[STOP_TAG]

    def features(self, padded, lengths):
        embeds = self.base.word_embeds(padded)  # (T, B, E)
        packed = pack_padded_sequence(embeds, lengths, enforce_sorted=False)
        out, _ = self.base.lstm(packed)
        out, out_lengths = pad_packed_sequence(out, total_length=padded.size(0))
        return self.base.hidden2tag(out), out_lengths

    def log_partition(self, feats, mask):
        T, B, K = feats.shape
        trans = self.base.transitions  # trans[next, prev]
        alpha = torch.full((B, K), -10000.0)
        alpha[:, self.start] = 0.0
        for t in range(T):
            nxt = torch.logsumexp(alpha.unsqueeze(1) + trans.unsqueeze(0), dim=2) + feats[t]
            alpha = torch.where(mask[t].unsqueeze(1), nxt, alpha)
        return torch.logsumexp(alpha + trans[self.stop].unsqueeze(0), dim=1)

    def gold_score(self, feats, tags, mask):
        T, B, K = feats.shape
        trans = self.base.transitions
        start = torch.full((1, B), self.start, dtype=torch.long)
        prev = torch.cat([start, tags[:-1]], 0)
        emit = feats.gather(2, tags.unsqueeze(2)).squeeze(2)
        step = (trans[tags, prev] + emit) * mask
        last = tags.gather(0, (mask.sum(0).long() - 1).unsqueeze(0)).squeeze(0)
        return step.sum(0) + trans[self.stop, last]

    def viterbi(self, feats, mask):
        T, B, K = feats.shape
        trans = self.base.transitions
        score = torch.full((B, K), -10000.0)
        score[:, self.start] = 0.0
        history = []
        for t in range(T):
            cand = score.unsqueeze(1) + trans.unsqueeze(0)  # (B, next, prev)
            best, idx = cand.max(dim=2)
            nxt = best + feats[t]
            score = torch.where(mask[t].unsqueeze(1), nxt, score)
            history.append(idx)
        score = score + trans[self.stop].unsqueeze(0)
        best_score, best_last = score.max(dim=1)
        lengths = mask.sum(0).long().tolist()
        paths = []
        for b in range(B):
            tag = best_last[b].item()
            path = [tag]
            for t in range(lengths[b] - 1, 0, -1):
                tag = history[t][b, tag].item()
                path.append(tag)
            paths.append(path[::-1])
        return best_score, paths


tagger = BatchedCRFTagger(model)
seqs = [prepare_sequence(s, word_to_ix) for s, _ in training_data]
tag_seqs = [torch.tensor([tag_to_ix[t] for t in tg], dtype=torch.long) for _, tg in training_data]
lengths = torch.tensor([len(s) for s in seqs])
padded = pad_sequence(seqs, padding_value=0)  # (T, B)
padded_tags = pad_sequence(tag_seqs, padding_value=tag_to_ix["O"])
mask = torch.arange(padded.size(0)).unsqueeze(1) < lengths.unsqueeze(0)
record("padded", padded)
record("mask", mask)
print("padded", padded.shape, "lengths", lengths.tolist())

feats, out_lengths = tagger.features(padded, lengths)
record("out_lengths", out_lengths)
nll = tagger.log_partition(feats, mask) - tagger.gold_score(feats, padded_tags, mask.float())
record("batched_nll", nll)
with torch.no_grad():
    single = torch.stack([model.neg_log_likelihood(s, tg).squeeze() for s, tg in zip(seqs, tag_seqs)])
record("batched_eq_single", torch.allclose(nll, single, atol=1e-3))
bscore, bpaths = tagger.viterbi(feats.detach(), mask)
record("viterbi_scores", bscore)
record("viterbi_paths", bpaths)
with torch.no_grad():
    record("viterbi_eq_single", [model(s)[1] for s in seqs] == bpaths)

opt = optim.Adam(model.parameters(), lr=0.01)
batched_losses = []
for it in range(4):
    opt.zero_grad()
    feats, _ = tagger.features(padded, lengths)
    loss = (tagger.log_partition(feats, mask) - tagger.gold_score(feats, padded_tags, mask.float())).mean()
    loss.backward()
    opt.step()
    batched_losses.append(loss.item())
record("batched_losses", batched_losses)
record("lstm_w", model.lstm.weight_hh_l0_reverse)
record("emb_grad", model.word_embeds.weight.grad)

packed = pack_sequence(seqs, enforce_sorted=False)
record("packed_batch_sizes", packed.batch_sizes)
record("packed_sorted", packed.sorted_indices)
record("packed_unsorted", packed.unsorted_indices)
record("packed_data", packed.data)
print(type(packed).__name__, packed.data.shape, packed.batch_sizes.tolist())
finish()
