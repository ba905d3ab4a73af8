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
    /// The bytes being read (BOM stripped).
    data: &'a [u8],
    /// Lines before the first byte of `data` (for chunks of a larger file).
    line_offset: u64,
}

/// Files larger than this are parsed in parallel chunks.
const PARALLEL_BYTES: usize = 8 << 20;

fn csv_reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
}

/// Splits `data` into up to `parts` pieces at line ends outside quoted fields.
fn split_records(data: &[u8], parts: usize) -> Vec<&[u8]> {
    let mut cuts = vec![0usize];
    let mut quotes_before = 0usize; // quotes in data[..last cut]
    for i in 1..parts {
        let target = (data.len() * i / parts).max(*cuts.last().unwrap_or(&0));
        let last = *cuts.last().unwrap_or(&0);
        quotes_before += memchr::memchr_iter(b'"', &data[last..target]).count();
        let mut parity = quotes_before;
        let mut pos = target;
        let cut = loop {
            let Some(nl) = memchr::memchr(b'\n', &data[pos..]).map(|p| pos + p) else {
                break None;
            };
            parity += memchr::memchr_iter(b'"', &data[pos..nl]).count();
            pos = nl + 1;
            if parity.is_multiple_of(2) {
                break Some(pos);
            }
        };
        match cut {
            Some(c) if c < data.len() => {
                quotes_before = parity;
                cuts.push(c);
            }
            _ => break,
        }
    }
    cuts.push(data.len());
    cuts.windows(2)
        .map(|w| &data[w[0]..w[1]])
        .filter(|c| !c.is_empty())
        .collect()
}

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
        let mut reader = csv_reader(bytes);
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
            data: bytes,
            line_offset: 0,
        })
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
        match self.columns.get(column) {
            Some(i) => Some(*i),
            None => self.columns.get(&normalise(column)).copied(),
        }
    }

    /// Byte offset reached, for progress bars.
    pub fn position(&self) -> u64 {
        self.reader.position().byte()
    }

    /// Counts `lines` more lines before the first byte read, so that reported line numbers
    /// are those of the whole file when a prefix (a description line) was cut off.
    pub fn set_line_offset(&mut self, lines: u64) {
        self.line_offset = lines;
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
    /// progress bar labelled `label` over the file's bytes. Large files are split at record
    /// boundaries and parsed on every core; rows and rejects keep file order.
    pub fn read_all<T: Send>(
        &mut self,
        label: &str,
        total_bytes: usize,
        parse: impl Fn(&Row<'_>) -> Result<T, Reject> + Sync,
    ) -> Parsed<T> {
        self.read_all_min(label, total_bytes, &parse, PARALLEL_BYTES)
    }

    fn read_all_min<T: Send>(
        &mut self,
        label: &str,
        total_bytes: usize,
        parse: &(impl Fn(&Row<'_>) -> Result<T, Reject> + Sync),
        min_bytes: usize,
    ) -> Parsed<T> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let start = usize::try_from(self.reader.position().byte()).unwrap_or(usize::MAX);
        if threads < 2 || self.data.len() < min_bytes || start >= self.data.len() {
            return self.read_sequential(label, total_bytes, parse);
        }
        let mut out = Parsed::new();
        if let Some(rec) = self.pending.take() {
            out.push(
                self.check_width(rec, 1)
                    .and_then(|rec| parse(&self.row(&rec, 1))),
            );
        }
        let header_lines =
            self.line_offset + memchr::memchr_iter(b'\n', &self.data[..start]).count() as u64;
        let chunks = split_records(&self.data[start..], threads);
        let mut offsets = Vec::with_capacity(chunks.len());
        let mut lines = header_lines;
        for c in &chunks {
            offsets.push(lines);
            lines += memchr::memchr_iter(b'\n', c).count() as u64;
        }
        let bar = progress(total_bytes as u64, label);
        let parts: Vec<Parsed<T>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .iter()
                .zip(&offsets)
                .map(|(chunk, offset)| {
                    let mut part = CsvSource {
                        file: self.file.clone(),
                        columns: self.columns.clone(),
                        width: self.width,
                        reader: csv_reader(chunk),
                        pending: None,
                        data: chunk,
                        line_offset: *offset,
                    };
                    scope.spawn(move || part.read_sequential("", 0, parse))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Parsed::new()))
                .collect()
        });
        bar.finish_and_clear();
        for p in parts {
            out.rows_read += p.rows_read;
            out.rows.extend(p.rows);
            out.rejects.extend(p.rejects);
        }
        out
    }

    fn read_sequential<T>(
        &mut self,
        label: &str,
        total_bytes: usize,
        parse: &impl Fn(&Row<'_>) -> Result<T, Reject>,
    ) -> Parsed<T> {
        let bar = (!label.is_empty()).then(|| progress(total_bytes as u64, label));
        let mut out = Parsed::new();
        // Rows are at least ≈40 bytes in every format read here; over-reserving is cheap,
        // growing a vector of large rows is not.
        out.rows.reserve(self.data.len() / 256);
        if let Some(rec) = self.pending.take() {
            out.push(
                self.check_width(rec, 1)
                    .and_then(|rec| parse(&self.row(&rec, 1))),
            );
        }
        // One record buffer for the whole file: no allocation per row.
        let mut rec = StringRecord::new();
        loop {
            let line = match self.reader.read_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => rec.position().map(|p| p.line()).unwrap_or(0) + self.line_offset,
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(0) + self.line_offset;
                    out.push(Err(Reject::new(line, "", "unreadable row", e.to_string())));
                    continue;
                }
            };
            if rec.len() == self.width {
                out.push(parse(&self.row(&rec, line)));
            } else {
                out.push(Err(Reject::new(
                    line,
                    "",
                    "wrong number of fields",
                    format!("{} fields, the header has {}", rec.len(), self.width),
                )));
            }
            if out.rows_read % 4096 == 0 {
                if let Some(bar) = &bar {
                    bar.set_position(self.position());
                }
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
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

/// A column named in a call: a name looked up in the header, or a [`Col`] resolved once.
pub trait ColumnRef: Copy {
    /// Index in the row, when the file has the column.
    fn resolve(self, src: &CsvSource<'_>) -> Option<usize>;
    /// Name, for messages.
    fn name(&self) -> &str;
}

impl ColumnRef for &str {
    fn resolve(self, src: &CsvSource<'_>) -> Option<usize> {
        src.index(self)
    }
    fn name(&self) -> &str {
        self
    }
}

impl ColumnRef for &String {
    fn resolve(self, src: &CsvSource<'_>) -> Option<usize> {
        src.index(self)
    }
    fn name(&self) -> &str {
        self.as_str()
    }
}

/// A column resolved once per file (hot loops avoid a header lookup per field).
#[derive(Debug, Clone, Copy)]
pub struct Col<'n> {
    index: Option<usize>,
    name: &'n str,
}

impl ColumnRef for Col<'_> {
    fn resolve(self, _: &CsvSource<'_>) -> Option<usize> {
        self.index
    }
    fn name(&self) -> &str {
        self.name
    }
}

impl CsvSource<'_> {
    /// Resolves a column once.
    pub fn col<'n>(&self, name: &'n str) -> Col<'n> {
        Col {
            index: self.index(name),
            name,
        }
    }
}

