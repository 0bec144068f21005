"""Pure Plotly builders: arrays in, go.Figure out (no Streamlit), shared by the dashboard and reports.

- `look.py`: what every figure shares: run colours, Style, layouts and axes, held axis ranges
- `lines.py`: lines over training, the global norm with clipping, stacked panels (the Overview)
- `heatmaps.py`: ||dL/dh_t|| over time steps and training
- `histograms.py`: histograms at a step, animated, over training; the gate scatter
- `groups.py`: sets of runs: a group's mean over seeds with its band, the map of a set over two settings
"""

from .groups import Band, band_lines, set_map
from .heatmaps import (
    NO_PROBE,
    gradient_heatmaps,
)
from .histograms import (
    histogram_animation,
    histogram_bars,
    histogram_over_training,
    unit_saturation_scatter,
)
from .lines import (
    Panel,
    downsample,
    lines,
    norm_with_clipping,
    stacked_panels,
)
from .look import (
    CHART_CONFIG,
    DEFAULT_STYLE,
    MAX_COLUMNS,
    MAX_POINTS,
    MAX_ROWS,
    MISSING,
    NO_DATA,
    PALETTE,
    PARTS,
    PERCENT,
    ROUND,
    TITLE_STANDOFF,
    UNDERFLOW,
    Y_TICKS,
    Empty,
    Histogram,
    Line,
    Style,
    axis,
    base_layout,
    color,
    extent,
    floored,
    held_range,
    log_axis,
    ranged,
    round_up,
    run_color,
    subsample_columns,
    tidy_axes,
    y_axis,
)

__all__ = [
    "Band",
    "band_lines",
    "set_map",
    "CHART_CONFIG",
    "DEFAULT_STYLE",
    "Empty",
    "Histogram",
    "Line",
    "MAX_COLUMNS",
    "MAX_POINTS",
    "MAX_ROWS",
    "MISSING",
    "NO_DATA",
    "NO_PROBE",
    "PALETTE",
    "PARTS",
    "PERCENT",
    "Panel",
    "ROUND",
    "Style",
    "TITLE_STANDOFF",
    "UNDERFLOW",
    "Y_TICKS",
    "axis",
    "base_layout",
    "color",
    "downsample",
    "extent",
    "floored",
    "gradient_heatmaps",
    "held_range",
    "histogram_animation",
    "histogram_bars",
    "histogram_over_training",
    "lines",
    "log_axis",
    "norm_with_clipping",
    "ranged",
    "round_up",
    "run_color",
    "stacked_panels",
    "subsample_columns",
    "tidy_axes",
    "unit_saturation_scatter",
    "y_axis",
]
