//! The coverage reports as text tables, CSV or JSON: every report row says its header and
//! its cells once, and one function writes any of them in any format.

use serde::Serialize;

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Aligned columns for the terminal.
    Table,
    /// CSV with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// A row of a report.
pub trait ReportRow: Serialize {
    /// Column names.
    fn header() -> Vec<&'static str>;
    /// The row's cells as text, in the order of the header.
    fn cells(&self) -> Vec<String>;
}

/// A number for a text cell: integers without decimals, others with `digits`.
pub fn num(x: f64, digits: usize) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.digits$}")
    }
}

/// An optional share as a text cell (`-` when undefined).
pub fn share(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

/// A report that could not be written (a value JSON or CSV cannot encode).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot write the report: {0}")]
pub struct ReportError(pub String);

/// Writes `rows` in `format`.
pub fn render<R: ReportRow>(rows: &[R], format: ReportFormat) -> Result<String, ReportError> {
    render_text(rows, format).map_err(ReportError)
}

/// Writes any serialisable result as pretty JSON.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<String, ReportError> {
    serde_json::to_string_pretty(value).map_err(|e| ReportError(e.to_string()))
}

fn render_text<R: ReportRow>(rows: &[R], format: ReportFormat) -> Result<String, String> {
    match format {
        ReportFormat::Json => serde_json::to_string_pretty(rows).map_err(|e| e.to_string()),
        ReportFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(R::header()).map_err(|e| e.to_string())?;
            for r in rows {
                w.write_record(r.cells()).map_err(|e| e.to_string())?;
            }
            let bytes = w.into_inner().map_err(|e| e.to_string())?;
            String::from_utf8(bytes).map_err(|e| e.to_string())
        }
        ReportFormat::Table => {
            let header: Vec<String> = R::header().into_iter().map(str::to_owned).collect();
            let body: Vec<Vec<String>> = rows.iter().map(ReportRow::cells).collect();
            let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
            for row in &body {
                for (w, c) in widths.iter_mut().zip(row) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let mut out = String::new();
            for (k, row) in std::iter::once(&header).chain(&body).enumerate() {
                let line: Vec<String> = row
                    .iter()
                    .zip(&widths)
                    .enumerate()
                    .map(|(i, (c, w))| {
                        // Names left-aligned; figures and their headers right-aligned.
                        let figure = k == 0 || c.parse::<f64>().is_ok() || c == "-";
                        if i == 0 || !figure {
                            format!("{c:<w$}")
                        } else {
                            format!("{c:>w$}")
                        }
                    })
                    .collect();
                out.push_str(line.join("  ").trim_end());
                out.push('\n');
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        name: &'static str,
        n: i64,
    }

    impl ReportRow for Row {
        fn header() -> Vec<&'static str> {
            vec!["name", "n"]
        }
        fn cells(&self) -> Vec<String> {
            vec![self.name.into(), self.n.to_string()]
        }
    }

    #[test]
    fn three_formats() {
        let rows = [Row { name: "a,b", n: 10 }, Row { name: "c", n: 2 }];
        let table = render(&rows, ReportFormat::Table).unwrap_or_default();
        assert_eq!(table, "name   n\na,b   10\nc      2\n");
        let csv = render(&rows, ReportFormat::Csv).unwrap_or_default();
        assert_eq!(csv, "name,n\n\"a,b\",10\nc,2\n");
        let json = render(&rows, ReportFormat::Json).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(v[0]["n"], 10);
        assert_eq!(num(2.0, 1), "2");
        assert_eq!(num(2.25, 1), "2.2");
        assert_eq!(share(None), "-");
    }
}
