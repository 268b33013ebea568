"""How the controller's chains of architecture states move (Alg. 1 lines 9-10).

One ``Chains`` object drives the proposals of both the CLI search and the keras-tuner Oracle:
it draws an embedding from a chain's state with the controller, decodes it, walks past
proposals that were already tried, and moves the chain according to its ``mode``:

- ``decoded``: the paper's chain, read literally: the decoded sample ``a' = f(e)`` becomes
  the chain's next state at once.
- ``elitist``: a chain moves to a proposal (re-encoded at the centres of its choices'
  intervals, so states cannot saturate) only once its reward is at least that of the
  chain's current state; the policy learns which moves from a good state improve it.
- ``best``: as elitist, but every chain moves to the best proposal of any chain.

A decoded vector whose architecture was tried already can be mapped to the nearest one not
tried yet (``nearest_unseen``, as arch2vec decodes by nearest neighbour) instead of being
drawn again: the chain still moves to the decoded vector, only the proposal changes.
"""

import math

import numpy as np

MODES = ("decoded", "elitist", "best")
# Single-slot changes combined into the two-slot changes ``nearest_unseen`` tries.
_PAIRED_EDITS = 40


def nearest_unseen(decoded, sizes, is_new, max_edits=2):
    """The untried point nearest to a decoded vector: its own choices, else the change of one
    slot, else of two, nearest (squared distance to ``decoded``) first.

    Args:
        decoded: a unit vector ``(m,)`` from the decoder.
        sizes: per slot, its number of choices (0: a continuous slot, kept as decoded).
        is_new: function (unit vector at choice centres) -> whether it was not tried.
        max_edits: the most slots changed (1 or 2).

    Returns:
        The unit vector (choice centres for discrete slots), or None when every point
        within ``max_edits`` changes was tried.
    """
    d = np.clip(np.asarray(decoded, dtype=np.float64), 0.0, 1.0)
    own = d.copy()
    edits = []  # (extra squared distance, slot, centre)
    for i, k in enumerate(sizes):
        if not k:
            continue
        c = min(int(d[i] * k), k - 1)
        own[i] = (c + 0.5) / k
        for other in range(k):
            if other != c:
                centre = (other + 0.5) / k
                edits.append(((centre - d[i]) ** 2 - (own[i] - d[i]) ** 2, i, centre))
    if is_new(own):
        return own
    edits.sort()
    candidates = [(cost, [(i, centre)]) for cost, i, centre in edits]
    if max_edits >= 2:
        top = edits[:_PAIRED_EDITS]
        candidates += [(a[0] + b[0], [a[1:], b[1:]]) for j, a in enumerate(top)
                       for b in top[j + 1:] if a[1] != b[1]]
        candidates.sort(key=lambda c: c[0])
    for _, changes in candidates:
        u = own.copy()
        for i, centre in changes:
            u[i] = centre
        if is_new(u):
            return u
    return None


class Chains:
    """Proposals from, and moves of, the controller's chains.

    Args:
        controller: an ``EmbeddingController`` (its ``chains`` variable holds the states).
        mode: one of ``MODES``.
    """

    def __init__(self, controller, mode="decoded"):
        if mode not in MODES:
            raise ValueError(f"chain mode {mode!r} is unknown, expected one of {', '.join(MODES)}")
        self.controller, self.mode = controller, mode
        self.rewards = {}  # elitist/best: chain key -> reward of the chain's current state

    @property
    def moves_on_reward(self):
        """Whether chains move when a reward arrives (elitist, best) rather than at once."""
        return self.mode != "decoded"

    def states(self):
        """The current chain states (numpy, (chains, m))."""
        return self.controller.chains.numpy()

    def propose(self, chain, is_new=None, max_collisions=0, sizes=None):
        """Draws a proposal from chain ``chain``'s state.

        A decoded proposal for which ``is_new`` is false is replaced by the nearest untried
        point when ``sizes`` is given (``nearest_unseen``); otherwise, or when none is near,
        it is skipped: the decoded chain walks on to it and draws again, up to
        ``max_collisions`` times.

        Args:
            chain: index of the chain.
            is_new: optional function (decoded unit vector) -> bool.
            max_collisions: repeated proposals tolerated before giving up.
            sizes: per slot, its number of choices (0: continuous), or None.

        Returns:
            (state, embedding, proposal) numpy vectors, or None when every draw repeated.
        """
        for _ in range(max_collisions + 1):
            state = self.states()[chain]
            embedding, decoded = self.controller.sample(state[None])
            if self.mode == "decoded":
                self.controller.advance(decoded, [chain])
            if is_new is None or is_new(decoded[0]):
                return state, embedding[0], decoded[0]
            if sizes is not None:
                near = nearest_unseen(decoded[0], sizes, is_new)
                if near is not None:
                    return state, embedding[0], near.astype(np.float32)
        return None

    def propose_all(self):
        """One proposal from every chain: (states, embeddings, decoded), each (chains, .)."""
        states = self.states()
        embeddings, decoded = self.controller.sample(states)
        if self.mode == "decoded":
            self.controller.advance(decoded)
        return states, embeddings, decoded

    def observe(self, chain, candidate, reward):
        """Moves chain ``chain`` (every chain in ``best`` mode) to ``candidate`` if its
        ``reward`` is at least the chain's; a no-op in ``decoded`` mode or for a non-finite
        reward.

        Args:
            chain: index of the chain the candidate came from.
            candidate: the proposal's unit vector, encoded at its choices' centres.
            reward: its reward (higher is better).
        """
        if not self.moves_on_reward or not math.isfinite(reward):
            return
        key = "best" if self.mode == "best" else str(chain)
        if reward >= self.rewards.get(key, -math.inf):
            self.rewards[key] = float(reward)
            if self.mode == "best":
                n = self.controller.num_chains
                self.controller.advance(np.repeat(np.asarray(candidate, np.float32)[None], n, 0))
            else:
                self.controller.advance(np.asarray(candidate, np.float32)[None], [chain])

    def get_state(self):
        """JSON-able state (the chain states themselves live in the controller)."""
        return {"mode": self.mode, "rewards": dict(self.rewards)}

    def set_state(self, state):
        """Restores what ``get_state`` returned."""
        self.rewards = {str(k): float(v) for k, v in state.get("rewards", {}).items()}
