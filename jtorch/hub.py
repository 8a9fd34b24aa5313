"""torch.hub: the checkpoint cache (``$TORCH_HOME/hub/checkpoints``), downloads with a
sha256-prefix check, and loading of local hub repos (``hubconf.py``).

Like torch, the hash prefix in a file name (``resnet18-f37072fd.pth``) is checked only
right after a download: a file already in the cache is trusted and loaded as is.
"""
import hashlib
import importlib.util
import os
import re
import sys
import urllib.request
import warnings
from urllib.parse import urlparse

from ._atomic import atomic_open

__all__ = ["get_dir", "set_dir", "download_url_to_file", "load_state_dict_from_url", "load", "list", "help"]

_HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
_hub_dir = None
_READ_SIZE = 8192


def _get_torch_home():
    default = os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")
    return os.path.expanduser(os.getenv("TORCH_HOME", default))


def get_dir():
    """The hub directory: set_dir()'s value, else $TORCH_HOME/hub (default ~/.cache/torch/hub)."""
    if os.getenv("TORCH_HUB"):
        warnings.warn("TORCH_HUB is deprecated, please use env TORCH_HOME instead")
    if _hub_dir is not None:
        return _hub_dir
    return os.path.join(_get_torch_home(), "hub")


def set_dir(d):
    global _hub_dir
    _hub_dir = os.path.expanduser(d)


def download_url_to_file(url, dst, hash_prefix=None, progress=True):
    """Download ``url`` to ``dst`` through a temporary file in the same folder (so a
    half-written file never appears under the final name); check the sha256 prefix."""
    dst = os.path.expanduser(dst)
    req = urllib.request.Request(url, headers={"User-Agent": "jtorch.hub"})
    with urllib.request.urlopen(req) as u:
        meta = u.info()
        total = meta.get("Content-Length") if hasattr(meta, "get") else None
        total = int(total) if total else None
        with atomic_open(dst) as f:
            sha = hashlib.sha256() if hash_prefix is not None else None
            done = 0
            while True:
                buf = u.read(_READ_SIZE)
                if not buf:
                    break
                f.write(buf)
                if sha is not None:
                    sha.update(buf)
                done += len(buf)
                if progress:
                    pct = f" {100 * done // total}%" if total else ""
                    sys.stderr.write(f"\r{done / 1e6:.1f} MB{pct}")
            if progress:
                sys.stderr.write("\n")
            if sha is not None:
                digest = sha.hexdigest()
                if digest[:len(hash_prefix)] != hash_prefix:
                    raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest}")')


def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True, check_hash=False,
                             file_name=None, weights_only=False):
    """Load a serialized object from ``<hub>/checkpoints/<file name of the url>``,
    downloading it first when it is not cached."""
    import jtorch
    if os.getenv("TORCH_MODEL_ZOO"):
        warnings.warn("TORCH_MODEL_ZOO is deprecated, please use env TORCH_HOME instead")
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name or os.path.basename(urlparse(url).path)
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        sys.stderr.write(f'Downloading: "{url}" to {cached_file}\n')
        hash_prefix = None
        if check_hash:
            m = _HASH_REGEX.search(filename)
            hash_prefix = m.group(1) if m else None
        download_url_to_file(url, cached_file, hash_prefix, progress=progress)
    return jtorch.load(cached_file, map_location=map_location, weights_only=weights_only)


def _load_hubconf(repo_dir):
    path = os.path.join(repo_dir, "hubconf.py")
    if not os.path.exists(path):
        raise FileNotFoundError(f"Cannot find hubconf.py in {repo_dir}")
    spec = importlib.util.spec_from_file_location("hubconf", path)
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, repo_dir)
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(repo_dir)
    return mod


def _repo_dir(repo_or_dir, source):
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "local":
        return repo_or_dir
    # A github repo is used only when it is already in the hub cache (owner_name_ref).
    owner_name, _, ref = repo_or_dir.partition(":")
    owner, _, name = owner_name.partition("/")
    for cand in ([f"{owner}_{name}_{ref}"] if ref else [f"{owner}_{name}_main", f"{owner}_{name}_master"]):
        d = os.path.join(get_dir(), cand)
        if os.path.isdir(d):
            return d
    raise RuntimeError(f"jtorch.hub cannot fetch github repos; {repo_or_dir} is not in the hub cache {get_dir()}")


def _entry(mod, model):
    fn = getattr(mod, model, None)
    if fn is None or not callable(fn):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return fn


def list(github, force_reload=False, skip_validation=False, trust_repo=None, verbose=True):  # noqa: A001
    mod = _load_hubconf(_repo_dir(github, "github" if not os.path.isdir(github) else "local"))
    return [f for f in dir(mod) if callable(getattr(mod, f)) and not f.startswith("_")]


def help(github, model, force_reload=False, skip_validation=False, trust_repo=None):  # noqa: A001
    mod = _load_hubconf(_repo_dir(github, "github" if not os.path.isdir(github) else "local"))
    return _entry(mod, model).__doc__


def load(repo_or_dir, model, *args, source="github", trust_repo=None, force_reload=False, verbose=True,
         skip_validation=False, **kwargs):
    """Call entry point ``model`` of the repo's hubconf.py (``source='local'`` or a cached github repo)."""
    mod = _load_hubconf(_repo_dir(repo_or_dir, source.lower()))
    return _entry(mod, model)(*args, **kwargs)
