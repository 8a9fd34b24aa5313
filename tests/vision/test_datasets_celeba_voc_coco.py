"""CelebA, VOCSegmentation/VOCDetection and CocoDetection/CocoCaptions on fake files in the real
layouts: against real torchvision (COCO only when pycocotools is installed, otherwise against the
values written into the annotation file), and their download paths."""
import importlib.util
import json
import os
import shutil
import tarfile

import numpy as np
import pytest
from PIL import Image

import jtorch
import jtorch.vision.datasets as JD
import jtorch.vision.datasets.celeba as j_celeba
import jtorch.vision.datasets.voc as j_voc
from ds_oracle import md5, same_items, same_value, write_image
from tv import torchvision

tv = torchvision()
TD = tv.datasets

# ---------------------------------------------------------------- CelebA

_ATTRS = ["5_o_Clock_Shadow", "Arched_Eyebrows", "Bald", "Smiling", "Young"]


def _write_celeba(base, rng, n=7):
    os.makedirs(base / "img_align_celeba")
    names = [f"{k + 1:06d}.jpg" for k in range(n)]
    for name in names:
        write_image(str(base / "img_align_celeba" / name), rng, (6, 7))
    parts = [0, 0, 1, 2, 0, 1, 2][:n]

    def table(filename, rows, header=None):
        with open(base / filename, "w") as f:
            if header is not None:
                f.write(f"{n}\n{header}\n")
            for name, values in zip(names, rows):
                f.write(name + "".join(f" {v}" if v < 0 else f"  {v}" for v in values) + "\n")

    table("list_eval_partition.txt", [[p] for p in parts])
    table("identity_CelebA.txt", [[int(v)] for v in rng.integers(1, 10178, n)])
    table("list_bbox_celeba.txt", rng.integers(0, 400, (n, 4)).tolist(), "image_id x_1 y_1 width height")
    table("list_landmarks_align_celeba.txt", rng.integers(60, 160, (n, 10)).tolist(),
          "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y")
    table("list_attr_celeba.txt", (rng.integers(0, 2, (n, len(_ATTRS))) * 2 - 1).tolist(), " ".join(_ATTRS) + " ")
    return [(fid, (m if name.endswith(".zip") else md5(base / name)), name) for fid, m, name in JD.CelebA.file_list]


@pytest.mark.parametrize("split", ["train", "valid", "test", "all", "TEST"])
def test_celeba_matches_torchvision(tmp_path, rng, split):
    file_list = _write_celeba(tmp_path / "celeba", rng)
    J, T = (type("CelebA", (b,), {"file_list": file_list}) for b in (JD.CelebA, TD.CelebA))
    for target_type in ("attr", ["identity", "bbox", "landmarks", "attr"], []):
        j = J(str(tmp_path), split=split, target_type=target_type)
        t = T(str(tmp_path), split=split, target_type=target_type)
        same_items(j, t)
        assert j.filename == t.filename and j.attr_names == t.attr_names
        for name in ("attr", "identity", "bbox", "landmarks_align"):
            same_value(getattr(j, name), getattr(t, name))
        assert repr(j) == repr(t)
    assert set(np.unique(j.attr.numpy())) <= {0, 1}


def test_celeba_errors_and_download(tmp_path, rng, monkeypatch):
    served = tmp_path / "served"
    file_list = _write_celeba(served / "celeba", rng)
    J = type("CelebA", (JD.CelebA,), {"file_list": file_list})
    with pytest.raises(ValueError, match="Unknown value 'val' for argument split"):
        J(str(served), split="val")
    with pytest.raises(RuntimeError, match="target_transform is specified but target_type is empty"):
        J(str(served), target_type=[], target_transform=str)
    with pytest.raises(ValueError, match='Target type "pose" is not recognized'):
        J(str(served), target_type=["attr", "pose"])[0]
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted. You can use download=True"):
        JD.CelebA(str(served))  # real checksums
    if importlib.util.find_spec("gdown") is None:
        with pytest.raises(RuntimeError, match="'gdown' is required"):
            J(str(tmp_path / "none"), download=True)

    # Google Drive itself cannot be reached here: serve each file id from the local copies
    shutil.make_archive(str(served / "celeba" / "img_align_celeba"), "zip", served / "celeba", "img_align_celeba")
    by_id = {fid: name for fid, _, name in file_list}
    calls = []

    def fake_drive(file_id, root, filename=None, md5=None):
        calls.append((file_id, filename))
        os.makedirs(root, exist_ok=True)
        shutil.copy(served / "celeba" / by_id[file_id], os.path.join(root, filename))

    monkeypatch.setattr(j_celeba, "download_file_from_google_drive", fake_drive)
    j = J(str(tmp_path / "root"), split="all", target_type=["attr", "identity"], download=True)
    assert [c[1] for c in calls] == [name for _, _, name in file_list]
    same_items(j, type("CelebA", (TD.CelebA,), {"file_list": file_list})(str(served), split="all",
                                                                         target_type=["attr", "identity"]))


# ---------------------------------------------------------------- VOC

