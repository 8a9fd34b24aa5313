"""Fusion on a traced graph: conv-bn(-relu), transposed conv-bn, conv-relu, linear-relu, linear-bn and bn-relu chains
(relu as a module, ``F.relu``/``torch.relu`` or ``.relu()``) become one fused module in the first module's place,
with the eager fuser methods (batch norm folded into the weights outside QAT)."""
from jtorch import nn
from ..fuse_modules import get_fuser_method
from .patterns import is_relu

_CONV_BN = {nn.Conv1d: nn.BatchNorm1d, nn.Conv2d: nn.BatchNorm2d, nn.Conv3d: nn.BatchNorm3d,
            nn.Linear: nn.BatchNorm1d, nn.ConvTranspose1d: nn.BatchNorm1d, nn.ConvTranspose2d: nn.BatchNorm2d,
            nn.ConvTranspose3d: nn.BatchNorm3d}
_TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)  # fused with a batch norm only
_BN_RELU = (nn.BatchNorm2d, nn.BatchNorm3d)


def _only_user(node):
    users = list(node.users)
    return users[0] if len(users) == 1 else None


def _module(node, modules):
    return modules.get(node.target) if node.op == "call_module" else None


def _chain(node, modules):
    """The nodes of the fusable chain starting at ``node`` (one node: nothing to fuse)."""
    first = _module(node, modules)
    chain = [node]
    if type(first) in _CONV_BN:
        nxt = _only_user(node)
        if nxt is not None and type(_module(nxt, modules)) is _CONV_BN[type(first)]:
            chain.append(nxt)
            nxt = _only_user(nxt)
        no_relu = type(first) is nn.Linear and len(chain) == 2 or type(first) in _TRANSPOSED  # (no such fusers)
        if nxt is not None and is_relu(nxt, modules) and not no_relu:
            chain.append(nxt)
    elif type(first) in _BN_RELU:
        nxt = _only_user(node)
        if nxt is not None and is_relu(nxt, modules):
            chain.append(nxt)
    return chain


def _set_module(root, qualified_name, module):
    *path, field = qualified_name.split(".")
    for atom in path:
        root = getattr(root, atom)
    setattr(root, field, module)


def fuse_graph_module(gm, is_qat, fuse_custom_config=None):
    """Fuse ``gm`` in place (its graph and its modules) and return it."""
    modules = dict(gm.named_modules(remove_duplicate=False))  # a module called at two places has two names
    additional = {}
    if isinstance(fuse_custom_config, dict):
        additional = fuse_custom_config.get("additional_fuser_method_mapping", {})
    for node in list(gm.graph.nodes):
        if node.op != "call_module" or node.graph is None:
            continue
        chain = _chain(node, modules)
        if len(chain) == 1:
            continue
        mods = [_module(n, modules) if n.op == "call_module" else nn.ReLU() for n in chain]
        if chain[-1].op != "call_module":
            mods[-1].training = mods[0].training
        fuser = get_fuser_method(tuple(type(m) for m in mods), additional)
        fused = fuser(is_qat, *mods)
        _set_module(gm, node.target, fused)
        modules[node.target] = fused
        chain[-1].replace_all_uses_with(node)
        for n in reversed(chain[1:]):
            gm.graph.erase_node(n)
    gm.graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm
