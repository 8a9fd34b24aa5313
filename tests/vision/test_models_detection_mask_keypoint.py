"""Mask R-CNN and Keypoint R-CNN (jtorch.vision.models.detection) against torchvision.

As in test_models_detection.py, the oracle is torchvision's Python model code with its compiled
nms and roi_align (which cannot run beside the CPU torch here) replaced by a greedy pure-torch nms
and torchvision's own pure-torch ``_roi_align``; roi_heads' own roi_align (the gt masks cropped to
the proposals) is replaced too. Small images, few proposals and detections keep time and memory low."""
import os
import warnings

import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.models as JM
from helpers import assert_close
from model_oracle import copy_state, no_random_init, on_meta, randomize, shapes  # noqa: F401
from onestage_oracle import images as _images, nms_reference as _nms_reference, run as _run, targets as _targets
from test_models_detection import SCORES, _roi_align_reference
from tv import torchvision

tv = torchvision()
TD = tv.models.detection
JD = JM.detection
TR = TD.roi_heads
JR = JD.roi_heads


@pytest.fixture(autouse=True)
def torch_reference_ops(monkeypatch):
    import torchvision.ops.boxes as tboxes
    import torchvision.ops.poolers as tpoolers
    monkeypatch.setattr(tboxes, "nms", _nms_reference)
    monkeypatch.setattr(tpoolers, "roi_align", _roi_align_reference)
    monkeypatch.setattr(TR, "roi_align", _roi_align_reference)


SIZES = [(60, 80), (72, 56)]
SMALL = dict(min_size=64, max_size=96, weights_backbone=None)
# training: every candidate is sampled (batches larger than the candidates), so both libraries agree
TRAIN = dict(rpn_pre_nms_top_n_train=150, rpn_post_nms_top_n_train=60, rpn_batch_size_per_image=100000,
             box_batch_size_per_image=100000, box_positive_fraction=0.5)


def _mask_targets(rng, sizes, num_classes=4):
    targets = _targets(rng, sizes, n=2, num_classes=num_classes)
    for t, (h, w) in zip(targets, sizes):
        masks = np.zeros((len(t["boxes"]), h, w), np.uint8)
        for m, (x1, y1, x2, y2) in zip(masks, t["boxes"].astype(int)):
            m[y1:y2 + 1, x1:x2 + 1] = rng.uniform(0, 1, (min(y2 + 1, h) - y1, min(x2 + 1, w) - x1)) > 0.3
        t["masks"] = masks
    return targets


def _keypoint_targets(rng, sizes, num_keypoints):
    targets = _targets(rng, sizes, n=2, num_classes=2)
    for t in targets:
        b = t["boxes"]
        u = rng.uniform(-0.1, 1.1, (len(b), num_keypoints, 2))  # some outside their box
        kp = np.concatenate([b[:, None, :2] + u * (b[:, None, 2:] - b[:, None, :2]),
                             rng.integers(0, 3, (len(b), num_keypoints, 1))], -1).astype(np.float32)
        kp[0, 0, :2] = b[0, 2:]  # on the box's bottom-right corner: the last heatmap cell
        kp[0, 0, 2] = 2
        t["keypoints"] = kp
    return targets


def _copy_and_check_keys(tmodel, jmodel, rng):
    assert shapes(jmodel) == shapes(tmodel)
    randomize(tmodel, rng, SCORES)
    with torch.no_grad():
        for name, p in tmodel.named_parameters():
            # the random backbone's features reach hundreds: smaller box logits and deltas (else every
            # class scores 0 next to the background, and boxes shrink to nothing at the border), and
            # mask logits of a few units (else float32 rounding of logits in the hundreds shows)
            if "box_predictor" in name or "mask_fcn_logits" in name:
                p.mul_(0.01)
    copy_state(tmodel, jmodel)


