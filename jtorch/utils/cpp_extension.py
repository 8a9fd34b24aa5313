"""torch.utils.cpp_extension: building C++/CUDA extensions against torch's C++ API (ATen, libtorch).

jtorch has no C++ library to compile against, so every builder raises RuntimeError saying so (torch raises
while compiling, e.g. when no compiler is found; here nothing is attempted). Write custom ops in Python with
``torch.library.custom_op`` (jtorch.library), or as JAX functions."""

_MESSAGE = ("jtorch cannot build C++/CUDA extensions: it is PyTorch's API on JAX and has no libtorch/ATen to "
            "compile against. Define the op in Python with torch.library.custom_op, or write it in JAX.")

__all__ = ["load", "load_inline", "CppExtension", "CUDAExtension", "BuildExtension", "include_paths",
           "library_paths", "get_compiler_abi_compatibility_and_version", "verify_ninja_availability",
           "is_ninja_available", "CUDA_HOME", "ROCM_HOME"]

CUDA_HOME = None
ROCM_HOME = None


def _unsupported(*args, **kwargs):
    raise RuntimeError(_MESSAGE)


load = load_inline = CppExtension = CUDAExtension = include_paths = library_paths = _unsupported
get_compiler_abi_compatibility_and_version = _unsupported


class BuildExtension:
    def __init__(self, *args, **kwargs):
        raise RuntimeError(_MESSAGE)

    @classmethod
    def with_options(cls, **options):
        raise RuntimeError(_MESSAGE)


def is_ninja_available():
    return False


def verify_ninja_availability():
    raise RuntimeError("Ninja is required to load C++ extensions (and jtorch cannot build them at all)")
