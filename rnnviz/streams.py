"""The names of a watched model's streams (one per layer and direction) and of the parts of its gradient, as the
store, the API and the charts read them; no torch here, so the dashboard can read them quickly."""

from __future__ import annotations

DIRECTIONS = ("forward", "backward")
# With an output at every step: the gradient reaching h_t by where it comes from (layered.py computes them).
PARTS = {
    "total": ("grad_h", "all of it, ||dL/dh_t||"),
    "local": ("grad_h_local", "from the output at t itself"),
    "later": ("grad_h_later", "travelled back from later steps"),
    "last": ("grad_h_last", "from the loss at the last step alone, ||dL_T/dh_t||"),
}


def stream_name(layer: int, reverse: bool) -> str:
    """A stream's prefix in the store: l0, l1 (forward), l0r, l1r (backward)."""
    return f"l{layer}{'r' if reverse else ''}"


def stream_label(name: str) -> str:
    """A stream's name in words, counting layers from 1 as the parameters' labels do: l0r -> 'layer 1, backward'."""
    return f"layer {int(name[1:].rstrip('r')) + 1}, {DIRECTIONS[name.endswith('r')]}"


def streams_of(array_names: list[str]) -> list[str]:
    """The streams a run recorded, bottom layer first and forward before backward; [] for a model of one stream
    (one layer, one direction, or a custom cell), which is recorded under the plain names only."""
    found = {n.split("/")[0] for n in array_names if n.endswith("/grad_h") and n.startswith("l")}
    return sorted(found, key=lambda s: (int(s[1:].rstrip("r")), s.endswith("r")))


def array_name(streams: list[str], layer: int | None, direction: str, part: str) -> str:
    """The array holding one stream's gradient part; a LookupError naming what was recorded otherwise."""
    if direction not in DIRECTIONS:
        raise LookupError(f"direction must be 'forward' or 'backward', got {direction!r}")
    if part not in PARTS:
        raise LookupError(f"part must be one of {', '.join(PARTS)}, got {part!r}")
    quantity = PARTS[part][0]
    if layer is None and direction == "forward":
        return quantity  # the top layer's forward stream, which every run records under the plain name
    name = stream_name(0 if layer is None else layer, direction == "backward")
    if name in streams:
        return f"{name}/{quantity}"
    if not streams and name == "l0":
        return quantity
    have = ", ".join(f"({int(s[1:].rstrip('r'))}, {DIRECTIONS[s.endswith('r')]!r})" for s in streams)
    raise LookupError(
        f"this run recorded no layer={layer}, direction={direction!r}; it has (layer, direction): "
        + (have or "(0, 'forward') only: one layer, one direction")
    )
