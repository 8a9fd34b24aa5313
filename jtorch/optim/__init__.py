"""jtorch.optim: PyTorch's optimizers (same update rules, same state dicts) and LR schedulers.

Each optimizer's update over a param group is one jitted pure function in
``jtorch/_ops/optim_ops.py`` (hyper-parameters traced, options static), written back into the
same parameter and state tensors, so ``optimizer.step()`` has no host syncs and compiles inside
``jtorch.compile``. State dicts use torch's layout and key names and load across libraries.
"""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam
from .adamw import AdamW
from .rmsprop import RMSprop
from .adagrad import Adagrad
from .adadelta import Adadelta
from .adamax import Adamax
from .nadam import NAdam
from .radam import RAdam
from .asgd import ASGD
from .rprop import Rprop
from .lbfgs import LBFGS
from .adafactor import Adafactor
from .sparse_adam import SparseAdam
from .muon import Muon
from . import lr_scheduler, swa_utils
from .swap_state import swap_in_optimizer_params_and_state

__all__ = ["Adafactor", "Adadelta", "Adagrad", "Adam", "Adamax", "AdamW", "ASGD", "LBFGS", "lr_scheduler", "Muon",
           "NAdam", "Optimizer", "RAdam", "RMSprop", "Rprop", "SGD", "SparseAdam", "swa_utils",
           "swap_in_optimizer_params_and_state"]
