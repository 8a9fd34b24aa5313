"""PyTorch's older module test dictionaries (torch.testing._internal.common_nn) through jtorch: the entries that
differed from torch (CrossMapLRN2d's legacy backward, module.float() over a sparse gradient) and a sample of one
or two entries per family, compared with torch by scripts/conformance_nn_legacy.py's functions (forward values,
shapes and dtypes, state after forward, repr, input and parameter gradients, second-order gradients where torch's
tests run gradgradcheck, module.float() on float32 inputs). The script runs all 282 entries."""
import pytest
import torch

import jtorch
from scripts import conformance_nn_legacy as legacy

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")

FIXED = ["CrossMapLRN2d", "Embedding_sparse", "EmbeddingBag_sparse"]
# one or two entries per family (the 5 s of Transformer entries left to the script)
SAMPLE = [
    "Linear", "RReLU", "Flatten", "BCELoss_no_reduce", "KLDivLoss_with_target_no_reduce", "NLLLoss_no_reduce",
    "NLLLoss2d_no_reduce", "SmoothL1Loss_zero_beta", "MultiLabelMarginLoss_0d_no_reduce",
    "MultiMarginLoss_weights_no_reduce", "Conv2d", "ConvTranspose1d", "ReplicationPad3d", "EmbeddingBag_mean",
    "PixelShuffle", "interpolate_bilinear_2d", "softmax_lastdim", "log_softmax_lastdim", "Fold",
    "PairwiseDistance", "Unflatten_no_batch_dim", "PReLU_no_batch_dim", "GELU_no_batch_dim", "GLU_no_batch_dim",
    "CosineEmbeddingLoss_no_batch_dim_none", "TripletMarginLoss_no_batch_dim_none", "NLLLoss_no_batch_dim_mean",
    "BCEWithLogitsLoss_no_batch_dim_sum",
]


@pytest.fixture(scope="module")
def entries():
    with torch.random.fork_rng():
        return {name: (kind, entry) for kind, name, entry in legacy.entries(torch)}


@pytest.fixture(scope="module")
def rebinder():
    return legacy.Rebinder(torch, jtorch)


@pytest.mark.parametrize("name", FIXED + SAMPLE)
def test_common_nn_entry(name, entries, rebinder):
    kind, entry = entries[name]
    with torch.random.fork_rng():
        assert legacy.check_entry(kind, entry, torch, jtorch, rebinder=rebinder) is None
