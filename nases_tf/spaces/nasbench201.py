"""NAS-Bench-201's cell space: 4 nodes, 6 edges, each edge one of 5 ops.

Node ``j`` sums ``op(node i)`` over its incoming edges ``i < j``. The table strings list the
edges node by node, ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, which is also our vector order:
edges 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2.
"""

from nases_tf.errors import ArchitectureError
from nases_tf.spaces.base import SearchSpace

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NUM_NODES = 4
# (to_node, from_node) per decision, in the order of the table strings.
EDGES = tuple((j, i) for j in range(1, NUM_NODES) for i in range(j))


class NasBench201Space(SearchSpace):
    """The 15,625 NAS-Bench-201 (NATS-Bench topology) cells as 6 decisions of 5 choices.

    Decision ``k`` is the op on edge ``EDGES[k] = (to_node, from_node)``; its value indexes
    ``OPS``. The readable form is the table's architecture string.
    """

    name = "nasbench201"

    @property
    def decision_names(self):
        return tuple(f"edge_{j}_{i}" for j, i in EDGES)

    @property
    def sizes(self):
        return (len(OPS),) * len(EDGES)

    def config(self):
        return {"name": self.name}

    def to_string(self, arch):
        """The NAS-Bench-201 string of ``arch``, e.g. ``|nor_conv_3x3~0|+|...~0|...~1|+...``.

        Args:
            arch: sequence of 6 ints in ``[0, 5)``.
        """
        arch = self.validate(arch)
        nodes, pos = [], 0
        for j in range(1, NUM_NODES):
            nodes.append("|" + "|".join(f"{OPS[arch[pos + i]]}~{i}" for i in range(j)) + "|")
            pos += j
        return "+".join(nodes)

    def from_string(self, text):
        """The architecture (tuple of 6 ints) of a NAS-Bench-201 string.

        Args:
            text: a string such as ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|``.

        Raises:
            ArchitectureError: if the string is malformed or names an unknown op.
        """
        if not isinstance(text, str):
            raise ArchitectureError(
                f"nasbench201 architecture string must be a str, got {type(text).__name__}")
        text = text.strip()
        nodes = text.split("+")
        if len(nodes) != NUM_NODES - 1:
            raise ArchitectureError(
                f"nasbench201 string {text!r} has {len(nodes)} '+'-separated nodes, expected "
                f"{NUM_NODES - 1} (format |op~0|+|op~0|op~1|+|op~0|op~1|op~2|)")
        arch = []
        for j, node in enumerate(nodes, start=1):
            if len(node) < 2 or not (node.startswith("|") and node.endswith("|")):
                raise ArchitectureError(
                    f"nasbench201 string {text!r}: node {j} part {node!r} must start and end "
                    "with '|'")
            edges = node[1:-1].split("|")
            if len(edges) != j:
                raise ArchitectureError(
                    f"nasbench201 string {text!r}: node {j} has {len(edges)} edges, expected {j}")
            for i, edge in enumerate(edges):
                op, sep, source = edge.partition("~")
                if not sep or source != str(i):
                    raise ArchitectureError(
                        f"nasbench201 string {text!r}: edge {edge!r} of node {j} should read "
                        f"'op~{i}'")
                if op not in OPS:
                    raise ArchitectureError(
                        f"nasbench201 string {text!r}: unknown op {op!r}, expected one of "
                        f"{', '.join(OPS)}")
                arch.append(OPS.index(op))
        return tuple(arch)

    def to_json(self, arch):
        arch = self.validate(arch)
        return {"edges": [OPS[c] for c in arch], "string": self.to_string(arch)}

    def from_json(self, obj):
        if isinstance(obj, dict) and "edges" in obj:
            edges = obj["edges"]
            if not isinstance(edges, (list, tuple)) or len(edges) != len(EDGES):
                raise ArchitectureError(
                    f"nasbench201 JSON 'edges' must list {len(EDGES)} op names, got {edges!r}")
            arch = []
            for k, op in enumerate(edges):
                if op not in OPS:
                    raise ArchitectureError(
                        f"nasbench201 edge {k} has unknown op {op!r}, expected one of "
                        f"{', '.join(OPS)}")
                arch.append(OPS.index(op))
            arch = tuple(arch)
            if "string" in obj and self.from_string(obj["string"]) != arch:
                raise ArchitectureError(
                    f"nasbench201 JSON 'string' {obj['string']!r} disagrees with its 'edges'")
            return arch
        if isinstance(obj, dict) and "string" in obj:
            return self.from_string(obj["string"])
        raise ArchitectureError(
            "nasbench201 architecture JSON needs key 'edges' (6 op names) or 'string'")

    def readable(self, arch):
        return self.to_string(arch)
