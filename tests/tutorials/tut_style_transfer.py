"""Neural style transfer tutorial style: a feature CNN (the tutorial's VGG19 replaced by a small
Sequential of the same layer kinds), a Normalization module with mean/std viewed (-1, 1, 1),
ContentLoss/StyleLoss modules that keep self.loss (target detached), gram_matrix with view/mm/div,
the model rebuilt from cnn.children() with renamed layers and ReLU(inplace=False), truncated after
the last loss layer, model.eval() + requires_grad_(False), the input image optimised by
optim.LBFGS([input_img]) with a closure that clamps under no_grad; then LBFGS with
line_search_fn='strong_wolfe' on a small regression."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

from tut_common import finish, np_params, record

rng = np.random.RandomState(121)
imsize = 16
yy, xx = np.mgrid[0:imsize, 0:imsize] / imsize
style_np = np.stack([np.sin(6 * xx), np.cos(5 * yy), np.sin(4 * (xx + yy))]) * 0.5 + 0.5
content_np = np.stack([(xx > 0.5) * 1.0, (yy > 0.3) * 0.8, xx * yy])
style_img = torch.tensor(style_np[None].astype(np.float32))
content_img = torch.tensor(content_np[None].astype(np.float32))
assert style_img.size() == content_img.size(), "we need to import style and content images of the same size"


class ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()

    def forward(self, input):
        self.loss = F.mse_loss(input, self.target)
        return input


def gram_matrix(input):
    a, b, c, d = input.size()
    features = input.view(a * b, c * d)
    G = torch.mm(features, features.t())
    return G.div(a * b * c * d)


class StyleLoss(nn.Module):
    def __init__(self, target_feature):
        super().__init__()
        self.target = gram_matrix(target_feature).detach()

    def forward(self, input):
        G = gram_matrix(input)
        self.loss = F.mse_loss(G, self.target)
        return input


cnn = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(8, 8, 3, padding=1),
                    nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Conv2d(8, 12, 3, padding=1), nn.ReLU(inplace=True),
                    nn.Conv2d(12, 12, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                    nn.Conv2d(12, 16, 3, padding=1), nn.ReLU(inplace=True))
np_params(cnn, 122, scale=0.4)
cnn = cnn.eval()
cnn_normalization_mean = torch.tensor([0.485, 0.456, 0.406])
cnn_normalization_std = torch.tensor([0.229, 0.224, 0.225])


class Normalization(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def forward(self, img):
        return (img - self.mean) / self.std


content_layers_default = ["conv_4"]
style_layers_default = ["conv_1", "conv_2", "conv_3", "conv_4", "conv_5"]


def get_style_model_and_losses(cnn, normalization_mean, normalization_std, style_img, content_img,
                               content_layers=content_layers_default, style_layers=style_layers_default):
    normalization = Normalization(normalization_mean, normalization_std)
    content_losses = []
    style_losses = []
    model = nn.Sequential(normalization)
    i = 0
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = "conv_{}".format(i)
        elif isinstance(layer, nn.ReLU):
            name = "relu_{}".format(i)
            layer = nn.ReLU(inplace=False)
        elif isinstance(layer, nn.MaxPool2d):
            name = "pool_{}".format(i)
        elif isinstance(layer, nn.BatchNorm2d):
            name = "bn_{}".format(i)
        else:
            raise RuntimeError("Unrecognized layer: {}".format(layer.__class__.__name__))
        model.add_module(name, layer)
        if name in content_layers:
            target = model(content_img).detach()
            content_loss = ContentLoss(target)
            model.add_module("content_loss_{}".format(i), content_loss)
            content_losses.append(content_loss)
        if name in style_layers:
            target_feature = model(style_img).detach()
            style_loss = StyleLoss(target_feature)
            model.add_module("style_loss_{}".format(i), style_loss)
            style_losses.append(style_loss)
    for i in range(len(model) - 1, -1, -1):
        if isinstance(model[i], ContentLoss) or isinstance(model[i], StyleLoss):
            break
    model = model[:(i + 1)]
    return model, style_losses, content_losses


input_img = content_img.clone()


def get_input_optimizer(input_img):
    optimizer = optim.LBFGS([input_img])
    return optimizer


def run_style_transfer(cnn, normalization_mean, normalization_std, content_img, style_img, input_img,
                       num_steps=30, style_weight=100000, content_weight=1):
    print("Building the style transfer model..")
    model, style_losses, content_losses = get_style_model_and_losses(cnn, normalization_mean, normalization_std,
                                                                     style_img, content_img)
    input_img.requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    optimizer = get_input_optimizer(input_img)
    print("Optimizing..")
    run = [0]
    history = []
    while run[0] <= num_steps:
        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            model(input_img)
            style_score = 0
            content_score = 0
            for sl in style_losses:
                style_score += sl.loss
            for cl in content_losses:
                content_score += cl.loss
            style_score *= style_weight
            content_score *= content_weight
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            history.append((style_score.item(), content_score.item()))
            if run[0] % 10 == 0:
                print("run {}:".format(run))
                # the tutorial prints {:4f} (6 decimals): float32 agrees to ~7 significant digits, not to 1e-6
                print("Style Loss : {:.1f} Content Loss: {:.4f}".format(style_score.item(), content_score.item()))
                print()
            return style_score + content_score
        optimizer.step(closure)
    with torch.no_grad():
        input_img.clamp_(0, 1)
    return input_img, model, history


# one LBFGS step (20 closure calls): with the tutorial's large style weight, LBFGS's curvature pairs
# amplify float32 rounding from the second step on (the runs part by 1e-5 relative after 25 calls,
# 1e-3 after 30, both descending), so the comparison stops at one step
output, model, history = run_style_transfer(cnn, cnn_normalization_mean, cnn_normalization_std, content_img,
                                            style_img, input_img, num_steps=10)
print(model)
record("module_names", [n for n, _ in model.named_children()])
record("history", history)
record("output", output)
record("model_frozen", [p.requires_grad for p in model.parameters()])

# LBFGS with the strong Wolfe line search on a least-squares problem
A = torch.tensor(rng.randn(20, 5).astype(np.float32))
b = torch.tensor(rng.randn(20).astype(np.float32))
w = torch.zeros(5, requires_grad=True)
# few iterations: once converged, the stopping test compares loss changes of one ulp
opt = optim.LBFGS([w], lr=1, max_iter=4, history_size=5, line_search_fn="strong_wolfe")
evals = []


def closure():
    opt.zero_grad()
    loss = ((A @ w - b) ** 2).mean() + 0.1 * w.pow(4).sum()
    loss.backward()
    evals.append(loss.item())
    return loss


for _ in range(2):
    opt.step(closure)
record("wolfe_evals", evals)
record("wolfe_w", w)
record("lbfgs_state_keys", sorted(k for k in opt.state[w].keys()))
record("lbfgs_n_iter", opt.state[w]["n_iter"])
finish()
