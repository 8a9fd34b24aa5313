"""L-BFGS with an optional strong-Wolfe line search (torch.optim.LBFGS).

The iteration is inherently sequential and data-dependent (curvature checks, line-search
brackets, stopping tests), so it runs eagerly on flat float tensors and reads scalars back
to the host, as torch's does. The arithmetic keeps torch's order (0-dim float32 tensors where
torch has them), so trajectories match torch's.
"""
import jtorch as torch

from .optimizer import Optimizer

__all__ = ["LBFGS"]


def _cubic_min(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, g1), (x2, f2, g2), clipped to ``bounds``."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_sq = d1 ** 2 - g1 * g2
    if not d2_sq >= 0:  # also NaN
        return (lo + hi) / 2.0
    d2 = d2_sq.sqrt()
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


class _Bracket:
    """Two line-search points (step, loss, flat grad, directional derivative)."""

    def __init__(self, pts):
        self.t = [p[0] for p in pts]
        self.f = [p[1] for p in pts]
        self.g = [p[2] for p in pts]
        self.gtd = [p[3] for p in pts]

    def set(self, i, t, f, g, gtd):
        self.t[i], self.f[i], self.g[i], self.gtd[i] = t, f, g, gtd

    def order(self):
        return (0, 1) if self.f[0] <= self.f[-1] else (1, 0)


def _strong_wolfe(evaluate, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Find a step ``t`` along ``d`` meeting the strong Wolfe conditions (bracket, then zoom)."""
    d_norm = d.abs().max()
    g = g.clone()
    f_new, g_new = evaluate(x, t, d)
    evals = 1
    gtd_new = g_new.dot(d)
    prev = (0, f, g, gtd)
    done = False
    it = 0
    br = None
    # phase 1: expand the step until an interval containing a good point is found
    while it < max_ls:
        if f_new > f + c1 * t * gtd or (it > 1 and f_new >= prev[1]):
            br = _Bracket([prev, (t, f_new, g_new.clone(), gtd_new)])
            break
        if abs(gtd_new) <= -c2 * gtd:
            br = _Bracket([(t, f_new, g_new, None)])
            done = True
            break
        if gtd_new >= 0:
            br = _Bracket([prev, (t, f_new, g_new.clone(), gtd_new)])
            break
        lo_step, hi_step = t + 0.01 * (t - prev[0]), t * 10
        t_old = t
        t = _cubic_min(prev[0], prev[1], prev[3], t, f_new, gtd_new, bounds=(lo_step, hi_step))
        prev = (t_old, f_new, g_new.clone(), gtd_new)
        f_new, g_new = evaluate(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        it += 1
    if it == max_ls:
        br = _Bracket([(0, f, g, None), (t, f_new, g_new, None)])
    # phase 2: zoom into the bracket
    stalled = False
    low, high = br.order()
    while not done and it < max_ls:
        if abs(br.t[1] - br.t[0]) * d_norm < tolerance_change:
            break
        t = _cubic_min(br.t[0], br.f[0], br.gtd[0], br.t[1], br.f[1], br.gtd[1])
        top, bottom = max(br.t), min(br.t)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:
            # too close to an end: move away from it unless the last step already made progress
            if stalled or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        f_new, g_new = evaluate(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        it += 1
        if f_new > f + c1 * t * gtd or f_new >= br.f[low]:
            br.set(high, t, f_new, g_new.clone(), gtd_new)
            low, high = br.order()
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (br.t[high] - br.t[low]) >= 0:
                br.set(high, br.t[low], br.f[low], br.g[low], br.gtd[low])
            br.set(low, t, f_new, g_new.clone(), gtd_new)
    return br.f[low], br.g[low], br.t[low], evals


class LBFGS(Optimizer):
    _tensor_step = False

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # ---- flat views of all parameters
    # complex parameters take part as their (real, imag) pairs, as in torch
    def _flat_grad(self):
        views = []
        for p in self._params:
            g = p.new_zeros(p.shape) if p.grad is None else p.grad.to_dense() if p.grad.is_sparse else p.grad
            views.append((torch.view_as_real(g) if g.is_complex() else g).reshape(-1))
        return torch.cat(views, 0)

    def _add_grad(self, step, update):
        step = float(step)
        offset = 0
        for p in self._params:
            if p.is_complex():
                p = torch.view_as_real(p)
            n = p.numel()
            p.add_(update[offset:offset + n].view_as(p), alpha=step)
            offset += n

    def _evaluate_at(self, closure, x, t, d):
        """Loss and flat gradient at ``x + t * d``; the parameters are restored to ``x`` afterwards."""
        self._add_grad(t, d)
        loss = float(closure())
        g = self._flat_grad()
        for p, v in zip(self._params, x):
            p.copy_(v)
        return loss, g

    def _direction(self, g, hist, H_diag, history_size, state):
        """Two-loop recursion: the quasi-Newton direction -H g from the stored (y, s, 1/ys)."""
        dirs, stps, ro = hist
        n = len(dirs)
        if "al" not in state:
            state["al"] = [None] * history_size
        al = state["al"]
        q = g.neg()
        for i in range(n - 1, -1, -1):
            al[i] = stps[i].dot(q) * ro[i]
            q.add_(dirs[i], alpha=-float(al[i]))
        r = torch.mul(q, H_diag)
        for i in range(n):
            be = dirs[i].dot(r) * ro[i]
            r.add_(stps[i], alpha=float(al[i] - be))
        return r

    def step(self, closure):
        with torch.no_grad():
            return self._step(closure)

    def _step(self, closure):
        group = self.param_groups[0]
        lr = group["lr"]  # a tensor lr stays one: torch's state["t"] is then a tensor too
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]

        def evaluate():
            with torch.enable_grad():
                return closure()

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = evaluate()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if g.abs().max() <= tol_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        dirs, stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_g, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = g.neg()
                dirs, stps, ro, H_diag = [], [], [], 1
            else:
                # curvature pair from the last step; kept only when it is positive enough
                y = g.sub(prev_g)
                s = d.mul(t)
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(dirs) == history_size:
                        dirs.pop(0)
                        stps.pop(0)
                        ro.pop(0)
                    dirs.append(y)
                    stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                d = self._direction(g, (dirs, stps, ro), H_diag, history_size, state)
            if prev_g is None:
                prev_g = g.clone()
            else:
                prev_g.copy_(g)
            prev_loss = loss
            if state["n_iter"] == 1:
                inv = 1.0 / g.abs().sum()
                t = (inv if inv < 1.0 else 1.0) * lr
            else:
                t = lr
            gtd = g.dot(d)
            if gtd > -tol_change:
                break
            ls_evals = 0
            if group["line_search_fn"] is not None:
                if group["line_search_fn"] != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x0 = [p.clone() for p in self._params]
                loss, g, t, ls_evals = _strong_wolfe(
                    lambda x, tt, dd: self._evaluate_at(evaluate, x, tt, dd),
                    x0, t, d, loss, g, gtd, max_ls=max_eval - evals)
                self._add_grad(t, d)
                converged = g.abs().max() <= tol_grad
            else:
                self._add_grad(t, d)
                converged = False
                if n_iter != max_iter:
                    loss = float(evaluate())
                    g = self._flat_grad()
                    converged = g.abs().max() <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals
            if (n_iter == max_iter or evals >= max_eval or converged or d.mul(t).abs().max() <= tol_change
                    or abs(loss - prev_loss) < tol_change):
                break

        state.update(d=d, t=t, old_dirs=dirs, old_stps=stps, ro=ro, H_diag=H_diag, prev_flat_grad=prev_g,
                     prev_loss=prev_loss)
        return orig_loss
