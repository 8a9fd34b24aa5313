"""jtorch.vision.models.detection (Faster R-CNN and its parts) against torchvision.

torchvision's compiled nms and roi_align cannot run beside the CPU torch here (see tv.py), so the
oracle runs torchvision's Python model code with those two ops replaced by pure-torch references:
a greedy nms written below, and torchvision's own pure-torch ``_roi_align``. Everything else
(transform, anchors, RPN, sampling, matching, losses, post-processing) is torchvision's."""
import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.models as JM
from helpers import assert_close
# the harness the one-stage detector tests share (greedy pure-torch nms, seeded inputs, comparisons)
from onestage_oracle import images as _images, nms_reference as _nms_reference, run as _run
from onestage_oracle import same_detections as _same_detections, targets as _targets
from model_oracle import copy_weights, no_random_init, on_meta, shapes  # noqa: F401
from tv import torchvision

tv = torchvision()
TD = tv.models.detection
JD = JM.detection


def _roi_align_reference(input, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    from torchvision.ops.roi_align import _roi_align
    from torchvision.ops._utils import convert_boxes_to_roi_format
    if not isinstance(boxes, torch.Tensor):
        boxes = convert_boxes_to_roi_format(boxes)
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    return _roi_align(input, boxes, spatial_scale, output_size[0], output_size[1], sampling_ratio, aligned)


@pytest.fixture(autouse=True)
def torch_reference_ops(monkeypatch):
    import torchvision.ops.boxes as tboxes
    import torchvision.ops.poolers as tpoolers
    monkeypatch.setattr(tboxes, "nms", _nms_reference)
    monkeypatch.setattr(tpoolers, "roi_align", _roi_align_reference)


# wide random weights for the score layers: scores far apart (no near-ties for sorting, top-k and nms
# to break differently)
SCORES = {"cls_logits|cls_score": 0.3, "bbox_pred": 0.02}


SMALL = dict(min_size=64, max_size=96)


@pytest.mark.parametrize("name", ["fasterrcnn_resnet50_fpn", "fasterrcnn_mobilenet_v3_large_fpn"])
def test_eval_detections_match_torchvision(rng, name, no_random_init):
    kwargs = dict(SMALL, weights_backbone=None, num_classes=4, box_score_thresh=0.2)
    if "mobilenet" in name:
        kwargs["rpn_score_thresh"] = 0.0  # random weights: keep every proposal
    torch.manual_seed(0)
    tmodel = getattr(TD, name)(**kwargs).eval()
    jmodel = getattr(JD, name)(**kwargs).eval()
    assert shapes(jmodel) == shapes(tmodel)
    copy_weights(tmodel, jmodel, rng, SCORES)
    images = _images(rng, [(60, 80), (72, 56)])
    with torch.no_grad():
        expected = _run(torch, tmodel, images)
    with jtorch.no_grad():
        got = _run(jtorch, jmodel, images)
    _same_detections(got, expected)


def test_train_losses_match_torchvision(rng, no_random_init):
    """The loss dict in training mode. The samplers draw at random; batches larger than the
    candidates make them take every candidate, so both libraries use the same samples."""
    # (fewer proposals than the default 2000: the test's peak memory was 13 GB, enough to kill a worker)
    kwargs = dict(SMALL, weights_backbone=None, num_classes=4, rpn_pre_nms_top_n_train=300,
                  rpn_post_nms_top_n_train=150, rpn_batch_size_per_image=100000,
                  box_batch_size_per_image=100000, box_positive_fraction=0.5)
    torch.manual_seed(0)
    tmodel = TD.fasterrcnn_resnet50_fpn(**kwargs).train()
    jmodel = JD.fasterrcnn_resnet50_fpn(**kwargs).train()
    copy_weights(tmodel, jmodel, rng, SCORES)
    sizes = [(60, 80), (72, 56)]
    images, targets = _images(rng, sizes), _targets(rng, sizes)
    expected = _run(torch, tmodel, images, targets)
    got = _run(jtorch, jmodel, images, targets)
    assert list(got) == list(expected) == ["loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"]
    for k in expected:
        assert_close(got[k], expected[k].detach(), rtol=1e-3, atol=1e-5)
    sum(expected.values()).backward()
    sum(got.values()).backward()
    jparams = dict(jmodel.named_parameters())
    for name, p in tmodel.named_parameters():
        if name.startswith(("roi_heads", "rpn")):
            # relative to the whole tensor: an activation within float32 rounding of the RPN conv's
            # ReLU kink flips a row of its weight gradient
            a, b = np.asarray(jparams[name].grad), p.grad.numpy()
            assert np.linalg.norm(a - b) <= 1e-2 * np.linalg.norm(b), name
    # the frozen first stages (trainable_backbone_layers=5 when untrained: none frozen)
    assert [n for n, p in jmodel.named_parameters() if not p.requires_grad] == [
        n for n, p in tmodel.named_parameters() if not p.requires_grad]


def test_parts_match_torchvision(rng):
    """AnchorGenerator, BoxCoder, Matcher, GeneralizedRCNNTransform and MultiScaleRoIAlign on their own."""
    from torchvision.models.detection.image_list import ImageList as TImageList
    from jtorch.vision.models.detection.image_list import ImageList
    sizes, ratios = ((16,), (32, 48)), ((0.5, 1.0), (1.0, 2.0, 0.7))
    tgen = TD.anchor_utils.AnchorGenerator(sizes, ratios)
    jgen = JD.anchor_utils.AnchorGenerator(sizes, ratios)
    assert jgen.num_anchors_per_location() == tgen.num_anchors_per_location() == [2, 6]
    feats = [rng.normal(size=(2, 4, 8, 10)).astype(np.float32), rng.normal(size=(2, 4, 4, 5)).astype(np.float32)]
    img = np.zeros((2, 3, 64, 80), np.float32)
    expected = tgen(TImageList(torch.from_numpy(img), [(60, 80), (64, 70)]), [torch.from_numpy(f) for f in feats])
    got = jgen(ImageList(jtorch.from_numpy(img), [(60, 80), (64, 70)]), [jtorch.from_numpy(f) for f in feats])
    assert len(got) == 2
    for g, e in zip(got, expected):
        assert_close(g, e)

    weights = (10.0, 10.0, 5.0, 5.0)
    tcoder, jcoder = TD._utils.BoxCoder(weights), JD._utils.BoxCoder(weights)
    a = rng.uniform(0, 50, (6, 2))
    props = np.concatenate([a, a + rng.uniform(1, 30, (6, 2))], 1).astype(np.float32)
    b = rng.uniform(0, 50, (6, 2))
    gts = np.concatenate([b, b + rng.uniform(1, 30, (6, 2))], 1).astype(np.float32)
    t_enc = tcoder.encode([torch.from_numpy(gts)], [torch.from_numpy(props)])
    j_enc = jcoder.encode([jtorch.from_numpy(gts)], [jtorch.from_numpy(props)])
    assert_close(j_enc[0], t_enc[0], rtol=1e-5, atol=1e-5)
    deltas = rng.normal(0, 2, (6, 8)).astype(np.float32)  # two classes, some beyond the exp clip
    deltas[0, 2] = 80.0
    assert_close(jcoder.decode(jtorch.from_numpy(deltas), [jtorch.from_numpy(props)]),
                 tcoder.decode(torch.from_numpy(deltas), [torch.from_numpy(props)]), rtol=1e-5, atol=1e-3)

    quality = rng.uniform(0, 1, (3, 12)).astype(np.float32)
    quality[1, 5] = quality[1].max() + 0.5  # and a tie for the best of gt 1
    quality[1, 7] = quality[1, 5]
    for allow in (False, True):
        tm, jm = TD._utils.Matcher(0.7, 0.3, allow), JD._utils.Matcher(0.7, 0.3, allow)
        assert_close(jm(jtorch.from_numpy(quality)), tm(torch.from_numpy(quality)))
    with pytest.raises(ValueError, match="No ground-truth boxes"):
        JD._utils.Matcher(0.7, 0.3)(jtorch.zeros((0, 4)))

    ttr = TD.transform.GeneralizedRCNNTransform(50, 70, [0.4, 0.5, 0.6], [0.2, 0.3, 0.25])
    jtr = JD.transform.GeneralizedRCNNTransform(50, 70, [0.4, 0.5, 0.6], [0.2, 0.3, 0.25])
    assert repr(jtr) == repr(ttr)
    ims = _images(rng, [(40, 90), (33, 47)])
    tg = _targets(rng, [(40, 90), (33, 47)])
    t_il, t_tg = _run(torch, ttr.eval(), ims, tg) if False else ttr([torch.from_numpy(i) for i in ims],
                                                                     [{k: torch.from_numpy(v) for k, v in t.items()}
                                                                      for t in tg])
    j_il, j_tg = jtr([jtorch.from_numpy(i) for i in ims], [{k: jtorch.from_numpy(v) for k, v in t.items()} for t in tg])
    assert j_il.image_sizes == [tuple(s) for s in t_il.image_sizes]
    assert_close(j_il.tensors, t_il.tensors, rtol=1e-5, atol=1e-5)
    for g, e in zip(j_tg, t_tg):
        assert_close(g["boxes"], e["boxes"], rtol=1e-5, atol=1e-4)
    with pytest.raises(TypeError, match="floating"):
        jtr([jtorch.zeros((3, 8, 8), dtype=jtorch.uint8)])

    names = ["0", "1"]
    tpool, jpool = tv.ops.MultiScaleRoIAlign(names, 3, 2), JM.detection.faster_rcnn.MultiScaleRoIAlign(names, 3, 2)
    fm = {"0": rng.normal(size=(2, 4, 16, 16)).astype(np.float32), "1": rng.normal(size=(2, 4, 8, 8)).astype(np.float32),
          "pool": rng.normal(size=(2, 4, 4, 4)).astype(np.float32)}
    boxes = [np.array([[1, 2, 20, 30], [0, 0, 63, 63]], np.float32), np.array([[5, 5, 9, 12]], np.float32)]
    shapes = [(64, 64), (64, 60)]
    expected = tpool({k: torch.from_numpy(v) for k, v in fm.items()}, [torch.from_numpy(b) for b in boxes], shapes)
    got = jpool({k: jtorch.from_numpy(v) for k, v in fm.items()}, [jtorch.from_numpy(b) for b in boxes], shapes)
    assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_sampler_counts(rng):
    """The balanced sampler: at most batch * fraction positives, the rest negatives, never ignored ones."""
    sampler = JD._utils.BalancedPositiveNegativeSampler(16, 0.25)
    labels = jtorch.from_numpy(rng.integers(-1, 3, 200))
    jtorch.manual_seed(0)
    pos, neg = sampler([labels])
    p, n, lab = np.asarray(pos[0]), np.asarray(neg[0]), np.asarray(labels)
    assert pos[0].dtype == jtorch.uint8 and p.sum() == 4 and n.sum() == 12
    assert (lab[p == 1] >= 1).all() and (lab[n == 1] == 0).all()
    jtorch.manual_seed(1)
    pos2, _ = sampler([labels])
    assert not np.array_equal(np.asarray(pos2[0]), p) or True  # a fresh draw (may coincide)
    few = jtorch.tensor([1, 0, 0, -1])
    pos, neg = sampler([few])
    assert np.asarray(pos[0]).tolist() == [1, 0, 0, 0] and np.asarray(neg[0]).tolist() == [0, 1, 1, 0]


def test_weights_enums_and_builder_rules(on_meta):
    pairs = [(JD.FasterRCNN_ResNet50_FPN_Weights, TD.FasterRCNN_ResNet50_FPN_Weights),
             (JD.FasterRCNN_ResNet50_FPN_V2_Weights, TD.FasterRCNN_ResNet50_FPN_V2_Weights),
             (JD.FasterRCNN_MobileNet_V3_Large_FPN_Weights, TD.FasterRCNN_MobileNet_V3_Large_FPN_Weights),
             (JD.FasterRCNN_MobileNet_V3_Large_320_FPN_Weights, TD.FasterRCNN_MobileNet_V3_Large_320_FPN_Weights)]
    for j, t in pairs:
        assert [m.name for m in j] == [m.name for m in t]
        assert repr(j.DEFAULT) == repr(t.DEFAULT) and j.DEFAULT.url == t.DEFAULT.url
        assert j.DEFAULT.meta == {k: v for k, v in t.DEFAULT.meta.items() if k != "_docs"}
        assert len(j.DEFAULT.meta["categories"]) == 91
        assert repr(j.DEFAULT.transforms()) == repr(t.DEFAULT.transforms()) == "ObjectDetection()"
    assert JM.get_model_weights("fasterrcnn_resnet50_fpn") is JD.FasterRCNN_ResNet50_FPN_Weights
    with pytest.raises(ValueError, match="num_classes"):
        JD.fasterrcnn_resnet50_fpn(weights="DEFAULT", num_classes=3)
    with pytest.raises(ValueError, match="num_classes should be None"):
        JD.FasterRCNN(JD.backbone_utils.resnet_fpn_backbone(backbone_name="resnet18", weights=None), num_classes=3,
                      box_predictor=JD.faster_rcnn.FastRCNNPredictor(1024, 3))
    with pytest.raises(ValueError, match="out_channels"):
        JD.FasterRCNN(jtorch.nn.ReLU(), num_classes=3)
    with pytest.warns(UserWarning, match="trainable_backbone_layers"):
        m = JD.fasterrcnn_mobilenet_v3_large_320_fpn(weights_backbone=None, trainable_backbone_layers=2)
    assert m.transform.min_size == (320,) and m.rpn._pre_nms_top_n["testing"] == 150
    t = TD.fasterrcnn_mobilenet_v3_large_320_fpn(weights_backbone=None)
    assert shapes(m) == shapes(t)
    m, t = JD.fasterrcnn_resnet50_fpn_v2(num_classes=3), TD.fasterrcnn_resnet50_fpn_v2(num_classes=3)
    assert shapes(m) == shapes(t)
    # a backbone frozen as torchvision's (pretrained weights would use 3 trainable layers)
    jb = JD.backbone_utils._resnet_fpn_extractor(JM.resnet18(), 2)
    tb = TD.backbone_utils._resnet_fpn_extractor(tv.models.resnet18(), 2)
    assert [n for n, p in jb.named_parameters() if p.requires_grad] == [
        n for n, p in tb.named_parameters() if p.requires_grad]


def test_finetune_loop_decreases_loss(rng, no_random_init):
    """The TorchVision Object Detection Finetuning tutorial's pattern: replace the box predictor,
    SGD a few steps on images with bright rectangles; the loss goes down and eval gives detections."""
    from jtorch.vision.models.detection.faster_rcnn import FastRCNNPredictor
    jtorch.manual_seed(0)
    model = JD.fasterrcnn_mobilenet_v3_large_fpn(weights_backbone=None, num_classes=91, min_size=64, max_size=64,
                                                 rpn_score_thresh=0.0, box_score_thresh=0.0)
    for p in model.parameters():  # the init was skipped: small random weights
        p.data = jtorch.from_numpy(rng.normal(0, 0.02, tuple(p.shape)).astype(np.float32))
    in_features = model.roi_heads.box_predictor.cls_score.in_features
    model.roi_heads.box_predictor = FastRCNNPredictor(in_features, 2)
    images, targets = [], []
    for _ in range(2):
        img = rng.uniform(0, 0.2, (3, 64, 64)).astype(np.float32)
        x1, y1 = rng.integers(4, 30, 2)
        x2, y2 = x1 + rng.integers(16, 30), y1 + rng.integers(16, 30)
        img[:, y1:y2, x1:x2] = 0.9
        images.append(jtorch.from_numpy(img))
        targets.append({"boxes": jtorch.tensor([[float(x1), float(y1), float(x2), float(y2)]]),
                        "labels": jtorch.tensor([1])})
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = jtorch.optim.SGD(params, lr=0.02, momentum=0.9, weight_decay=0.0005)
    model.train()
    losses = []
    for _ in range(4):  # each step's proposals differ in number: new shapes, new compiles
        loss_dict = model(images, targets)
        loss = sum(loss_dict.values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all()
    assert all(b < a for a, b in zip(losses, losses[1:])) and losses[-1] < 0.97 * losses[0], losses
    model.eval()
    with jtorch.no_grad():
        out = model(images[:1])
    assert set(out[0]) == {"boxes", "labels", "scores"} and out[0]["boxes"].shape[1] == 4
