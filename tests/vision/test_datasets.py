"""jtorch.vision.datasets against real torchvision on the same local files (written here in the
real on-disk formats), the download path through file:// URLs, and the shipped Digits."""
import builtins
import gzip
import hashlib
import importlib
import os
import pickle
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

import jtorch
import jtorch.vision.datasets as JD
from jtorch.data import load_digits
from helpers import assert_close
from tv import torchvision

tv = torchvision()
TD = tv.datasets


# ---------------------------------------------------------------- writing the real formats

def _idx_bytes(array):
    """An IDX file: 2 zero bytes, a type code (0x08 = ubyte), ndim, big-endian dims, then the data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _write_mnist(raw, rng, n_train=12, n_test=5, compress=False, prefix=("train", "t10k")):
    os.makedirs(raw, exist_ok=True)
    arrays = {}
    for split, n in zip(prefix, (n_train, n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        arrays[split] = (images, labels)
        for name, arr in ((f"{split}-images-idx3-ubyte", images), (f"{split}-labels-idx1-ubyte", labels)):
            data = _idx_bytes(arr)
            if compress:
                with gzip.open(os.path.join(raw, name + ".gz"), "wb") as f:
                    f.write(data)
            else:
                with open(os.path.join(raw, name), "wb") as f:
                    f.write(data)
    return arrays


def _md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def _write_cifar(folder, rng, names, label_key, meta_name, meta_key, n_per=6, n_classes=10):
    os.makedirs(folder, exist_ok=True)
    for name in names:
        entry = {"batch_label": name, label_key: [int(v) for v in rng.integers(0, n_classes, n_per)],
                 "data": rng.integers(0, 256, (n_per, 3072), dtype=np.uint8),
                 "filenames": [f"img{k}.png" for k in range(n_per)]}
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump(entry, f, protocol=2)
    with open(os.path.join(folder, meta_name), "wb") as f:
        pickle.dump({meta_key: [f"class{k}" for k in range(n_classes)], "num_vis": 3072}, f, protocol=2)
    return {name: [name, _md5(os.path.join(folder, name))] for name in names}, _md5(os.path.join(folder, meta_name))


def _same_items(j_ds, t_ds):
    assert len(j_ds) == len(t_ds)
    for k in range(len(t_ds)):
        (ji, jt), (ti, tt) = j_ds[k], t_ds[k]
        assert type(jt) is type(tt) and jt == tt
        assert isinstance(ji, Image.Image) and (ji.mode, ji.size) == (ti.mode, ti.size)
        assert ji.tobytes() == ti.tobytes()


# ---------------------------------------------------------------- MNIST family

@pytest.mark.parametrize("train", [True, False])
def test_mnist_matches_torchvision(tmp_path, rng, train):
    _write_mnist(tmp_path / "MNIST" / "raw", rng)
    j, t = JD.MNIST(str(tmp_path), train=train), TD.MNIST(str(tmp_path), train=train)
    _same_items(j, t)
    assert_close(j.data, t.data)
    assert_close(j.targets, t.targets)
    assert j.class_to_idx == t.class_to_idx and j.classes == t.classes
    assert repr(j) == repr(t)
    assert j.raw_folder == t.raw_folder


def test_mnist_relatives_and_gz_only(tmp_path, rng):
    for name in ("FashionMNIST", "KMNIST"):
        _write_mnist(tmp_path / name / "raw", rng, n_train=3, n_test=2)
        _same_items(getattr(JD, name)(str(tmp_path), train=False), getattr(TD, name)(str(tmp_path), train=False))
        assert getattr(JD, name).classes == getattr(TD, name).classes
    raw = tmp_path / "EMNIST" / "raw"
    os.makedirs(raw)
    _write_mnist(raw, rng, n_train=4, n_test=2, prefix=("emnist-letters-train", "emnist-letters-test"))
    j, t = JD.EMNIST(str(tmp_path), split="letters"), TD.EMNIST(str(tmp_path), split="letters")
    _same_items(j, t)
    assert j.classes == t.classes
    with pytest.raises(ValueError, match="Unknown value 'nope' for argument split"):
        JD.EMNIST(str(tmp_path), split="nope")
    # only the compressed files present: read through gzip
    gz_root = tmp_path / "gz"
    arrays = _write_mnist(gz_root / "MNIST" / "raw", rng, compress=True)
    ds = JD.MNIST(str(gz_root))
    np.testing.assert_array_equal(np.asarray(ds.data), arrays["train"][0])
    assert [ds[k][1] for k in range(len(ds))] == arrays["train"][1].tolist()


def test_mnist_legacy_processed_files(tmp_path, rng):
    """Roots prepared by old torchvision releases: (data, targets) saved in processed/*.pt."""
    processed = tmp_path / "MNIST" / "processed"
    os.makedirs(processed)
    for name, n in (("training.pt", 4), ("test.pt", 2)):
        torch.save((torch.from_numpy(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
                    torch.from_numpy(rng.integers(0, 10, n))), processed / name)
    for train in (True, False):
        _same_items(JD.MNIST(str(tmp_path), train=train), TD.MNIST(str(tmp_path), train=train))


def test_missing_dataset_errors(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True to download it"):
        JD.MNIST(str(tmp_path))
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted. You can use download=True"):
        JD.CIFAR10(str(tmp_path))
    with pytest.raises(RuntimeError, match="Dataset not found"):
        TD.MNIST(str(tmp_path))


def test_mnist_download_from_mirror(tmp_path, rng):
    """download=True fetches each file from the first mirror that works, checks md5, unzips."""
    served = tmp_path / "served"
    arrays = _write_mnist(served, rng, compress=True)
    resources = [(f, _md5(served / f)) for f in sorted(os.listdir(served))]

    class LocalMNIST(JD.MNIST):
        mirrors = [(tmp_path / "missing").as_uri() + "/", served.as_uri() + "/"]

    LocalMNIST.resources = resources
    ds = LocalMNIST(str(tmp_path / "root"), train=False, download=True)
    assert os.path.isfile(tmp_path / "root" / "LocalMNIST" / "raw" / "t10k-images-idx3-ubyte")
    np.testing.assert_array_equal(np.asarray(ds.data), arrays["t10k"][0])
    # a corrupted download is an error, not a silently wrong dataset
    LocalMNIST.resources = [(f, "0" * 32) for f, _ in resources]
    with pytest.raises(RuntimeError, match="Error downloading"):
        LocalMNIST(str(tmp_path / "root2"), download=True)


# ---------------------------------------------------------------- CIFAR

def _cifar_classes(tmp_path, rng, hundred=False):
    if hundred:
        folder = tmp_path / "cifar-100-python"
        lists, meta_md5 = _write_cifar(folder, rng, ["train", "test"], "fine_labels", "meta", "fine_label_names",
                                       n_classes=100)
        train, test, meta = [lists["train"]], [lists["test"]], {"filename": "meta", "key": "fine_label_names"}
        bases = JD.CIFAR100, TD.CIFAR100
    else:
        folder = tmp_path / "cifar-10-batches-py"
        names = [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]
        lists, meta_md5 = _write_cifar(folder, rng, names, "labels", "batches.meta", "label_names")
        train, test = [lists[n] for n in names[:5]], [lists["test_batch"]]
        meta = {"filename": "batches.meta", "key": "label_names"}
        bases = JD.CIFAR10, TD.CIFAR10
    attrs = dict(train_list=train, test_list=test, meta=dict(meta, md5=meta_md5))
    # the same class name for both, so their reprs are comparable
    return [type(bases[0].__name__, (b,), attrs) for b in bases]


@pytest.mark.parametrize("hundred", [False, True])
def test_cifar_matches_torchvision(tmp_path, rng, hundred):
    J, T = _cifar_classes(tmp_path, rng, hundred)
    for train in (True, False):
        j, t = J(str(tmp_path), train=train), T(str(tmp_path), train=train)
        _same_items(j, t)
        np.testing.assert_array_equal(j.data, t.data)
        assert j.targets == t.targets and j.classes == t.classes and j.class_to_idx == t.class_to_idx
        assert repr(j) == repr(t)


def test_cifar_download_and_extract(tmp_path, rng):
    J, _ = _cifar_classes(tmp_path / "build", rng)
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "build" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    J.url, J.tgz_md5 = archive.as_uri(), _md5(archive)
    root = tmp_path / "root"
    ds = J(str(root), train=True, download=True)
    assert len(ds) == 30 and os.path.isfile(root / "cifar-10-python.tar.gz")
    ref = J(str(tmp_path / "build"))
    np.testing.assert_array_equal(ds.data, ref.data)
    # a damaged batch fails the integrity check
    with open(root / "cifar-10-batches-py" / "data_batch_1", "ab") as f:
        f.write(b"x")
    os.remove(root / "cifar-10-python.tar.gz")
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        J(str(root))


# ---------------------------------------------------------------- folders

def _write_image_tree(root, rng):
    for cls, ext, mode in (("cat", ".png", "RGB"), ("dog", ".JPG", "RGB"), ("emu", ".bmp", "L")):
        os.makedirs(root / cls / "sub", exist_ok=True)
        for k in range(2):
            arr = rng.integers(0, 256, (5 + k, 7, 3) if mode == "RGB" else (5 + k, 7), dtype=np.uint8)
            Image.fromarray(arr).save(root / cls / f"{k}{ext}")
        Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).save(root / cls / "sub" / "n.png")
        (root / cls / "notes.txt").write_text("not an image")


def test_image_folder_matches_torchvision(tmp_path, rng):
    _write_image_tree(tmp_path, rng)
    j, t = JD.ImageFolder(str(tmp_path)), TD.ImageFolder(str(tmp_path))
    assert j.classes == t.classes == ["cat", "dog", "emu"]
    assert j.class_to_idx == t.class_to_idx
    assert j.samples == t.samples and j.imgs == t.imgs and j.targets == t.targets
    _same_items(j, t)
    assert repr(j) == repr(t)
    only_png = lambda p: p.endswith(".png")  # noqa: E731
    j2, t2 = JD.ImageFolder(str(tmp_path), is_valid_file=only_png, allow_empty=True), \
        TD.ImageFolder(str(tmp_path), is_valid_file=only_png, allow_empty=True)
    assert j2.samples == t2.samples


def test_dataset_folder_rules_and_errors(tmp_path, rng):
    _write_image_tree(tmp_path, rng)
    j = JD.DatasetFolder(str(tmp_path), loader=lambda p: open(p).read(), extensions=(".txt",))
    t = TD.DatasetFolder(str(tmp_path), loader=lambda p: open(p).read(), extensions=(".txt",))
    assert j.samples == t.samples and j[1] == t[1] == ("not an image", 1)
    for kw in (dict(extensions=None), dict(extensions=(".txt",), is_valid_file=lambda p: True)):
        with pytest.raises(ValueError, match="Both extensions and is_valid_file cannot be None"):
            JD.DatasetFolder(str(tmp_path), loader=open, **kw)
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes cat, dog, emu"):
        JD.DatasetFolder(str(tmp_path), loader=open, extensions=(".xyz",))
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        JD.ImageFolder(str(tmp_path / "cat" / "sub"))
    assert JD.folder.find_classes(str(tmp_path)) == TD.folder.find_classes(str(tmp_path))


# ---------------------------------------------------------------- others

def test_fake_data_and_transforms_repr(rng):
    ds = JD.FakeData(size=3, image_size=(3, 6, 5), num_classes=4)
    img, target = ds[1]
    assert isinstance(img, Image.Image) and img.mode == "RGB" and img.size == (5, 6)
    assert isinstance(target, int) and 0 <= target < 4
    assert ds[1][0].tobytes() == img.tobytes() and ds[1][1] == target  # same item every time
    assert ds[0][0].tobytes() != img.tobytes()
    with pytest.raises(IndexError, match="FakeData index out of range"):
        ds[3]

    class Named:
        def __call__(self, x):
            return x

        def __repr__(self):
            return "Named(\n  multi-line)"

    j = JD.FakeData(size=2, transform=Named(), target_transform=Named())
    t = TD.FakeData(size=2, transform=Named(), target_transform=Named())
    assert repr(j) == repr(t)
    with pytest.raises(ValueError, match="Only transforms or transform/target_transform"):
        JD.VisionDataset("r", transforms=Named(), transform=Named())


def test_digits_shipped_dataset():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and images.max() == 16
    assert labels.shape == (1797,) and labels.dtype == np.int64 and set(labels.tolist()) == set(range(10))
    train, test = JD.Digits(train=True), JD.Digits(train=False)
    assert len(train) + len(test) == 1797 and len(train) == round(0.8 * 1797)
    img, label = train[0]
    assert isinstance(img, Image.Image) and img.mode == "L" and img.size == (8, 8) and isinstance(label, int)
    assert train.data.dtype == jtorch.uint8 and int(train.data.max()) == 255
    # the split is a fixed partition of the shipped images (scaled 0..16 -> 0..255)
    scaled = (images.astype(np.int64) * 255 + 8) // 16
    rows = {r.tobytes() + bytes([l]) for r, l in zip(scaled.astype(np.uint8), labels)}
    got = [r.tobytes() + bytes([int(lab)]) for d in (train, test) for r, lab in zip(np.asarray(d.data),
                                                                                   np.asarray(d.targets))]
    assert set(got) <= rows and len(got) == 1797
    np.testing.assert_array_equal(np.asarray(JD.Digits(train=False).targets), np.asarray(test.targets))
    loader = jtorch.utils.data.DataLoader(JD.Digits(transform=np.array), batch_size=64)
    x, y = next(iter(loader))
    assert tuple(x.shape) == (64, 8, 8) and x.dtype == jtorch.uint8 and y.dtype == jtorch.int64


# ---------------------------------------------------------------- the seed's data-loading section

SEED_SNIPPET = '''
from torch.utils.data import Dataset, DataLoader

# Custom dataset
class MyDataset(Dataset):
    def __init__(self, data, labels):
        self.data = data
        self.labels = labels
    
    def __len__(self):
        return len(self.data)
    
    def __getitem__(self, idx):
        return self.data[idx], self.labels[idx]

# Create data loader
dataset = MyDataset(data, labels)
loader = DataLoader(dataset, batch_size=32, shuffle=True)

# Built-in datasets
from torchvision import datasets, transforms

transform = transforms.Compose([
    transforms.ToTensor(),
    transforms.Normalize((0.5,), (0.5,))
])

train_dataset = datasets.MNIST(root='./data', train=True,
                             download=True, transform=transform)
'''


def _as_jtorch_import(name, globals=None, locals=None, fromlist=(), level=0):
    """``import torch`` / ``torchvision`` resolving to jtorch / jtorch.vision (what `jtorch run` does)."""
    if name == "torchvision" or name.startswith("torchvision."):
        target = "jtorch.vision" + name[len("torchvision"):]
    elif name == "torch" or name.startswith("torch."):
        target = "jtorch" + name[len("torch"):]
    else:
        return builtins.__import__(name, globals, locals, fromlist, level)
    module = importlib.import_module(target)
    return module if fromlist else importlib.import_module(target.split(".")[0])


def test_seed_data_loading_section(tmp_path, rng, monkeypatch):
    arrays = _write_mnist(tmp_path / "data" / "MNIST" / "raw", rng, n_train=40, n_test=3)
    monkeypatch.chdir(tmp_path)  # the snippet uses root='./data'; the files are there, so no download
    x = rng.standard_normal((40, 5)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    env = {"__builtins__": dict(vars(builtins), __import__=_as_jtorch_import), "__name__": "seed",
           "data": jtorch.tensor(x), "labels": jtorch.tensor(y)}
    exec(compile(SEED_SNIPPET, "seed", "exec"), env)

    batches = list(env["loader"])
    assert [tuple(b[0].shape) for b in batches] == [(32, 5), (8, 5)]
    got = np.concatenate([np.asarray(b[0]) for b in batches])
    assert sorted(map(tuple, got.tolist())) == sorted(map(tuple, x.tolist()))  # shuffled, nothing lost

    train = env["train_dataset"]
    assert len(train) == 40
    ref = TD.MNIST(str(tmp_path / "data"), train=True, transform=tv.transforms.Compose(
        [tv.transforms.ToTensor(), tv.transforms.Normalize((0.5,), (0.5,))]))
    for k in (0, 17):
        (jx, jy), (tx, ty) = train[k], ref[k]
        assert_close(jx, tx)
        assert jy == ty == int(arrays["train"][1][k])
    batch_x, batch_y = next(iter(jtorch.utils.data.DataLoader(train, batch_size=8)))
    tref = next(iter(torch.utils.data.DataLoader(ref, batch_size=8)))
    assert_close(batch_x, tref[0])
    assert_close(batch_y, tref[1])
