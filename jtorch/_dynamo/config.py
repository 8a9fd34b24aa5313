"""torch._dynamo.config: the settings jtorch.compile reads.

``recompile_limit`` (alias ``cache_size_limit``, as in torch): programs one compiled function may
trace (one per guard key: shapes, dtypes, specialised Python values) before it runs eagerly from
then on, with one warning."""
import sys
import types

recompile_limit = 8
# a new program after the first raises exc.RecompileError (torch's older form of set_stance("fail_on_recompile"))
error_on_recompile = False
# accepted for scripts that set or read them (torch's defaults); jtorch.compile's scalar rules are its
# ``dynamic=`` argument, and it has no separate DDP, autograd or nn-module compilation to configure
automatic_dynamic_shapes = True
assume_static_by_default = True
suppress_errors = False
specialize_int = False
specialize_float = False
dynamic_shapes = True
optimize_ddp = True
compiled_autograd = False
capture_dynamic_output_shape_ops = False
inline_inbuilt_nn_modules = True
force_parameter_static_shapes = True
guard_nn_modules = True
allow_unspec_int_on_nn_module = False
accumulated_recompile_limit = 256
verbose = False
# explain reports ``.item()``/``float(t)`` as traced calls, not graph breaks (torch's setting;
# jtorch.compile itself does not read it)
capture_scalar_outputs = False
# at the recompile limit: raise exc.FailOnRecompileLimitHit instead of running eagerly
fail_on_recompile_limit_hit = False


class _Config(types.ModuleType):
    @property
    def cache_size_limit(self):
        return self.recompile_limit

    @cache_size_limit.setter
    def cache_size_limit(self, v):
        self.recompile_limit = v

    @property
    def accumulated_cache_size_limit(self):
        return self.accumulated_recompile_limit

    @accumulated_cache_size_limit.setter
    def accumulated_cache_size_limit(self, v):
        self.accumulated_recompile_limit = v


sys.modules[__name__].__class__ = _Config
