//! Tables for a terminal: each column as wide as its widest cell, measured in what a terminal
//! shows (a long or non-ASCII name widens its column instead of pushing the others), numbers
//! aligned right. Laid out by comfy-table, without borders, indented under their heading.

use comfy_table::{CellAlignment, Table, presets};

/// A table under a heading: its header, its rows, and the columns aligned right.
pub(crate) struct Columns<'a> {
    pub(crate) header: &'a [&'a str],
    /// Indexes of the columns aligned right (numbers).
    pub(crate) right: &'a [usize],
}

impl Columns<'_> {
    /// The table of `rows`, each line indented by two spaces and ending with a newline.
    pub(crate) fn render(&self, rows: impl IntoIterator<Item = Vec<String>>) -> String {
        let mut table = Table::new();
        table.load_style(presets::NOTHING);
        table.set_header(self.header.to_vec());
        table.add_rows(rows);
        for (i, column) in table.column_iter_mut().enumerate() {
            // Two spaces between columns, none before the first.
            column.set_padding((0, 2));
            if self.right.contains(&i) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        table
            .lines()
            .map(|line| format!("  {}\n", line.trim_end()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Columns;

    /// A wide or non-ASCII cell widens its column; the next column starts at the same place on
    /// every line, as a terminal shows it.
    #[test]
    fn columns_line_up_whatever_the_names() {
        let text = Columns {
            header: &["org", "score"],
            right: &[1],
        }
        .render([
            vec!["acme".into(), "0.71".into()],
            vec!["Zürich Universitätsspital AG".into(), "0.50".into()],
            vec!["東京".into(), "1.00".into()],
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        let width = |s: &str| unicode_width::UnicodeWidthStr::width(s);
        let ends: Vec<usize> = lines.iter().map(|l| width(l)).collect();
        assert!(
            ends.iter().all(|e| *e == ends[0]),
            "right-aligned numbers end together:\n{text}"
        );
        assert!(lines[0].trim_start().starts_with("org"), "{text}");
        assert!(lines[3].contains("東京"), "{text}");
    }
}