_XML = """<annotation>
  <folder>VOC2012</folder>
  <filename>{name}.jpg</filename>
  <source><database>The VOC2007 Database</database><annotation>PASCAL VOC2007</annotation></source>
  <size><width>7</width><height>6</height><depth>3</depth></size>
  <segmented>{seg}</segmented>
  {objects}
</annotation>"""
_OBJECT = """<object>
    <name>{cls}</name><pose>Left</pose><truncated>0</truncated><difficult>{d}</difficult>
    <bndbox><xmin>{x}</xmin><ymin>2</ymin><xmax>6</xmax><ymax>5</ymax></bndbox>
    {parts}
  </object>"""
_PARTS = "<part><name>head</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></part>" \
         "<part><name>hand</name><bndbox><xmin>3</xmin><ymin>3</ymin><xmax>4</xmax><ymax>4</ymax></bndbox></part>"


def _write_voc(voc_root, rng, ids=("2008_000002", "2008_000008", "2009_000010")):
    for sub in ("ImageSets/Segmentation", "ImageSets/Main", "SegmentationClass", "Annotations"):
        os.makedirs(voc_root / sub, exist_ok=True)
    palette = rng.integers(0, 256, 768).tolist()
    for k, image_id in enumerate(ids):
        write_image(str(voc_root / "JPEGImages" / f"{image_id}.jpg"), rng, (7, 6), "L" if k == 1 else "RGB")
        mask = Image.fromarray(rng.integers(0, 21, (6, 7), dtype=np.uint8))
        mask = mask.convert("P")
        mask.putpalette(palette)
        mask.save(voc_root / "SegmentationClass" / f"{image_id}.png")
        objects = "".join(_OBJECT.format(cls=c, d=k % 2, x=1 + m, parts=_PARTS if m == 0 else "")
                          for m, c in enumerate(["person", "dog", "cat"][:k]))
        (voc_root / "Annotations" / f"{image_id}.xml").write_text(_XML.format(name=image_id, seg=k % 2,
                                                                              objects=objects))
    for split, chosen in (("train", ids[:2]), ("val", ids[2:]), ("trainval", ids)):
        for sub in ("Segmentation", "Main"):
            (voc_root / "ImageSets" / sub / f"{split}.txt").write_text("".join(f"{i}\n" for i in chosen))


@pytest.mark.parametrize("year,base", [("2012", "VOCdevkit/VOC2012"), ("2011", "TrainVal/VOCdevkit/VOC2011")])
def test_voc_matches_torchvision(tmp_path, rng, year, base):
    _write_voc(tmp_path / base, rng)
    for image_set in ("train", "val", "trainval"):
        for name in ("VOCSegmentation", "VOCDetection"):
            j = getattr(JD, name)(str(tmp_path), year=year, image_set=image_set)
            t = getattr(TD, name)(str(tmp_path), year=year, image_set=image_set)
            same_items(j, t)
            assert j.images == t.images and j.targets == t.targets and repr(j) == repr(t)
    det = JD.VOCDetection(str(tmp_path), year=year, image_set="trainval")
    objects = [det[k][1]["annotation"]["object"] for k in range(3)]
    assert [len(o) for o in objects] == [0, 1, 2]  # 'object' is a list even with one object
    assert objects[2][0]["part"][1]["name"] == "hand" and objects[2][0]["bndbox"]["xmin"] == "1"
    seg = JD.VOCSegmentation(str(tmp_path), year=year)
    assert seg[0][1].mode == "P" and seg.masks == seg.targets
    assert det.annotations == det.targets


def test_voc_errors_transforms_and_download(tmp_path, rng, monkeypatch):
    _write_voc(tmp_path / "build" / "VOCdevkit" / "VOC2007", rng)
    with pytest.raises(ValueError, match="Unknown value '2013' for argument year"):
        JD.VOCDetection(str(tmp_path / "build"), year="2013")
    with pytest.raises(ValueError, match="Unknown value 'test' for argument image_set"):
        JD.VOCDetection(str(tmp_path / "build"), year="2012", image_set="test")
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted. You can use download=True"):
        JD.VOCSegmentation(str(tmp_path / "build"), year="2012")

    def both(img, target):
        return img.size, target

    same_items(JD.VOCDetection(str(tmp_path / "build"), year="2007", transforms=both),
               TD.VOCDetection(str(tmp_path / "build"), year="2007", transforms=both))
    arrays = dict(year="2007", transform=np.asarray, target_transform=np.asarray)
    same_items(JD.VOCSegmentation(str(tmp_path / "build"), **arrays),
               TD.VOCSegmentation(str(tmp_path / "build"), **arrays))
    archive = tmp_path / "VOCtest_06-Nov-2007.tar"
    shutil.copy(tmp_path / "build" / "VOCdevkit" / "VOC2007" / "ImageSets" / "Main" / "val.txt",
                tmp_path / "build" / "VOCdevkit" / "VOC2007" / "ImageSets" / "Main" / "test.txt")
    with tarfile.open(archive, "w") as tar:
        tar.add(tmp_path / "build" / "VOCdevkit", arcname="VOCdevkit")
    entry = dict(j_voc.DATASET_YEAR_DICT["2007-test"], url=archive.as_uri(), md5=md5(archive))
    monkeypatch.setitem(j_voc.DATASET_YEAR_DICT, "2007-test", entry)
    j = JD.VOCDetection(str(tmp_path / "root"), year="2007", image_set="test", download=True)
    same_items(j, TD.VOCDetection(str(tmp_path / "build"), year="2007", image_set="test"))


