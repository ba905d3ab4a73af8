//! A CSV source read by header name (case-insensitive, BOM stripped), row by row, with line
//! numbers for every rejected row.

use super::{progress, IngestError, Parsed, Reject};
use csv::StringRecord;
use std::collections::HashMap;

/// A CSV file opened for reading by column name.
pub struct CsvSource<'a> {
    file: String,
    columns: HashMap<String, usize>,
    width: usize,
    reader: csv::Reader<&'a [u8]>,
    pending: Option<StringRecord>,
}

/// The result of reading one row: its line number and either the record or why it failed.
pub type RowResult = (u64, Result<StringRecord, Reject>);

impl<'a> CsvSource<'a> {
    /// Opens `bytes` (the content of `file`). When the first row does not contain
    /// `header_probe` and a fallback header is given, the file is read as headerless with
    /// that header (UCDP Candidate releases without a header row).
    pub fn new(
        file: &str,
        bytes: &'a [u8],
        header_probe: &str,
        fallback: Option<&[&str]>,
    ) -> Result<Self, IngestError> {
        let bytes = bytes
            .strip_prefix(b"\xEF\xBB\xBF".as_slice())
            .unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut first = StringRecord::new();
        let got = reader
            .read_record(&mut first)
            .map_err(|e| IngestError::Csv {
                file: file.to_owned(),
                line: 1,
                message: e.to_string(),
            })?;
        if !got {
            return Err(IngestError::Empty {
                file: file.to_owned(),
            });
        }
        let is_header = first
            .iter()
            .any(|h| h.trim().eq_ignore_ascii_case(header_probe));
        let (names, pending): (Vec<String>, Option<StringRecord>) = match (is_header, fallback) {
            (true, _) | (false, None) => (first.iter().map(normalise).collect(), None),
            (false, Some(fixed)) => (fixed.iter().map(|s| normalise(s)).collect(), Some(first)),
        };
        let mut columns = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            columns.entry(n.clone()).or_insert(i);
        }
        Ok(Self {
            file: file.to_owned(),
            width: names.len(),
            columns,
            reader,
            pending,
        })
    }

    /// The file name used in messages.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Fails with [`IngestError::MissingColumn`] naming the first absent column.
    pub fn require(&self, columns: &[&str]) -> Result<(), IngestError> {
        for c in columns {
            if !self.has(c) {
                return Err(IngestError::MissingColumn {
                    file: self.file.clone(),
                    column: (*c).to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Whether a column exists.
    pub fn has(&self, column: &str) -> bool {
        self.columns.contains_key(&normalise(column))
    }

    /// Index of a column.
    pub fn index(&self, column: &str) -> Option<usize> {
        self.columns.get(&normalise(column)).copied()
    }

    /// Byte offset reached, for progress bars.
    pub fn position(&self) -> u64 {
        self.reader.position().byte()
    }

    /// The next data row, or `None` at the end.
    pub fn next_row(&mut self) -> Option<RowResult> {
        if let Some(rec) = self.pending.take() {
            return Some((1, self.check_width(rec, 1)));
        }
        let mut rec = StringRecord::new();
        match self.reader.read_record(&mut rec) {
            Ok(false) => None,
            Ok(true) => {
                let line = rec.position().map(|p| p.line()).unwrap_or(0);
                Some((line, self.check_width(rec, line)))
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                Some((
                    line,
                    Err(Reject::new(line, "", "unreadable row", e.to_string())),
                ))
            }
        }
    }

    fn check_width(&self, rec: StringRecord, line: u64) -> Result<StringRecord, Reject> {
        if rec.len() == self.width {
            Ok(rec)
        } else {
            Err(Reject::new(
                line,
                "",
                "wrong number of fields",
                format!("{} fields, the header has {}", rec.len(), self.width),
            ))
        }
    }

    /// Reads every remaining row through `parse`, collecting accepted rows and rejects, with a
    /// progress bar labelled `label` over the file's bytes.
    pub fn read_all<T>(
        &mut self,
        label: &str,
        total_bytes: usize,
        mut parse: impl FnMut(&Row<'_>) -> Result<T, Reject>,
    ) -> Parsed<T> {
        let bar = progress(total_bytes as u64, label);
        let mut out = Parsed::new();
        while let Some((line, rec)) = self.next_row() {
            out.push(rec.and_then(|rec| parse(&self.row(&rec, line))));
            if out.rows_read % 4096 == 0 {
                bar.set_position(self.position());
            }
        }
        bar.finish_and_clear();
        out
    }

    /// A view of a row for typed field access.
    pub fn row<'r>(&'r self, rec: &'r StringRecord, line: u64) -> Row<'r> {
        Row {
            src: self,
            rec,
            line,
        }
    }
}

fn normalise(h: &str) -> String {
    h.trim().to_ascii_lowercase()
}

/// Typed access to the fields of one row.
pub struct Row<'r> {
    src: &'r CsvSource<'r>,
    rec: &'r StringRecord,
    line: u64,
}

/// Repairs UTF-8 text that was decoded as Latin-1 and encoded again (`DÃ©koa` → `Dékoa`),
/// as found in Geo-PKO v1. Text that is not of that form is returned unchanged.
pub fn fix_double_utf8(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() || s.chars().any(|c| u32::from(c) > 0xFF) {
        return std::borrow::Cow::Borrowed(s);
    }
    let bytes: Vec<u8> = s.chars().map(|c| c as u32 as u8).collect();
    match String::from_utf8(bytes) {
        Ok(fixed) if fixed != s => std::borrow::Cow::Owned(fixed),
        _ => std::borrow::Cow::Borrowed(s),
    }
}

/// Values that mean "missing" in the sources (`NA`, `unknown`, `?`…).
pub fn is_missing(v: &str) -> bool {
    let v = v.trim();
    v.is_empty()
        || v.eq_ignore_ascii_case("na")
        || v.eq_ignore_ascii_case("n/a")
        || v.eq_ignore_ascii_case("unknown")
        || v == "?"
        || v == "-"
}

impl Row<'_> {
    /// The line number of the row.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// A field's trimmed text ("" when the column is absent).
    pub fn get(&self, column: &str) -> &str {
        self.src
            .index(column)
            .and_then(|i| self.rec.get(i))
            .map(str::trim)
            .unwrap_or("")
    }

    /// Whether the file has a column.
    pub fn has(&self, column: &str) -> bool {
        self.src.has(column)
    }

    /// The first of `columns` that the file has (or the first one, absent: reads as empty).
    pub fn pick<'c>(&self, columns: &[&'c str]) -> &'c str {
        columns
            .iter()
            .copied()
            .find(|c| self.src.has(c))
            .unwrap_or(columns[0])
    }

    /// A field that must not be missing.
    pub fn req(&self, column: &str) -> Result<&str, Reject> {
        let v = self.get(column);
        if is_missing(v) {
            Err(self.reject(column, "missing value", String::new()))
        } else {
            Ok(v)
        }
    }

    /// A required number.
    pub fn f64(&self, column: &str) -> Result<f64, Reject> {
        let v = self.req(column)?;
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(self.reject(column, "not a number", v.to_owned())),
        }
    }

    /// An optional number (`NA`, `unknown`, empty → `None`).
    pub fn opt_f64(&self, column: &str) -> Result<Option<f64>, Reject> {
        let v = self.get(column);
        if is_missing(v) {
            return Ok(None);
        }
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(self.reject(column, "not a number", v.to_owned())),
        }
    }

    /// An optional whole number; decimals are rounded (Geo-PKO estimates come as `2.5`).
    pub fn opt_i64(&self, column: &str) -> Result<Option<i64>, Reject> {
        Ok(self.opt_f64(column)?.map(|x| x.round() as i64))
    }

    /// A 0/1 flag; missing is false.
    pub fn flag(&self, column: &str) -> Result<bool, Reject> {
        Ok(self.opt_f64(column)?.is_some_and(|x| x > 0.0))
    }

    /// A rejection of this row.
    pub fn reject(&self, column: &str, reason: &'static str, value: String) -> Reject {
        Reject::new(self.line, column, reason, value)
    }
}
