//! PNG plots for krust: training curves, confusion matrices, image and filter grids, and
//! model graphs.
//!
//! Plots are drawn with `plotters`' bitmap backend and the bundled DejaVu Sans font (no
//! system font lookup, so CI machines without fonts draw the same images). Inputs are plain
//! slices, so this crate does not depend on the tensor crates. Every plot is drawn into a
//! temporary file in the target's directory and renamed into place.

mod colors;
mod error;
mod font;
mod graph;
mod grid;
mod heatmap;
mod line;
mod output;
mod overlay;
mod predictions;

#[cfg(test)]
mod test_files;

pub use error::PlotError;
pub use graph::{graph_layout, model_graph, GraphLayout, GraphNode, NodeBox, Spacing};
pub use grid::{filter_grid, image_grid, GridImage};
pub use heatmap::confusion_matrix_heatmap;
pub use line::{function_plot, line_chart, side_by_side, training_curves, MetricHistory, Series};
pub use overlay::{blend_heat, heat_overlay, jet};
pub use predictions::top_k_bars;