def _same_outputs(got, expected, keys):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert set(g) == set(e) == keys
        assert len(e["scores"]) > 0
        assert_close(g["labels"], e["labels"])
        assert_close(g["scores"], e["scores"], rtol=1e-3, atol=1e-5)
        assert_close(g["boxes"], e["boxes"], rtol=1e-3, atol=1e-2)
        if "masks" in keys:
            assert g["masks"].dtype == jtorch.float32 and tuple(g["masks"].shape) == tuple(e["masks"].shape)
            # (pasting interpolates each 28x28 mask at box positions computed with divisions: an ulp in a
            # position moves a border pixel's weight; one pixel in 48384 was 2.4e-4 off after exact division)
            assert_close(g["masks"], e["masks"], rtol=1e-3, atol=5e-4)
        if "keypoints" in keys:
            assert tuple(g["keypoints"].shape) == tuple(e["keypoints"].shape)
            assert_close(g["keypoints"], e["keypoints"], rtol=1e-4, atol=1e-3)
            assert_close(g["keypoints_scores"], e["keypoints_scores"], rtol=1e-3, atol=1e-4)


def _check_grads(jmodel, tmodel, prefixes, skip=()):
    jparams = dict(jmodel.named_parameters())
    checked = 0
    for name, p in tmodel.named_parameters():
        if name.startswith(prefixes) and name not in skip:
            a, b = np.asarray(jparams[name].grad), p.grad.numpy()
            assert np.linalg.norm(b) > 0, name
            # relative to the whole tensor (as in test_models_detection.py): activations in the hundreds
            # round differently in float32 and a few flip at a ReLU kink
            assert np.linalg.norm(a - b) <= 1e-2 * np.linalg.norm(b), name
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize("name", ["maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2"])
def test_mask_rcnn_eval_matches_torchvision(rng, name, no_random_init):
    kwargs = dict(SMALL, num_classes=4, box_score_thresh=0.05, box_detections_per_img=12)
    torch.manual_seed(0)
    tmodel = getattr(TD, name)(**kwargs).eval()
    jmodel = getattr(JD, name)(**kwargs).eval()
    _copy_and_check_keys(tmodel, jmodel, rng)
    images = _images(rng, SIZES)
    with torch.no_grad():
        expected = _run(torch, tmodel, images)
    with jtorch.no_grad():
        got = _run(jtorch, jmodel, images)
    _same_outputs(got, expected, {"boxes", "labels", "scores", "masks"})


def test_mask_rcnn_train_losses_and_grads(rng, no_random_init):
    kwargs = dict(SMALL, num_classes=4, **TRAIN)
    torch.manual_seed(0)
    tmodel = TD.maskrcnn_resnet50_fpn(**kwargs).train()
    jmodel = JD.maskrcnn_resnet50_fpn(**kwargs).train()
    _copy_and_check_keys(tmodel, jmodel, rng)
    images, targets = _images(rng, SIZES), _mask_targets(rng, SIZES)
    expected = _run(torch, tmodel, images, targets)
    got = _run(jtorch, jmodel, images, targets)
    assert list(got) == list(expected) == ["loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness",
                                           "loss_rpn_box_reg"]
    for k in expected:
        assert_close(got[k], expected[k].detach(), rtol=1e-3, atol=1e-5)
    sum(expected.values()).backward()
    sum(got.values()).backward()
    _check_grads(jmodel, tmodel, ("roi_heads.mask_head", "roi_heads.mask_predictor"))


def test_keypoint_rcnn_eval_matches_torchvision(rng, no_random_init):
    kwargs = dict(SMALL, num_classes=3, num_keypoints=5, box_score_thresh=0.05, box_detections_per_img=6)
    torch.manual_seed(0)
    tmodel = TD.keypointrcnn_resnet50_fpn(**kwargs).eval()
    jmodel = JD.keypointrcnn_resnet50_fpn(**kwargs).eval()
    _copy_and_check_keys(tmodel, jmodel, rng)
    images = _images(rng, SIZES)
    with torch.no_grad():
        expected = _run(torch, tmodel, images)
    with jtorch.no_grad():
        got = _run(jtorch, jmodel, images)
    _same_outputs(got, expected, {"boxes", "labels", "scores", "keypoints", "keypoints_scores"})