impl Row<'_> {
    /// The line number of the row.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// A field's trimmed text ("" when the column is absent).
    pub fn get<C: ColumnRef>(&self, column: C) -> &str {
        column
            .resolve(self.src)
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
    pub fn req<C: ColumnRef>(&self, column: C) -> Result<&str, Reject> {
        let v = self.get(column);
        if is_missing(v) {
            Err(self.reject(column.name(), "missing value", String::new()))
        } else {
            Ok(v)
        }
    }

    /// A required number.
    pub fn f64<C: ColumnRef>(&self, column: C) -> Result<f64, Reject> {
        let v = self.req(column)?;
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(self.reject(column.name(), "not a number", v.to_owned())),
        }
    }

    /// An optional number (`NA`, `unknown`, empty → `None`).
    pub fn opt_f64<C: ColumnRef>(&self, column: C) -> Result<Option<f64>, Reject> {
        let v = self.get(column);
        if is_missing(v) {
            return Ok(None);
        }
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(self.reject(column.name(), "not a number", v.to_owned())),
        }
    }

    /// An optional whole number; decimals are rounded (Geo-PKO estimates come as `2.5`).
    pub fn opt_i64<C: ColumnRef>(&self, column: C) -> Result<Option<i64>, Reject> {
        let v = self.get(column);
        if let Ok(n) = v.parse::<i64>() {
            return Ok(Some(n));
        }
        Ok(self.opt_f64(column)?.map(|x| x.round() as i64))
    }

    /// A 0/1 flag; missing is false.
    pub fn flag<C: ColumnRef>(&self, column: C) -> Result<bool, Reject> {
        Ok(self.opt_f64(column)?.is_some_and(|x| x > 0.0))
    }

    /// A rejection of this row.
    pub fn reject(&self, column: &str, reason: &'static str, value: String) -> Reject {
        Reject::new(self.line, column, reason, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_outside_quotes_and_keep_line_numbers() {
        let mut text = String::from("id,note,n\n");
        for i in 0..20_000 {
            if i % 7 == 0 {
                text.push_str(&format!("{i},\"multi\nline, \"\"quoted\"\"\",{i}\n"));
            } else {
                text.push_str(&format!("{i},plain,{i}\n"));
            }
        }
        text.push_str("bad,row\n");
        let bytes = text.as_bytes();
        for parts in [1, 2, 3, 7] {
            let chunks = split_records(&bytes[10..], parts);
            assert_eq!(
                chunks.iter().map(|c| c.len()).sum::<usize>(),
                bytes.len() - 10
            );
            for c in &chunks {
                assert_eq!(
                    memchr::memchr_iter(b'"', c).count() % 2,
                    0,
                    "a chunk boundary cut a quoted field"
                );
            }
        }
        let parse = |row: &Row<'_>| -> Result<(u64, i64), Reject> {
            let n = row.opt_i64("n")?.unwrap_or(-1);
            Ok((row.line(), n))
        };
        let mut seq = CsvSource::new("t.csv", bytes, "id", None).unwrap_or_else(|e| panic!("{e}"));
        let a = seq.read_sequential("", 0, &parse);
        let mut par = CsvSource::new("t.csv", bytes, "id", None).unwrap_or_else(|e| panic!("{e}"));
        let chunks = {
            let start = par.reader.position().byte() as usize;
            split_records(&bytes[start..], 3).len()
        };
        assert!(chunks > 1);
        let b = {
            let threads_ok = std::thread::available_parallelism().map_or(1, usize::from) >= 2;
            if threads_ok {
                par.read_all_min("", 0, &parse, 0)
            } else {
                par.read_sequential("", 0, &parse)
            }
        };
        assert_eq!(a.rows, b.rows);
        assert_eq!(a.rejects, b.rejects);
        assert_eq!(a.rejects[0].line, 20_000 + 20_000 / 7 + 2 + 1);
    }
}