# ---------------------------------------------------------------- COCO

def _write_coco(root, rng):
    images = [{"id": 7, "file_name": "b/000007.jpg", "width": 6, "height": 5},
              {"id": 3, "file_name": "a/000003.png", "width": 6, "height": 5},
              {"id": 12, "file_name": "a/000012.jpg", "width": 6, "height": 5}]
    for img in images:
        write_image(str(root / img["file_name"]), rng, (6, 5), "L" if img["id"] == 12 else "RGB")
    anns = [{"id": 100 + k, "image_id": image_id, "category_id": cat, "iscrowd": k % 2, "area": 10.0 * k,
             "bbox": [float(v) for v in rng.integers(0, 5, 4)], "segmentation": [[1.0, 2.0, 3.0, 4.0, 1.0, 4.0]],
             "caption": f"caption {k} of image {image_id}"}
            for k, (image_id, cat) in enumerate([(3, 1), (7, 2), (3, 2), (3, 1), (7, 1)])]
    cats = [{"id": 1, "name": "person", "supercategory": "person"}, {"id": 2, "name": "dog", "supercategory": "animal"}]
    ann_file = root / "annotations.json"
    ann_file.write_text(json.dumps({"info": {}, "images": images, "annotations": anns, "categories": cats}))
    return str(ann_file), images, anns


def test_coco_detection_and_captions(tmp_path, rng):
    ann_file, images, anns = _write_coco(tmp_path, rng)
    det = JD.CocoDetection(str(tmp_path), ann_file)
    assert det.ids == [3, 7, 12] and len(det) == 3
    by_id = {img["id"]: img for img in images}
    for k, image_id in enumerate(det.ids):
        img, target = det[k]
        ref = Image.open(tmp_path / by_id[image_id]["file_name"]).convert("RGB")
        same_value(img, ref)
        assert target == [a for a in anns if a["image_id"] == image_id]  # file order within the image
    caps = JD.CocoCaptions(str(tmp_path), ann_file)
    assert caps[0][1] == ["caption 0 of image 3", "caption 2 of image 3", "caption 3 of image 3"]
    assert caps[2][1] == [] and caps[2][0].mode == "RGB"
    with pytest.raises(ValueError, match="Index must be of type integer"):
        det[jtorch.tensor(0)]

    def both(img, target):
        return img.size, len(target)

    assert JD.CocoDetection(str(tmp_path), ann_file, transforms=both)[1] == ((6, 5), 2)
    assert JD.CocoCaptions(str(tmp_path), ann_file, transform=np.asarray, target_transform=len)[0][1] == 3
    with pytest.raises(ValueError, match="Only transforms or transform/target_transform"):
        JD.CocoDetection(str(tmp_path), ann_file, transform=np.asarray, transforms=both)
    assert "Number of datapoints: 3" in repr(det)


def test_coco_index_queries(tmp_path, rng):
    ann_file, images, anns = _write_coco(tmp_path, rng)
    coco = JD.CocoDetection(str(tmp_path), ann_file).coco
    assert coco.getAnnIds() == [100, 101, 102, 103, 104]
    assert coco.getAnnIds(imgIds=[7, 3]) == [101, 104, 100, 102, 103]
    assert coco.getAnnIds(imgIds=3, catIds=[1]) == [100, 103]
    assert coco.getAnnIds(iscrowd=1) == [101, 103]
    assert coco.getAnnIds(areaRng=[5, 35]) == [101, 102, 103]
    assert coco.getCatIds(catNms=["dog"]) == [2] and coco.getCatIds(supNms="person") == [1]
    assert sorted(coco.getImgIds()) == [3, 7, 12]
    assert sorted(coco.getImgIds(catIds=[2])) == [3, 7] and coco.getImgIds(imgIds=[12], catIds=[1]) == []
    assert coco.loadImgs(12)[0]["file_name"] == "a/000012.jpg" and coco.loadCats([2, 1])[0]["name"] == "dog"
    assert coco.loadAnns(104) == [anns[4]]


def test_coco_matches_torchvision_with_pycocotools(tmp_path, rng):
    pytest.importorskip("pycocotools")
    ann_file, _, _ = _write_coco(tmp_path, rng)
    for name in ("CocoDetection", "CocoCaptions"):
        j, t = getattr(JD, name)(str(tmp_path), ann_file), getattr(TD, name)(str(tmp_path), ann_file)
        assert j.ids == t.ids
        same_items(j, t)
        assert repr(j) == repr(t)
