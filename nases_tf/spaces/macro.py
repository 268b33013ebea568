"""The ENAS macro space the paper searches: L layers, one op each, skips to earlier layers."""

from nases_tf.errors import ArchitectureError
from nases_tf.spaces.base import SearchSpace

MACRO_OPS = ("identity", "sep_conv_3x3", "sep_conv_5x5", "avg_pool_3x3", "max_pool_3x3")


class MacroSpace(SearchSpace):
    """L layers; layer ``i`` picks one of ``MACRO_OPS`` and, per earlier layer ``j < i``,
    whether the output of ``j`` is added to its own (a skip connection).

    The flat vector lists, layer by layer, the op index and then the ``i`` skip bits, so
    ``m = L + L (L - 1) / 2`` (120 for the paper's 15 layers).

    Args:
        layers: number of layers L (at least 1).
    """

    name = "macro"

    def __init__(self, layers=15):
        if int(layers) < 1:
            raise ArchitectureError(f"macro space needs at least 1 layer, got {layers}")
        self.layers = int(layers)
        names, sizes = [], []
        for i in range(self.layers):
            names.append(f"op_{i}")
            sizes.append(len(MACRO_OPS))
            for j in range(i):
                names.append(f"skip_{i}_{j}")
                sizes.append(2)
        self._define_decisions(names, sizes)

    def config(self):
        return {"name": self.name, "layers": self.layers}

    def split(self, arch):
        """Returns ``(ops, skips)``: op index per layer and, per layer, its tuple of skip bits."""
        arch = self.validate(arch)
        ops, skips, pos = [], [], 0
        for i in range(self.layers):
            ops.append(arch[pos])
            skips.append(tuple(arch[pos + 1:pos + 1 + i]))
            pos += 1 + i
        return tuple(ops), tuple(skips)

    def join(self, ops, skips):
        """Inverse of ``split``: the flat vector of ops and skip bits, validated."""
        if len(ops) != self.layers or len(skips) != self.layers:
            raise ArchitectureError(
                f"macro architecture has {len(ops)} ops and {len(skips)} skip lists, "
                f"expected {self.layers} of each")
        flat = []
        for i, (op, row) in enumerate(zip(ops, skips)):
            if len(row) != i:
                raise ArchitectureError(
                    f"macro layer {i} has {len(row)} skip bits, expected {i}")
            flat.append(op)
            flat.extend(int(bit) for bit in row)
        return self.validate(flat)

    def to_json(self, arch):
        ops, skips = self.split(arch)
        return {"ops": [MACRO_OPS[o] for o in ops], "skips": [list(row) for row in skips]}

    def from_json(self, obj):
        if not isinstance(obj, dict) or "ops" not in obj or "skips" not in obj:
            raise ArchitectureError(
                "macro architecture JSON needs keys 'ops' (op names) and 'skips' (bit lists)")
        ops = []
        for i, op in enumerate(obj["ops"]):
            if op not in MACRO_OPS:
                raise ArchitectureError(
                    f"macro layer {i} has unknown op {op!r}, expected one of {', '.join(MACRO_OPS)}")
            ops.append(MACRO_OPS.index(op))
        return self.join(ops, obj["skips"])

    def readable(self, arch):
        ops, skips = self.split(arch)
        parts = []
        for i, (op, row) in enumerate(zip(ops, skips)):
            sources = [str(j) for j, bit in enumerate(row) if bit]
            parts.append(MACRO_OPS[op] + (f"+[{','.join(sources)}]" if sources else ""))
        return " | ".join(parts)

    def reduction_after(self):
        """Indices of the layers after which the network halves resolution (L/3, 2L/3)."""
        marks = sorted({self.layers // 3 - 1, 2 * self.layers // 3 - 1})
        return tuple(i for i in marks if 0 <= i < self.layers - 1)
