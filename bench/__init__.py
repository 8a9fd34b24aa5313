"""jtorch benchmarks (``python -m bench``)."""
import os

# warm-up times are measured cold: no compiled program from an earlier run (jtorch keeps them on
# disk by default; see jtorch/__init__.py); every benchmark's subprocess inherits this
os.environ.setdefault("JTORCH_COMPILATION_CACHE", "0")