def test_keypoint_rcnn_train_losses_and_grads(rng, no_random_init):
    kwargs = dict(SMALL, num_classes=2, num_keypoints=5, **dict(TRAIN, rpn_post_nms_top_n_train=30))
    torch.manual_seed(0)
    tmodel = TD.keypointrcnn_resnet50_fpn(**kwargs).train()
    jmodel = JD.keypointrcnn_resnet50_fpn(**kwargs).train()
    _copy_and_check_keys(tmodel, jmodel, rng)
    images, targets = _images(rng, SIZES), _keypoint_targets(rng, SIZES, 5)
    expected = _run(torch, tmodel, images, targets)
    got = _run(jtorch, jmodel, images, targets)
    assert list(got) == list(expected) == ["loss_classifier", "loss_box_reg", "loss_keypoint", "loss_objectness",
                                           "loss_rpn_box_reg"]
    for k in expected:
        assert_close(got[k], expected[k].detach(), rtol=1e-3, atol=1e-5)
    sum(expected.values()).backward()
    sum(got.values()).backward()
    # (the predictor's bias gets a gradient of rounding noise only: a softmax gradient sums to 0 over
    # each heatmap, and the upsampling keeps sums)
    _check_grads(jmodel, tmodel, ("roi_heads.keypoint_head.12", "roi_heads.keypoint_head.14",
                                  "roi_heads.keypoint_predictor"),
                 skip=("roi_heads.keypoint_predictor.kps_score_lowres.bias",))


def test_paste_masks_in_image(rng):
    """Masks resized to their (padded, integer) boxes and placed in the image: boxes inside,
    across the borders, thinner than a pixel."""
    masks = rng.uniform(0, 1, (6, 1, 28, 28)).astype(np.float32)
    boxes = np.array([[3.2, 4.7, 30.1, 20.9], [-10, -5, 15, 12], [40, 30, 90, 70], [55, 40, 70, 52],
                      [10, 10, 10.3, 40], [5, 33, 45, 34]], np.float32)
    for padding in (1, 0):
        expected = TR.paste_masks_in_image(torch.from_numpy(masks), torch.from_numpy(boxes), (48, 64), padding)
        got = JR.paste_masks_in_image(jtorch.from_numpy(masks), jtorch.from_numpy(boxes), (48, 64), padding)
        assert tuple(got.shape) == (6, 1, 48, 64)
        assert_close(got, expected, rtol=1e-5, atol=1e-6)
    one = JR.paste_mask_in_image(jtorch.from_numpy(masks[0, 0]), jtorch.tensor([3, 4, 30, 20]), 48, 64)
    assert_close(one, TR.paste_mask_in_image(torch.from_numpy(masks[0, 0]), torch.tensor([3, 4, 30, 20]), 48, 64),
                 rtol=1e-5, atol=1e-6)
    empty = JR.paste_masks_in_image(jtorch.zeros((0, 1, 28, 28)), jtorch.zeros((0, 4)), (10, 12))
    assert tuple(empty.shape) == (0, 1, 10, 12)


