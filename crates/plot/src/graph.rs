//! A model's architecture as a picture: a box per layer, arrows along the data flow, rows
//! by topological depth (a chain is a vertical column, parallel branches stand side by
//! side). Edges that skip rows (residual connections) are routed down a lane to the right
//! of the boxes, so they never cross a box.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::font::font;
use crate::grid::truncate_to_fit;
use crate::output::{render, Canvas, DrawResult};
use crate::PlotError;

/// One box of the graph: its text lines (e.g. name, class, output shape) and the indices of
/// the nodes whose output it reads, all earlier in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphNode {
    pub lines: Vec<String>,
    pub inputs: Vec<usize>,
}

/// Where a node's box stands, in pixels from the top left of the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeBox {
    /// Topological depth: 0 for nodes without inputs, else one more than its deepest input.
    pub depth: usize,
    pub left: i32,
    pub top: i32,
    pub width: i32,
    pub height: i32,
}

/// The placed boxes and the picture's size.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphLayout {
    pub boxes: Vec<NodeBox>,
    /// For each edge `(from, to)` spanning more than one row, the x of its lane.
    pub lanes: Vec<((usize, usize), i32)>,
    /// The x right of every box from which the lanes are counted.
    pub lanes_left: i32,
    pub width: i32,
    pub height: i32,
    /// The sizes the boxes were laid out with.
    pub spacing: Spacing,
}

const BOX_WIDTH: i32 = 270;
const COLUMN_GAP: i32 = 40;
const MARGIN: i32 = 24;
const TITLE_BAND: i32 = 50;
const LANE_GAP: i32 = 12;
/// The largest side drawn (about 210 rows of three-line boxes at the compact spacing).
const MAX_SIDE: i32 = 16_000;

/// Vertical sizes of a layout: a roomy one, and a compact one for deep networks
/// (ResNet-50, MobileNet v2) that would not fit in `MAX_SIDE` otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spacing {
    pub line_height: i32,
    pub padding: i32,
    pub row_gap: i32,
    pub font_size: f64,
}

const ROOMY: Spacing = Spacing {
    line_height: 18,
    padding: 8,
    row_gap: 34,
    font_size: 14.0,
};
const COMPACT: Spacing = Spacing {
    line_height: 15,
    padding: 4,
    row_gap: 18,
    font_size: 12.0,
};

/// Places `nodes` by depth: row `d` holds the nodes of depth `d` in list order, centred,
/// with the roomy spacing or, when that would be taller than 16,000 pixels, the compact one.
/// Fails (with a reason) on an edge to a later or missing node, or a picture that would be
/// wider or taller than 16,000 pixels even so.
pub fn graph_layout(nodes: &[GraphNode]) -> Result<GraphLayout, String> {
    match layout_with(nodes, ROOMY) {
        Err(why) if why.contains("pixels a side") => layout_with(nodes, COMPACT),
        other => other,
    }
}

