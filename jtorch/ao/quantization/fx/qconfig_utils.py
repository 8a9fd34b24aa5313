"""Resolving a QConfigMapping to one qconfig per graph node, with torch's precedence: global < object type <
module name regex < module name (a parent's name covers its children) < module name + object type + call index.
Modules inherit their parent module's qconfig; functions get the qconfig of the module whose forward calls them
unless their own type has one."""
import re

from ..qconfig_mapping import QConfigMapping


def as_mapping(qconfig_mapping):
    if qconfig_mapping is None:
        return QConfigMapping()
    if isinstance(qconfig_mapping, dict):  # the older qconfig_dict form
        return QConfigMapping.from_dict(qconfig_mapping)
    if not isinstance(qconfig_mapping, QConfigMapping):
        raise AssertionError("qconfig_mapping must be a QConfigMapping")
    return qconfig_mapping


def _by_name(mapping, name, fallback):
    """The module name qconfig for ``name`` or its nearest named parent, else ``fallback``."""
    while True:
        if name in mapping.module_name_qconfigs:
            return mapping.module_name_qconfigs[name]
        if not name:
            return fallback
        name = name.rpartition(".")[0]


def _by_regex(mapping, name, fallback):
    for pattern, qconfig in mapping.module_name_regex_qconfigs.items():
        if re.match(pattern, name):
            return qconfig
    return fallback


def _adjust(mapping, object_type, name, fallback):
    q = mapping.object_type_qconfigs.get(object_type, fallback)
    q = _by_regex(mapping, name, q)
    return _by_name(mapping, name, q)


def check_fused_qconfigs(root, mapping):
    """torch's rule for a fused module: the object type qconfigs of its parts must agree (an absent one counts as
    None); the fused module then has that qconfig as its own type's."""
    from jtorch.ao.nn.intrinsic import _FusedModule
    from ..qconfig import qconfig_equals
    types = mapping.object_type_qconfigs
    for mod in root.modules():
        if isinstance(mod, _FusedModule):
            parts = [type(c) for c in mod.children()]
            first = types.get(parts[0])
            for t in parts[1:]:
                if not qconfig_equals(types.get(t), first):
                    raise LookupError("During fusion, we need to specify the same qconfigs for all module types in "
                                      f"{type(mod)} offending type: {t}")


def _module_type_qconfig(mapping, mod, fallback):
    from jtorch.ao.nn.intrinsic import _FusedModule
    types = mapping.object_type_qconfigs
    if type(mod) in types:
        return types[type(mod)]
    if isinstance(mod, _FusedModule) and types.get(type(mod[0])) is not None:
        return types[type(mod[0])]
    return fallback


def module_qconfigs(root, mapping):
    """{qualified module name: qconfig}, propagated from parents to children."""
    out = {}

    def visit(mod, name, parent_qconfig):
        q = _module_type_qconfig(mapping, mod, parent_qconfig)
        q = _by_regex(mapping, name, q) if name else q
        q = mapping.module_name_qconfigs.get(name, q) if name else q
        out[name] = q
        for child_name, child in mod.named_children():
            visit(child, f"{name}.{child_name}" if name else child_name, q)
    visit(root, "", mapping.global_qconfig)
    return out


def node_qconfigs(graph, mapping, modules_qconfig, node_name_to_scope):
    """{node name: qconfig} for the call nodes of ``graph``."""
    out = {}
    seen = {}  # (scope path, object type) -> calls so far, for module_name_object_type_order
    for node in graph.nodes:
        if node.op == "call_module":
            out[node.name] = modules_qconfig.get(node.target, mapping.global_qconfig)
        elif node.op in ("call_function", "call_method"):
            path, scope_type = node_name_to_scope.get(node.name, ("", None))
            q = mapping.object_type_qconfigs.get(node.target, mapping.global_qconfig)
            if path or scope_type is not None:
                q = _adjust(mapping, scope_type, path, q)
            key = (path, node.target)
            index = seen.get(key, 0)
            seen[key] = index + 1
            q = mapping.module_name_object_type_order_qconfigs.get((path, node.target, index), q)
            out[node.name] = q
    return out