def test_keypoint_heatmap_functions(rng):
    """heatmaps_to_keypoints (bicubic resize to the box, argmax, score) and keypoints_to_heatmap,
    keypointrcnn_loss, maskrcnn_loss against torchvision; gradients of the scores and losses."""
    maps = rng.normal(0, 1, (4, 3, 12, 12)).astype(np.float32)
    rois = np.array([[2.5, 3.0, 40.2, 31.7], [0, 0, 0.5, 20], [10, 10, 23, 57.5], [5, 6, 11.9, 12]], np.float32)
    tmaps = torch.from_numpy(maps).requires_grad_()
    jmaps = jtorch.from_numpy(maps).requires_grad_()
    t_xy, t_sc = TR.heatmaps_to_keypoints(tmaps, torch.from_numpy(rois))
    j_xy, j_sc = JR.heatmaps_to_keypoints(jmaps, jtorch.from_numpy(rois))
    assert j_xy.dtype == jtorch.float32 and tuple(j_xy.shape) == (4, 3, 3)
    assert_close(j_xy, t_xy.detach(), rtol=1e-6, atol=1e-5)
    assert_close(j_sc, t_sc.detach(), rtol=1e-4, atol=1e-5)
    w = rng.normal(size=(4, 3)).astype(np.float32)
    (t_sc * torch.from_numpy(w)).sum().backward()
    (j_sc * jtorch.from_numpy(w)).sum().backward()
    assert_close(jmaps.grad, tmaps.grad, rtol=1e-4, atol=1e-6)

    kp = np.concatenate([rng.uniform(0, 50, (4, 3, 2)), rng.integers(0, 3, (4, 3, 1))], -1).astype(np.float32)
    kp[0, 1, :2] = rois[0, 2:]  # on the right / bottom edge
    th, tv_ = TR.keypoints_to_heatmap(torch.from_numpy(kp), torch.from_numpy(rois[[0, 2, 3, 0]]), 8)
    jh, jv = JR.keypoints_to_heatmap(jtorch.from_numpy(kp), jtorch.from_numpy(rois[[0, 2, 3, 0]]), 8)
    assert_close(jh, th)
    assert_close(jv, tv_)

    logits = rng.normal(size=(4, 3, 8, 8)).astype(np.float32)
    props = [rois[:3], rois[3:]]
    gts = [kp[:2], kp[2:]]
    idxs = [np.array([0, 1, 1]), np.array([0])]
    tl = torch.from_numpy(logits).requires_grad_()
    jl = jtorch.from_numpy(logits).requires_grad_()
    t_loss = TR.keypointrcnn_loss(tl, [torch.from_numpy(p) for p in props], [torch.from_numpy(g) for g in gts],
                                  [torch.from_numpy(i) for i in idxs])
    j_loss = JR.keypointrcnn_loss(jl, [jtorch.from_numpy(p) for p in props], [jtorch.from_numpy(g) for g in gts],
                                  [jtorch.from_numpy(i) for i in idxs])
    assert_close(j_loss, t_loss.detach(), rtol=1e-5, atol=1e-6)
    t_loss.backward()
    j_loss.backward()
    assert_close(jl.grad, tl.grad, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="should be equal"):
        JR.keypointrcnn_loss(jtorch.zeros((1, 3, 8, 6)), [], [], [])

    mask_logits = rng.normal(size=(4, 3, 7, 7)).astype(np.float32)
    # (torchvision's pure-torch roi_align reads samples beyond the map where its kernel reads 0:
    # boxes inside the masks, as the model's proposals are)
    gt_masks = [(rng.uniform(size=(2, 64, 64)) > 0.5).astype(np.uint8), (rng.uniform(size=(1, 64, 64)) > 0.5)
                .astype(np.uint8)]
    labels = [np.array([1, 2]), np.array([2])]
    t_m = TR.maskrcnn_loss(torch.from_numpy(mask_logits), [torch.from_numpy(p) for p in props],
                           [torch.from_numpy(m) for m in gt_masks], [torch.from_numpy(lab) for lab in labels],
                           [torch.from_numpy(i) for i in idxs])
    j_m = JR.maskrcnn_loss(jtorch.from_numpy(mask_logits), [jtorch.from_numpy(p) for p in props],
                           [jtorch.from_numpy(m) for m in gt_masks], [jtorch.from_numpy(lab) for lab in labels],
                           [jtorch.from_numpy(i) for i in idxs])
    assert_close(j_m, t_m, rtol=1e-5, atol=1e-6)
    none = JR.maskrcnn_loss(jtorch.from_numpy(mask_logits[:0]), [jtorch.zeros((0, 4))],
                            [jtorch.from_numpy(gt_masks[0])], [jtorch.from_numpy(labels[0])],
                            [jtorch.zeros((0,), dtype=jtorch.int64)])
    assert float(none) == 0.0