fn layout_with(nodes: &[GraphNode], spacing: Spacing) -> Result<GraphLayout, String> {
    if nodes.is_empty() {
        return Err("the graph has no nodes".to_string());
    }
    let mut depths = Vec::with_capacity(nodes.len());
    for (index, node) in nodes.iter().enumerate() {
        let mut depth = 0;
        for &input in &node.inputs {
            if input >= index {
                return Err(format!(
                    "node {index} reads node {input}, which does not come before it"
                ));
            }
            depth = depth.max(depths[input] + 1);
        }
        depths.push(depth);
    }
    let rows = depths.iter().max().map_or(0, |d| d + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); rows];
    for (index, &depth) in depths.iter().enumerate() {
        members[depth].push(index);
    }
    let box_height = |node: &GraphNode| {
        node.lines.len().max(1) as i32 * spacing.line_height + 2 * spacing.padding
    };
    let row_heights: Vec<i32> = members
        .iter()
        .map(|row| {
            row.iter()
                .map(|&i| box_height(&nodes[i]))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let widest = members.iter().map(Vec::len).max().unwrap_or(1) as i32;
    let boxes_width = widest * BOX_WIDTH + (widest - 1) * COLUMN_GAP;

    // Long edges get lanes right of the boxes; edges whose row spans overlap need their own.
    let mut long_edges: Vec<(usize, usize)> = Vec::new();
    for (to, node) in nodes.iter().enumerate() {
        for &from in &node.inputs {
            if depths[to] > depths[from] + 1 {
                long_edges.push((from, to));
            }
        }
    }
    let mut lane_ends: Vec<usize> = Vec::new();
    let mut by_start: Vec<usize> = (0..long_edges.len()).collect();
    by_start.sort_by_key(|&e| (depths[long_edges[e].0], depths[long_edges[e].1]));
    let mut assigned = vec![0usize; long_edges.len()];
    for e in by_start {
        let (start, end) = (depths[long_edges[e].0], depths[long_edges[e].1]);
        let lane = match lane_ends.iter().position(|&last| last <= start) {
            Some(free) => free,
            None => {
                lane_ends.push(0);
                lane_ends.len() - 1
            }
        };
        lane_ends[lane] = end;
        assigned[e] = lane;
    }
    let lanes_width = lane_ends.len() as i32 * LANE_GAP;
    let width = 2 * MARGIN
        + boxes_width
        + if lanes_width > 0 {
            lanes_width + LANE_GAP
        } else {
            0
        };
    let height = MARGIN
        + TITLE_BAND
        + row_heights.iter().sum::<i32>()
        + (rows as i32 - 1) * spacing.row_gap
        + MARGIN;
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(format!(
            "the graph is {rows} layers deep and {widest} wide, a {width}×{height} picture; at most {MAX_SIDE} pixels a side can be drawn legibly"
        ));
    }
    let mut boxes = vec![
        NodeBox {
            depth: 0,
            left: 0,
            top: 0,
            width: BOX_WIDTH,
            height: 0,
        };
        nodes.len()
    ];
    let mut top = MARGIN + TITLE_BAND;
    for (depth, row) in members.iter().enumerate() {
        let row_width = row.len() as i32 * BOX_WIDTH + (row.len() as i32 - 1) * COLUMN_GAP;
        let mut left = MARGIN + (boxes_width - row_width) / 2;
        for &index in row {
            let height = box_height(&nodes[index]);
            boxes[index] = NodeBox {
                depth,
                left,
                top: top + (row_heights[depth] - height) / 2,
                width: BOX_WIDTH,
                height,
            };
            left += BOX_WIDTH + COLUMN_GAP;
        }
        top += row_heights[depth] + spacing.row_gap;
    }
    let lanes = long_edges
        .iter()
        .zip(&assigned)
        .map(|(&edge, &lane)| (edge, MARGIN + boxes_width + LANE_GAP * (lane as i32 + 1)))
        .collect();
    Ok(GraphLayout {
        boxes,
        lanes,
        lanes_left: MARGIN + boxes_width,
        width,
        height,
        spacing,
    })
}

