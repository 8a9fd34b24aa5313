"""torch.utils.backcompat: the old broadcast/keepdim warning switches (both off by default). jtorch keeps
them as switches only: like current torch, it emits no such warnings."""


class Warning:  # noqa: A001 (torch's name)
    def __init__(self, setter, getter):
        self.setter = setter
        self.getter = getter

    def set_enabled(self, value):
        self.setter(value)

    def get_enabled(self):
        return self.getter()

    enabled = property(get_enabled, set_enabled)


_state = {"broadcast": False, "keepdim": False}

broadcast_warning = Warning(lambda v: _state.__setitem__("broadcast", bool(v)), lambda: _state["broadcast"])
keepdim_warning = Warning(lambda v: _state.__setitem__("keepdim", bool(v)), lambda: _state["keepdim"])
