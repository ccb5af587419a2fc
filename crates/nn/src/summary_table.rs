//! The text table of `summary()`: columns as wide as their widest cell, so long layer names
//! never run into the next column (as Keras's `print_summary` sizes its columns).

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// The columns every model's summary has: layer, output shape, parameters, receptive field,
/// effective stride and FLOPs (functional models add "Connected to").
pub(crate) const LAYER_COLUMNS: [(&str, Align); 6] = [
    ("Layer (type)", Align::Left),
    ("Output Shape", Align::Left),
    ("Param #", Align::Right),
    ("Receptive", Align::Right),
    ("Stride", Align::Right),
    ("FLOPs", Align::Right),
];

/// Spaces between two columns, always kept however wide the cells are.
const GAP: &str = "  ";

/// Lays `rows` out under `header`, each column as wide as its widest cell (header included)
/// and `GAP` apart, with a rule of dashes under the header and after the last row. A row
/// shorter than the header leaves the missing cells blank; trailing spaces are trimmed.
pub(crate) fn table(header: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|(h, _)| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let total = widths.iter().sum::<usize>() + GAP.len() * widths.len().saturating_sub(1);
    let rule = "-".repeat(total);
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (index, ((_, align), &width)) in header.iter().zip(&widths).enumerate() {
            let cell = cells.next().unwrap_or("");
            if index > 0 {
                text.push_str(GAP);
            }
            match align {
                Align::Left => text.push_str(&format!("{cell:<width$}")),
                Align::Right => text.push_str(&format!("{cell:>width$}")),
            }
        }
        text.trim_end().to_string()
    };
    let mut out = line(&mut header.iter().map(|(h, _)| *h));
    out.push('\n');
    out.push_str(&rule);
    out.push('\n');
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
        out.push('\n');
    }
    out.push_str(&rule);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_and_always_apart() {
        let long = "a_layer_name_that_is_much_longer_than_forty_characters (Dense)";
        let rows = vec![
            vec![
                long.to_string(),
                "(None, 10)".to_string(),
                "650".to_string(),
            ],
            vec![
                "d (Dense)".to_string(),
                "(None, 1)".to_string(),
                "11".to_string(),
            ],
        ];
        let header = [
            ("Layer (type)", Align::Left),
            ("Output Shape", Align::Left),
            ("Param #", Align::Right),
        ];
        let text = table(&header, &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(
            lines[2].starts_with(&format!("{long}  (None, 10)")),
            "{text}"
        );
        // The shape column starts at the same place on every line.
        let column = long.len() + 2;
        assert_eq!(lines[0].find("Output Shape"), Some(column), "{text}");
        assert_eq!(lines[3].find("(None, 1)"), Some(column), "{text}");
        // Right-aligned numbers end together; the rules span the table.
        assert!(
            lines[2].ends_with("  650") && lines[3].ends_with("   11"),
            "{text}"
        );
        assert_eq!(lines[1].len(), lines[2].len());
        assert!(lines[1].chars().all(|c| c == '-'));
    }

    #[test]
    fn a_short_row_leaves_blank_cells() {
        let header = [("a", Align::Left), ("b", Align::Right)];
        let text = table(&header, &[vec!["xyz".to_string()]]);
        assert_eq!(text, "a    b\n------\nxyz\n------\n");
    }
}