/// Draws `nodes` (see [`graph_layout`]) with `title` above: each box with its lines
/// (cut with "…" to the box width), an arrow from each input into it.
pub fn model_graph(
    path: impl AsRef<Path>,
    title: &str,
    nodes: &[GraphNode],
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let layout = graph_layout(nodes).map_err(|why| PlotError::invalid(path, why))?;
    crate::font::register_bundled_fonts();
    // The first line is bold (wider), so it is measured in bold.
    let fitter = |style: FontStyle| {
        let text_font = font(layout.spacing.font_size, style);
        move |text: &str| {
            text_font.font.box_size(text).map_or(true, |(w, _)| {
                (w as i32) <= BOX_WIDTH - 2 * layout.spacing.padding
            })
        }
    };
    let (fits_bold, fits_plain) = (fitter(FontStyle::Bold), fitter(FontStyle::Normal));
    let labels: Vec<Vec<String>> = nodes
        .iter()
        .map(|n| {
            n.lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    if i == 0 {
                        truncate_to_fit(l, &fits_bold)
                    } else {
                        truncate_to_fit(l, &fits_plain)
                    }
                })
                .collect()
        })
        .collect();
    render(path, (layout.width as u32, layout.height as u32), |root| {
        root.draw(&Text::new(
            title.to_string(),
            (layout.width / 2, MARGIN + TITLE_BAND / 2 - 6),
            font(22.0, FontStyle::Bold).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        draw_edges(root, nodes, &layout)?;
        for (b, lines) in layout.boxes.iter().zip(&labels) {
            draw_box(root, b, lines, &layout.spacing)?;
        }
        Ok(())
    })
}

const EDGE: RGBColor = RGBColor(90, 90, 90);

fn draw_edges(root: &Canvas<'_>, nodes: &[GraphNode], layout: &GraphLayout) -> DrawResult {
    let style = EDGE.stroke_width(2);
    for (to, node) in nodes.iter().enumerate() {
        let target = layout.boxes[to];
        for &from in &node.inputs {
            let source = layout.boxes[from];
            let lane = layout
                .lanes
                .iter()
                .find(|(edge, _)| *edge == (from, to))
                .map(|&(_, x)| x);
            match lane {
                // Down out of the source into the gap under its row, right to the lane
                // (so it crosses no box of that row), down the lane, into the target's
                // right side.
                Some(x) => {
                    let lane = (x - layout.lanes_left) / LANE_GAP;
                    // Lanes entering the same box come in at different heights.
                    let y1 = target.top + target.height / 2 + (lane % 3 - 1) * 8;
                    let x0 = source.left + source.width / 2;
                    let below = source.top + source.height + layout.spacing.row_gap / 2;
                    let x1 = target.left + target.width;
                    root.draw(&PathElement::new(
                        vec![
                            (x0, source.top + source.height),
                            (x0, below),
                            (x, below),
                            (x, y1),
                            (x1 + 1, y1),
                        ],
                        style,
                    ))?;
                    arrow_head(root, (x1, y1), (1, 0))?;
                }
                None => {
                    let start = (source.left + source.width / 2, source.top + source.height);
                    let end = (target.left + target.width / 2, target.top);
                    root.draw(&PathElement::new(vec![start, (end.0, end.1 - 1)], style))?;
                    arrow_head(root, end, (0, -1))?;
                }
            }
        }
    }
    Ok(())
}

/// A filled triangle with its tip at `tip`, opening towards `(dx, dy)` (a unit axis).
fn arrow_head(root: &Canvas<'_>, tip: (i32, i32), (dx, dy): (i32, i32)) -> DrawResult {
    let (length, half) = (9, 5);
    let base = (tip.0 + dx * length, tip.1 + dy * length);
    let (px, py) = (-dy * half, dx * half);
    root.draw(&Polygon::new(
        vec![tip, (base.0 + px, base.1 + py), (base.0 - px, base.1 - py)],
        EDGE.filled(),
    ))?;
    Ok(())
}

fn draw_box(root: &Canvas<'_>, b: &NodeBox, lines: &[String], spacing: &Spacing) -> DrawResult {
    let corners = [(b.left, b.top), (b.left + b.width, b.top + b.height)];
    root.draw(&Rectangle::new(corners, RGBColor(232, 240, 252).filled()))?;
    root.draw(&Rectangle::new(
        corners,
        RGBColor(70, 110, 170).stroke_width(2),
    ))?;
    for (index, line) in lines.iter().enumerate() {
        let style = if index == 0 {
            font(spacing.font_size, FontStyle::Bold)
        } else {
            font(spacing.font_size, FontStyle::Normal)
        };
        root.draw(&Text::new(
            line.clone(),
            (
                b.left + b.width / 2,
                b.top
                    + spacing.padding
                    + index as i32 * spacing.line_height
                    + spacing.line_height / 2,
            ),
            style.pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_files::{assert_png, output_dir};

    fn node(name: &str, inputs: &[usize]) -> GraphNode {
        GraphNode {
            lines: vec![
                name.to_string(),
                "Conv2D".to_string(),
                "(None, 8, 8, 4)".to_string(),
            ],
            inputs: inputs.to_vec(),
        }
    }

    fn overlap(a: &NodeBox, b: &NodeBox) -> bool {
        a.left < b.left + b.width
            && b.left < a.left + a.width
            && a.top < b.top + b.height
            && b.top < a.top + a.height
    }

    fn assert_apart(layout: &GraphLayout) {
        for (i, a) in layout.boxes.iter().enumerate() {
            assert!(a.left >= 0 && a.left + a.width <= layout.width, "{a:?}");
            assert!(a.top >= 0 && a.top + a.height <= layout.height, "{a:?}");
            for b in &layout.boxes[i + 1..] {
                assert!(!overlap(a, b), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn a_chain_is_one_column_top_to_bottom() {
        let nodes: Vec<GraphNode> = (0..5)
            .map(|i: usize| node(&format!("layer{i}"), i.checked_sub(1).as_slice()))
            .collect();
        let layout = graph_layout(&nodes).unwrap();
        let depths: Vec<usize> = layout.boxes.iter().map(|b| b.depth).collect();
        assert_eq!(depths, [0, 1, 2, 3, 4]);
        assert!(layout.boxes.iter().all(|b| b.left == layout.boxes[0].left));
        assert!(layout
            .boxes
            .windows(2)
            .all(|w| w[0].top + w[0].height < w[1].top));
        assert!(layout.lanes.is_empty());
        assert_apart(&layout);
    }

    #[test]
    fn branches_stand_side_by_side_and_skips_get_lanes() {
        // input → a → b → add, input → c (a short branch) → add, input → add (a skip).
        let nodes = vec![
            node("input", &[]),
            node("a", &[0]),
            node("b", &[1]),
            node("c", &[0]),
            node("add", &[2, 3, 0]),
        ];
        let layout = graph_layout(&nodes).unwrap();
        let depths: Vec<usize> = layout.boxes.iter().map(|b| b.depth).collect();
        assert_eq!(depths, [0, 1, 2, 1, 3]);
        let (a, c) = (layout.boxes[1], layout.boxes[3]);
        assert_eq!(a.top, c.top);
        assert!(a.left + a.width < c.left, "{a:?} {c:?}");
        let lanes: Vec<(usize, usize)> = layout.lanes.iter().map(|&(e, _)| e).collect();
        assert_eq!(lanes, [(3, 4), (0, 4)]);
        // Overlapping long edges take different lanes, right of every box.
        let right = layout.boxes.iter().map(|b| b.left + b.width).max().unwrap();
        assert!(layout
            .lanes
            .iter()
            .all(|&(_, x)| x > right && x < layout.width));
        assert_ne!(layout.lanes[0].1, layout.lanes[1].1);
        assert_apart(&layout);
    }

    #[test]
    fn bad_graphs_are_refused_with_a_reason() {
        assert!(graph_layout(&[]).unwrap_err().contains("no nodes"));
        let err = graph_layout(&[node("a", &[1]), node("b", &[])]).unwrap_err();
        assert!(err.contains("node 0 reads node 1"), "{err}");
        // 170 rows (ResNet-50's depth) fit at the compact spacing; 400 do not.
        let resnet50_deep: Vec<GraphNode> = (0..170)
            .map(|i: usize| node("x", i.checked_sub(1).as_slice()))
            .collect();
        let layout = graph_layout(&resnet50_deep).unwrap();
        assert_eq!(layout.spacing, COMPACT);
        assert!(layout.height <= MAX_SIDE);
        assert_apart(&layout);
        assert_eq!(graph_layout(&resnet50_deep[..5]).unwrap().spacing, ROOMY);
        let deep: Vec<GraphNode> = (0..400)
            .map(|i: usize| node("x", i.checked_sub(1).as_slice()))
            .collect();
        let err = graph_layout(&deep).unwrap_err();
        assert!(err.contains("400 layers deep"), "{err}");
    }

    #[test]
    fn model_graph_draws_a_png_of_the_layout_size() {
        let dir = output_dir("model_graph");
        let path = dir.join("branches.png");
        let nodes = vec![
            node("input_layer_with_a_very_long_name_that_is_cut", &[]),
            node("conv_a", &[0]),
            node("conv_b", &[1]),
            node("conv_c", &[0]),
            node("add", &[2, 3, 0]),
        ];
        model_graph(&path, "branches", &nodes).unwrap();
        let layout = graph_layout(&nodes).unwrap();
        assert_png(&path, layout.width as u32, layout.height as u32);
        let err = model_graph(dir.join("x.png"), "t", &[]).unwrap_err();
        assert!(err.to_string().contains("x.png"), "{err}");
    }
}
