"""A custom autograd Function (the seed's clamp example) checked against finite differences."""
import torch


class CustomFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class Swish(torch.autograd.Function):
    """x * sigmoid(beta * x) with a hand-written gradient."""

    @staticmethod
    def forward(ctx, x, beta):
        s = torch.sigmoid(beta * x)
        ctx.save_for_backward(x, s)
        ctx.beta = beta
        return x * s

    @staticmethod
    def backward(ctx, grad_output):
        x, s = ctx.saved_tensors
        return grad_output * (s + ctx.beta * x * s * (1 - s)), None


def main():
    torch.manual_seed(0)
    x = torch.randn(6, requires_grad=True)
    y = CustomFunction.apply(x)
    y.sum().backward()
    print("input     ", x.detach())
    print("relu(x)   ", y.detach())
    print("gradient  ", x.grad)
    z = torch.randn(5, dtype=torch.float64, requires_grad=True)
    ok = torch.autograd.gradcheck(lambda t: Swish.apply(t, 1.5), (z,))
    print("Swish passes gradcheck:", ok)
    return ok


if __name__ == "__main__":
    main()
