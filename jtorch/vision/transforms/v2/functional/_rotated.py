"""Rotated boxes as four corners (N, 8) = (x1, y1, ..., x4, y4): torchvision 0.28's arithmetic for turning a
transformed parallelogram back into a rectangle and for clamping a rotated box into its canvas."""
import math

import jtorch as torch


def parallelogram_to_rectangle(p):
    """A rectangle keeping the corners 1 and 3 (the parallelogram's diagonal) and the side nearest in angle
    to the longer side (floats other than float32/float64 computed in float32)."""
    dtype = p.dtype
    if dtype not in (torch.float32, torch.float64):
        p = p.to(torch.float32)
    x1, y1, x2, y2, x3, y3, x4, y4 = p.unbind(-1)
    cx, cy = (x1 + x3) / 2, (y1 + y3) / 2
    wp = torch.sqrt((x2 - x1).pow(2) + (y2 - y1).pow(2))
    hp = torch.sqrt((x4 - x1).pow(2) + (y4 - y1).pow(2))
    r12 = torch.atan2(y1 - y2, x2 - x1)
    r14 = torch.atan2(y1 - y4, x4 - x1)
    skew = r12 - r14
    sign = torch.where(skew > math.pi / 2, -1, 1)
    cos, sin = skew.cos(), skew.sin()
    w = torch.where(wp < hp, wp * sin, wp + hp * cos * sign)
    h = torch.where(wp > hp, hp * sin, hp + wp * cos * sign)
    angle = torch.where(hp > wp, r14 + math.pi / 2, r12)
    cos, sin = angle.cos(), angle.sin()
    hw_cos, hw_sin, hh_cos, hh_sin = w / 2 * cos, w / 2 * sin, h / 2 * cos, h / 2 * sin
    out = torch.stack([cx - hw_cos - hh_sin, cy - hh_cos + hw_sin, cx + hw_cos - hh_sin, cy - hh_cos - hw_sin,
                       cx + hw_cos + hh_sin, cy + hh_cos - hw_sin, cx - hw_cos + hh_sin, cy + hh_cos + hw_sin], -1)
    return out.to(dtype)


def _reorder(corners, order=None):
    """Rotate each box's corner list so it starts at its leftmost corner (the upper one on a tie), or by a
    given ``order``; returns (order, reordered corners). The same order applied twice rotates twice."""
    if order is None:
        x, y = corners[:, 0::2], corners[:, 1::2]
        key = y / y.abs().amax(1, keepdim=True) + (x / x.abs().amax(1, keepdim=True)) * 100
        first = key.argmin(1)
        steps = torch.ones_like(corners)
        steps[:, 0] = first * 2
        order = steps.cumsum(1).remainder(8)
    return order, corners.gather(1, order.to(torch.int64))


def _next(v):      # the following corner's value (the 4th's follows the 1st)
    return torch.cat([v[:, 1:], v[:, :1]], 1)


def _previous(v):
    return torch.cat([v[:, 3:], v[:, :3]], 1)


def _lines(corners):
    """Slope and y-intercept of the sides from each corner to the next."""
    x, y = corners[:, 0::2], corners[:, 1::2]
    a = (_next(y) - y) / (_next(x) - x)
    return a, y - a * x


def _clamp_intercepts(corners, original, canvas_size, clamping_mode):
    a, b = _lines(corners)
    a1, a2, a3, a4 = a.unbind(-1)
    b1, b2, b3, b4 = b.unbind(-1)
    b1m, b2m, b3m, b4m = _lines(original)[1].unbind(-1)
    h, w = canvas_size
    b1 = b2.clamp(b1, b3).clamp(0, h)
    b4 = b3.clamp(b2, b4).clamp(0, h)
    if clamping_mode == "hard":
        # the largest box of the same angle inside both the box and the canvas: one shared intercept for
        # sides 1 and 4 (torchvision's two names for one tensor: clamped below by both bounds)
        b1 = (b1 + b4) / 2
        b2 = torch.stack([b1 * a2 / a1, b3 * a2 / a3, (a1 - a2) * w + b1, (a3 - a2) * w + b3], 1).max(1)[0].clamp(
            max=b2)
        b3 = torch.stack([h * (1 - a3 / a4) + b1 * a3 / a4, h * (1 - a3 / a2) + b2 * a3 / a2,
                          (a2 - a3) * w + b2, (a4 - a3) * w + b1], 1).min(1)[0].clamp(min=b3)
        b1 = b4 = b1.clamp(b1m, b3m).clamp(b2m, b4m)
    else:
        b1, b4 = b1.clamp(b1m, b3m), b4.clamp(b2m, b4m)
    return torch.stack([b1, b2.clamp(b2m, b4m), b3.clamp(b1m, b3m), b4], -1)


def _clamp_left(corners, original, canvas_size, clamping_mode):
    """Move the corners left of x = 0 onto it along the box's sides (corner 1 is the leftmost)."""
    a, _ = _lines(corners)
    x1, y1, x2, y2, x3, y3, x4, y4 = corners.unbind(-1)
    b = _clamp_intercepts(corners, original, canvas_size, clamping_mode)
    x = -(b - _previous(b)) / (a - _previous(a))          # where consecutive sides meet
    crossed = torch.stack([x, a * x + b], -1).reshape(-1, 8)
    flat_left = corners.clone()
    flat_left[:, 0] = flat_left[:, 0].clamp(min=0)
    flat_left[:, 6] = flat_left[:, 6].clamp(min=0)
    use_crossed = (x1 < 0) & ~crossed.isnan().any(-1)
    level = y1.isclose(y2) | y3.isclose(y4)
    gone = (x1 <= 0) & (x2 <= 0) & (x3 <= 0) & (x4 <= 0)
    gone = gone | y1.isclose(y4) | y2.isclose(y3) | (level & x1.isclose(x2))
    for cond, case in ((use_crossed, crossed), (level, flat_left), (gone, torch.zeros_like(corners))):
        corners = torch.where(cond.unsqueeze(1), case, corners)
    return corners


def clamp_corners(corners, canvas_size, clamping_mode):
    """Clamp rotated boxes (N, 8) into the canvas as torchvision does: clamp against the left edge, turn the
    picture a quarter counter-clockwise, four times. "soft" keeps the smallest box of the same angle around
    the box's part inside the canvas, "hard" the largest inside it; None clamps nothing."""
    if clamping_mode is None:
        return corners.clone()
    out, original = corners.clone(), corners.clone()
    for _ in range(4):
        order, out = _reorder(out)
        original = _reorder(original, order)[1]
        out = _clamp_left(out, original, canvas_size, clamping_mode)
        out = _reorder(out, order)[1]
        original = _reorder(original, order)[1]
        out = torch.stack([out[:, 1::2], canvas_size[1] - out[:, 0::2]], -1).reshape(-1, 8)
        original = torch.stack([original[:, 1::2], canvas_size[1] - original[:, 0::2]], -1).reshape(-1, 8)
        canvas_size = (canvas_size[1], canvas_size[0])
    return out