def test_weights_enums_and_builder_rules(on_meta):
    pairs = [(JD.MaskRCNN_ResNet50_FPN_Weights, TD.MaskRCNN_ResNet50_FPN_Weights),
             (JD.MaskRCNN_ResNet50_FPN_V2_Weights, TD.MaskRCNN_ResNet50_FPN_V2_Weights),
             (JD.KeypointRCNN_ResNet50_FPN_Weights, TD.KeypointRCNN_ResNet50_FPN_Weights)]
    for j, t in pairs:
        assert [m.name for m in j] == [m.name for m in t]
        for jm, tm in zip(j, t):
            assert repr(jm) == repr(tm) and jm.url == tm.url
            assert jm.meta == {k: v for k, v in tm.meta.items() if k != "_docs"}
        assert repr(j.DEFAULT.transforms()) == repr(t.DEFAULT.transforms()) == "ObjectDetection()"
    assert len(JD.KeypointRCNN_ResNet50_FPN_Weights.DEFAULT.meta["keypoint_names"]) == 17
    for name in ("maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2", "keypointrcnn_resnet50_fpn"):
        assert name in JM.list_models(JM.detection)
    assert JM.get_model_weights("maskrcnn_resnet50_fpn") is JD.MaskRCNN_ResNet50_FPN_Weights
    with pytest.raises(ValueError, match="num_classes"):
        JD.maskrcnn_resnet50_fpn(weights="DEFAULT", num_classes=3)
    with pytest.raises(ValueError, match="num_keypoints"):
        JD.keypointrcnn_resnet50_fpn(weights="DEFAULT", num_keypoints=5)
    backbone = JD.backbone_utils.resnet_fpn_backbone(backbone_name="resnet18", weights=None)
    with pytest.raises(ValueError, match="num_classes should be None when mask_predictor"):
        JD.MaskRCNN(backbone, num_classes=3, mask_predictor=JD.mask_rcnn.MaskRCNNPredictor(256, 256, 3))
    with pytest.raises(ValueError, match="num_keypoints should be None"):
        JD.KeypointRCNN(backbone, num_classes=2, num_keypoints=3,
                        keypoint_predictor=JD.keypoint_rcnn.KeypointRCNNPredictor(512, 3))
    with pytest.raises(TypeError, match="mask_roi_pool"):
        JD.MaskRCNN(backbone, num_classes=3, mask_roi_pool=jtorch.nn.ReLU())
    with pytest.raises(TypeError, match="keypoint_roi_pool"):
        JD.KeypointRCNN(backbone, num_classes=2, keypoint_roi_pool=jtorch.nn.ReLU())
    m = JD.KeypointRCNN(backbone, num_classes=2)
    assert m.transform.min_size == (640, 672, 704, 736, 768, 800)
    assert m.roi_heads.keypoint_predictor.out_channels == 17
    m, t = JD.maskrcnn_resnet50_fpn_v2(num_classes=3), TD.maskrcnn_resnet50_fpn_v2(num_classes=3)
    assert shapes(m) == shapes(t)
    assert [n for n, p in m.named_parameters() if not p.requires_grad] == [
        n for n, p in t.named_parameters() if not p.requires_grad]


def test_checkpoints_from_hub_cache(tmp_path, monkeypatch, rng, no_random_init):
    """weights=... (and pretrained=True / 'legacy') load torchvision's checkpoint files from the hub
    cache; Mask R-CNN heads' pre-version-2 key names (mask_fcn1...) are renamed on load."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    torch.manual_seed(0)
    tmodel = TD.maskrcnn_resnet50_fpn(weights_backbone=None)
    state = tmodel.state_dict()
    torch.save(state, ckpt / os.path.basename(JD.MaskRCNN_ResNet50_FPN_Weights.COCO_V1.url))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jmodel = JD.maskrcnn_resnet50_fpn(weights="DEFAULT")
    key = "roi_heads.mask_predictor.mask_fcn_logits.weight"
    np.testing.assert_array_equal(np.asarray(jmodel.state_dict()[key]), state[key].numpy())
    assert jmodel.backbone.body.bn1.eps == 0.0  # COCO_V1 was trained with eps 0
    assert type(jmodel.backbone.body.bn1).__name__ == "FrozenBatchNorm2d"
    del jmodel

    head = JD.mask_rcnn.MaskRCNNHeads(8, (4, 4), 1)
    old = {f"mask_fcn{i + 1}.{k}": jtorch.from_numpy(rng.normal(size=v.shape).astype(np.float32))
           for i in range(2) for k, v in (("weight", head[i][0].weight), ("bias", head[i][0].bias))}
    head.load_state_dict(old)
    np.testing.assert_array_equal(np.asarray(head[1][0].bias), np.asarray(old["mask_fcn2.bias"]))

    torch.manual_seed(1)
    tk = TD.keypointrcnn_resnet50_fpn(weights_backbone=None)
    torch.save(tk.state_dict(), ckpt / os.path.basename(JD.KeypointRCNN_ResNet50_FPN_Weights.COCO_LEGACY.url))
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        jk = JD.keypointrcnn_resnet50_fpn(pretrained="legacy")
    key = "roi_heads.keypoint_predictor.kps_score_lowres.weight"
    np.testing.assert_array_equal(np.asarray(jk.state_dict()[key]), tk.state_dict()[key].numpy())
    assert jk.backbone.body.bn1.eps == 1e-5  # only COCO_V1 had eps 0
