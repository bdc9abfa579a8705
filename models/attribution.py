"""Exact Shapley values of feature *groups* against one reference worker, for every worker at once.

A driver is a group of design columns (caseload, caseload ratio and "caseload above the
norm" are one driver), and its effect is measured against a chosen reference state of the
group (at the norm), not against the data mean: "what would this worker's hazard be with
their caseload at the norm". Setting one group at a time to its reference does not add up
when the model has interactions, so each group gets its baseline Shapley value: the change in
the log hazard from moving it from the reference to the worker's own value, averaged over
every order of moving the groups. The values add up exactly to f(x) - f(reference)
(efficiency), a group the worker shares with the reference gets exactly 0 (dummy), and for a
model without interactions each value is just that group's one-at-a-time change.

Linear models (the Cox model) are additive, so the value is the group's share of the linear
predictor. Trees are evaluated exactly without enumerating any orders (interventional TreeSHAP
with the reference as background; Lundberg et al. 2020, Nature Machine Intelligence 2: 56-67):
an input mixing the worker's and the reference's values reaches a leaf when the groups whose
split only the worker's own values pass (set A) come from the worker and those only the
reference passes (set B) stay at the reference. The leaf's value v is then gained by A and
lost by B with the Shapley weights of that unanimity game,

    phi_i = v (|A| - 1)! |B|! / (|A| + |B|)!  for i in A,    phi_j = -v |A|! (|B| - 1)! / (|A| + |B|)!  for j in B,

summed over the leaves. The reference may be a weighted mix of points (each category at its
share): the values are then the weighted mean of each point's. Which way a worker goes at a
tree's splits forms a pattern; the values per pattern are worked out once per tree, and looked
up with numpy for all workers at once: no loop per worker and none over orders, so a sector of
150,000 workers is explained in seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import factorial

import numpy as np
import xgboost as xgb


def linear_group_effects(delta: np.ndarray, coefficients: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Per worker and group, sum of coefficient x (value - reference) over the group's columns.

    `delta` is (workers x columns) of the design minus the reference's design; `groups` gives
    each column's group.
    """
    membership = np.zeros((len(groups), n_groups))
    membership[np.arange(len(groups)), groups] = 1.0
    return (delta * coefficients) @ membership


@dataclass(frozen=True)
class _Split:
    column: int
    threshold: np.float32
    default_left: bool


@dataclass(frozen=True)
class _Leaf:
    value: float
    path: tuple[tuple[int, bool], ...]  # (split node, goes left) from the root


@dataclass(frozen=True)
class _Tree:
    splits: dict[int, _Split]
    leaves: tuple[_Leaf, ...]


def _trees(booster: xgb.Booster) -> list[_Tree]:
    """The booster's trees from its JSON form, with split thresholds exactly as XGBoost compares them."""
    model = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]
    if model["name"] != "gbtree":
        raise ValueError(f"tree attributions need a gbtree booster, not {model['name']}")
    trees = []
    for tree in model["model"]["trees"]:
        if any(tree["split_type"]):
            raise ValueError("tree attributions need numeric splits: categories are one-hot encoded before XGBoost")
        left, right = tree["left_children"], tree["right_children"]
        splits = {node: _Split(tree["split_indices"][node], np.float32(tree["split_conditions"][node]),
                               bool(tree["default_left"][node]))
                  for node in range(len(left)) if left[node] != -1}
        leaves, stack = [], [(0, ())]
        while stack:
            node, path = stack.pop()
            if left[node] == -1:  # a leaf keeps its value (learning rate applied) in split_conditions
                leaves.append(_Leaf(float(tree["split_conditions"][node]), path))
            else:
                stack += [(left[node], (*path, (node, True))), (right[node], (*path, (node, False)))]
        trees.append(_Tree(splits, tuple(leaves)))
    return trees


