"""Write jtorch/data/torch_api.json: the public names of the PyTorch namespaces jtorch mirrors.

Run once with real torch (and torchvision) installed:  python scripts/gen_torch_names.py
`python -m jtorch coverage` compares jtorch against this list.
"""
import json
import os
import sys
import types

NAMESPACES = ["torch", "torch.Tensor", "torch.nn", "torch.nn.functional", "torch.nn.init", "torch.nn.utils",
              "torch.optim", "torch.optim.lr_scheduler", "torch.autograd", "torch.utils.data", "torch.linalg",
              "torch.fft", "torch.special", "torch.cuda", "torch.func", "torchvision.transforms",
              "torchvision.transforms.functional", "torchvision.datasets", "torchvision.models", "torchvision.ops"]


def public_names(obj):
    names = []
    for n in dir(obj):
        if n.startswith("_"):
            continue
        try:
            v = getattr(obj, n)
        except Exception:
            continue
        if isinstance(v, types.ModuleType):
            continue  # submodules are namespaces of their own
        names.append(n)
    return sorted(names)


def main():
    import importlib

    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "vision"))
    try:
        import tv
        tv.torchvision()  # defines the operators CPU torch lacks, then imports torchvision
    except Exception:
        pass
    out = {"torch_version": torch.__version__, "namespaces": {}}
    for ns in NAMESPACES:
        mod, _, attr = ns.rpartition(".") if ns == "torch.Tensor" else (ns, None, None)
        try:
            obj = torch.Tensor if ns == "torch.Tensor" else importlib.import_module(ns)
        except Exception as e:
            print("skip", ns, e)
            continue
        out["namespaces"][ns] = public_names(obj)
    path = os.path.join(os.path.dirname(__file__), "..", "jtorch", "data", "torch_api.json")
    with open(path + ".tmp", "w") as f:
        json.dump(out, f, indent=0, sort_keys=True)
    os.replace(path + ".tmp", path)
    print("wrote", path, {k: len(v) for k, v in out["namespaces"].items()})


if __name__ == "__main__":
    main()
