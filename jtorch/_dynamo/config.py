"""torch._dynamo.config: the settings jtorch.compile reads.

``recompile_limit`` (alias ``cache_size_limit``, as in torch): programs one compiled function may
trace (one per guard key: shapes, dtypes, specialised Python values) before it runs eagerly from
then on, with one warning."""
import sys
import types

recompile_limit = 8
# accepted for scripts that set them; jtorch.compile's scalar rules are its ``dynamic=`` argument
automatic_dynamic_shapes = True
assume_static_by_default = True
suppress_errors = False
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


sys.modules[__name__].__class__ = _Config