def _goes_left(values: np.ndarray, split: _Split) -> np.ndarray:
    """XGBoost's rule: float32 value below the threshold goes left; a missing value goes the default way."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(values), split.default_left, values < split.threshold)


# A tree's splits together form one lookup pattern when there are at most this many (2^7 = 128 patterns:
# a depth-3 tree); a deeper tree is looked up leaf by leaf (2^depth patterns each), so the tables stay small.
TREE_PATTERN_SPLITS = 7


def _leaf_value(leaf: _Leaf, groups: dict[int, int], worker_left: dict[int, bool], reference_left: dict[int, bool]
                ) -> dict[int, float]:
    """The leaf's Shapley value per group, for one pattern of the worker's splits and one reference point."""
    own, kept = set(), set()
    for node, left in leaf.path:
        if reference_left[node] == left:
            if worker_left[node] != left:
                kept.add(groups[node])  # only the reference's value of this group reaches the leaf
        elif worker_left[node] == left:
            own.add(groups[node])  # only the worker's own value reaches the leaf
        else:
            return {}
    if own & kept:  # a group cannot take both values on one path
        return {}
    a, b = len(own), len(kept)
    return ({g: leaf.value * factorial(a - 1) * factorial(b) / factorial(a + b) for g in own}
            | {g: -leaf.value * factorial(a) * factorial(b - 1) / factorial(a + b) for g in kept})


def _segments(tree: _Tree) -> list[tuple[list[int], tuple[_Leaf, ...]]]:
    """The split nodes whose worker pattern is looked up together, with the leaves that depend on them."""
    if len(tree.splits) <= TREE_PATTERN_SPLITS:
        return [(list(tree.splits), tree.leaves)]
    return [([node for node, _ in leaf.path], (leaf,)) for leaf in tree.leaves]


def tree_group_effects(booster: xgb.Booster, design: np.ndarray, references: np.ndarray, weights: np.ndarray,
                       groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Per worker and group, the exact baseline Shapley value of the booster's margin against the references.

    `design` is (workers x columns); `references` (points x columns) with `weights` summing to 1
    is the reference worker as a distribution (a category at its training shares), whose
    Shapley values are the weighted mean of each point's; `groups` gives each column's group.
    The rows sum to margin(worker) - sum_k weight_k margin(reference_k) up to float32 rounding.
    Which way a worker goes at each split of a tree forms a pattern; the tree's values per
    pattern are computed once (at most 2^7 patterns) and looked up for all workers at once.
    """
    design = np.asarray(design, dtype=np.float32)
    references = np.asarray(references, dtype=np.float32).reshape(-1, design.shape[1])
    effects = np.zeros((n_groups, len(design)))  # a group's values lie together: each lookup adds to one row
    # Trees share many splits (the same histogram bins): each is compared once, a boolean per worker.
    goes_left: dict[tuple[int, np.float32, bool], np.ndarray] = {}
    for tree in _trees(booster):
        node_group = {node: int(groups[split.column]) for node, split in tree.splits.items()}
        # Reference points that go the same way at every split of this tree count as one, with their weights summed.
        reference_left: dict[tuple[tuple[int, bool], ...], float] = {}
        for reference, weight in zip(references, weights):
            way = tuple((node, bool(_goes_left(reference[None, split.column], split)[0]))
                        for node, split in tree.splits.items())
            reference_left[way] = reference_left.get(way, 0.0) + weight
        for nodes, leaves in _segments(tree):
            if not nodes:
                continue  # a tree of one leaf adds the same to every input
            distinct = list(dict.fromkeys(node_group[node] for node in nodes))
            table = np.zeros((1 << len(nodes), len(distinct)))
            for pattern in range(len(table)):
                worker_left = {node: bool(pattern >> k & 1) for k, node in enumerate(nodes)}
                for way, weight in reference_left.items():
                    for leaf in leaves:
                        for group, value in _leaf_value(leaf, node_group, worker_left, dict(way)).items():
                            table[pattern, distinct.index(group)] += weight * value
            pattern = np.zeros(len(design), dtype=np.intp)
            for k, node in enumerate(nodes):
                split = tree.splits[node]
                key = (split.column, split.threshold, split.default_left)
                if key not in goes_left:
                    goes_left[key] = _goes_left(design[:, split.column], split)
                pattern[goes_left[key]] += 1 << k
            for j, group in enumerate(distinct):
                if table[:, j].any():
                    effects[group] += table[pattern, j]
    return effects.T
