//! A CSV source read by header name (case-insensitive, BOM stripped), row by row, with line
//! numbers for every rejected row.

use super::{IngestError, Parsed, Reject};
use crate::model::progress::{Progress, Unit};
use csv::StringRecord;

pub use super::csvrow::{fix_double_utf8, is_missing, Col, ColumnRef, Row};
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
    /// The plausibility bounds rows are checked against.
    pub(super) limits: Limits,
}

/// Bounds that every row of an ingest is held to (from `[ingest]` of the configuration).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// A longer field rejects its row.
    pub max_field_bytes: usize,
    /// The earliest plausible event day (1946-01-01).
    pub first_day: i32,
    /// The latest plausible event day (today + `future_days`).
    pub last_day: i32,
    /// The largest plausible number of deaths in one event.
    pub max_fatalities: i64,
    /// Most cells one input may produce (`grid.max_cells`).
    pub max_cells: u64,
    /// Largest decoded raster, bytes (`ingest.max_raster_bytes`).
    pub max_raster_bytes: u64,
}

impl Limits {
    /// The bounds of a configuration, with "today" from the system clock.
    pub fn of(config: &crate::config::Config) -> Self {
        let today = crate::model::day::today();
        let cfg = &config.ingest;
        Self {
            max_cells: config.grid.max_cells,
            max_raster_bytes: cfg.max_raster_bytes,
            max_field_bytes: cfg.max_field_bytes,
            first_day: crate::model::day::days_from_ymd(1946, 1, 1).unwrap_or(-8766),
            last_day: today.saturating_add(i32::try_from(cfg.future_days).unwrap_or(i32::MAX / 4)),
            max_fatalities: cfg.max_fatalities,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::of(&crate::config::Config::default())
    }
}

thread_local! {
    static LIMITS: std::cell::Cell<Option<Limits>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with `limits` as the bounds of every [`CsvSource`] opened on this thread (the
/// ingest of one file sets them from the configuration; outside, the defaults apply).
pub fn with_limits<T>(limits: Limits, f: impl FnOnce() -> T) -> T {
    let before = LIMITS.with(|l| l.replace(Some(limits)));
    let out = f();
    LIMITS.with(|l| l.set(before));
    out
}

/// The bounds in force on this thread.
pub fn current_limits() -> Limits {
    LIMITS.with(std::cell::Cell::get).unwrap_or_default()
}

/// Files larger than this are parsed in parallel chunks.
const PARALLEL_BYTES: usize = 8 << 20;

fn csv_reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
}

/// Cuts `data` into up to `parts` pieces, each cut just after a line end. A cut is only a
/// guess at a record boundary (a stray quote fools any guess); [`CsvSource::read_all`]
/// checks every cut against the sequential reader and re-reads where it was wrong.
fn cut_points(data: &[u8], parts: usize) -> Vec<usize> {
    let mut cuts = vec![0usize];
    for i in 1..parts {
        let target = (data.len() * i / parts).max(*cuts.last().unwrap_or(&0));
        match memchr::memchr(b'\n', &data[target..]).map(|p| target + p + 1) {
            Some(c) if c < data.len() && c > *cuts.last().unwrap_or(&0) => cuts.push(c),
            _ => break,
        }
    }
    cuts
}

/// Where a fresh reader and a reader that has just ended a record agree: terminators
/// (blank lines, CR, LF) are skipped by both, so positions are compared after them.
fn skip_terminators(data: &[u8], mut pos: usize) -> usize {
    while pos < data.len() && (data[pos] == b'\n' || data[pos] == b'\r') {
        pos += 1;
    }
    pos
}

/// The records of one stretch of a file: from a position known (or assumed) to start a
/// record, up to the first record that starts at or after `stop`.
struct Span<T> {
    parsed: Parsed<T>,
    /// Byte (relative to the data) where the reader stopped: the start of the next record,
    /// with terminators skipped.
    end: usize,
}

impl<'a> CsvSource<'a> {
    /// Opens `bytes` (the content of `file`). When the first row does not contain
    /// `header_probe` and a fallback header is given, the file is read as headerless with
    /// that header (UCDP Candidate releases without a header row). A header that names a
    /// column twice is an error.
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
        let limits = current_limits();
        if first.as_byte_record().as_slice().len() > limits.max_field_bytes.max(1 << 20) {
            return Err(IngestError::Csv {
                file: file.to_owned(),
                line: 1,
                message: format!(
                    "the header is {} bytes long: not a CSV header (a quote left open?)",
                    first.as_byte_record().as_slice().len()
                ),
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
            if columns.insert(n.clone(), i).is_some() && !n.is_empty() {
                return Err(IngestError::DuplicateColumn {
                    file: file.to_owned(),
                    column: n.clone(),
                });
            }
        }
        // An unnamed column cannot be asked for; the first one keeps the empty name.
        if let Some(i) = names.iter().position(String::is_empty) {
            columns.insert(String::new(), i);
        }
        Ok(Self {
            file: file.to_owned(),
            width: names.len(),
            columns,
            reader,
            pending,
            data: bytes,
            line_offset: 0,
            limits,
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

    /// Reads every remaining row through `parse`, collecting accepted rows and rejects, with a
    /// progress bar labelled `label` over the file's bytes. Large files are split at guessed
    /// record boundaries and parsed on every core; each guess is checked against where the
    /// sequential reader would be, and a wrong one is re-read from the true boundary, so the
    /// rows, rejects and counts are those of the sequential reader on any number of cores.
    pub fn read_all<T: Send>(
        &mut self,
        label: &str,
        total_bytes: usize,
        parse: impl Fn(&Row<'_>) -> Result<T, Reject> + Sync,
    ) -> Parsed<T> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        self.read_all_with(label, total_bytes, &parse, PARALLEL_BYTES, threads)
    }

    fn read_all_with<T: Send>(
        &mut self,
        label: &str,
        total_bytes: usize,
        parse: &(impl Fn(&Row<'_>) -> Result<T, Reject> + Sync),
        min_bytes: usize,
        threads: usize,
    ) -> Parsed<T> {
        let start = usize::try_from(self.reader.position().byte()).unwrap_or(usize::MAX);
        let mut out = Parsed::new();
        if let Some(rec) = self.pending.take() {
            let n = rec.as_byte_record().as_slice().len();
            out.push(
                self.check(&rec, 1, n)
                    .and_then(|()| parse(&self.row(&rec, 1))),
            );
        }
        if start >= self.data.len() {
            return out;
        }
        let bar =
            (!label.is_empty()).then(|| Progress::start(label, Unit::Bytes, total_bytes as u64));
        let header_lines =
            self.line_offset + memchr::memchr_iter(b'\n', &self.data[..start]).count() as u64;
        let cuts: Vec<usize> = if threads < 2 || self.data.len() < min_bytes {
            vec![start]
        } else {
            cut_points(&self.data[start..], threads)
                .into_iter()
                .map(|c| c + start)
                .collect()
        };
        let stops: Vec<usize> = cuts[1..]
            .iter()
            .copied()
            .chain(std::iter::once(self.data.len()))
            .collect();
        let spans: Vec<Span<T>> = if cuts.len() == 1 {
            vec![self.span(start, self.data.len(), header_lines, parse, bar.as_ref())]
        } else {
            let this = &*self;
            std::thread::scope(|scope| {
                let handles: Vec<_> = cuts
                    .iter()
                    .zip(&stops)
                    .map(|(&from, &stop)| {
                        let lines = this.lines_before(from, start, header_lines);
                        scope.spawn(move || this.span(from, stop, lines, parse, None))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| Span {
                            parsed: Parsed::new(),
                            end: usize::MAX,
                        })
                    })
                    .collect()
            })
        };
        // Stitch: a span is kept when the true reader is where its guessed start put it;
        // otherwise its stretch is read again from where the true reader is.
        let mut at = skip_terminators(self.data, start);
        let mut parts = Vec::with_capacity(spans.len());
        for ((span, &from), &stop) in spans.into_iter().zip(&cuts).zip(&stops) {
            let part = if skip_terminators(self.data, from) == at && span.end != usize::MAX {
                span
            } else {
                tracing::debug!(
                    file = %self.file,
                    guessed = from,
                    actual = at,
                    "a chunk boundary fell inside a record; re-reading that stretch"
                );
                let lines = self.lines_before(at, start, header_lines);
                self.span(at, stop, lines, parse, None)
            };
            at = part.end;
            parts.push(part.parsed);
        }
        // The first stretch's rows are moved, not copied (when no row came before them);
        // the vector then grows once for the rest.
        let more: usize = parts.iter().map(|p| p.rows.len()).sum();
        for part in parts {
            out.rows_read += part.rows_read;
            if out.rows.is_empty() {
                out.rows = part.rows;
                out.rows.reserve(more.saturating_sub(out.rows.len()));
            } else {
                out.rows.extend(part.rows);
            }
            out.rejects.extend(part.rejects);
        }
        if let Some(bar) = bar {
            bar.finish();
        }
        out
    }

    /// Lines before byte `pos` of the data (`start` is after the header, which has
    /// `header_lines`).
    fn lines_before(&self, pos: usize, start: usize, header_lines: u64) -> u64 {
        header_lines + memchr::memchr_iter(b'\n', &self.data[start..pos.max(start)]).count() as u64
    }

    /// Reads the records starting at byte `from` (which must start a record, or be taken
    /// to) until the first record that starts at or after `stop`.
    fn span<T>(
        &self,
        from: usize,
        stop: usize,
        lines: u64,
        parse: &impl Fn(&Row<'_>) -> Result<T, Reject>,
        bar: Option<&Progress>,
    ) -> Span<T> {
        let slice = &self.data[from..];
        let mut reader = csv_reader(slice);
        let mut out = Parsed::new();
        // Rows are at least ≈40 bytes in every format read here; over-reserving is cheap,
        // growing a vector of large rows is not.
        out.rows.reserve(stop.saturating_sub(from) / 256);
        // One record buffer for the whole stretch: no allocation per row.
        let mut rec = StringRecord::new();
        let end = loop {
            let at = reader.position();
            let (at_byte, at_line) = (at.byte() as usize, at.line());
            let here = skip_terminators(self.data, from + at_byte);
            if here >= stop || here >= self.data.len() {
                break here;
            }
            let begin = here - from;
            // The reader counts the line ends it consumed (`at_line` is one more); those of
            // the blank lines and terminators before the record, which it has not consumed
            // yet, are counted here.
            let line = lines
                + at_line.saturating_sub(1)
                + memchr::memchr_iter(b'\n', &slice[at_byte.min(begin)..begin]).count() as u64
                + 1;
            let result = reader.read_record(&mut rec);
            let after = reader.position().byte() as usize;
            match result {
                Ok(false) => break skip_terminators(self.data, from + after),
                Ok(true) => {}
                Err(e) => {
                    out.push(Err(Reject::new(line, "", "unreadable row", e.to_string())));
                    continue;
                }
            }
            let outcome = self
                .check(&rec, line, after.saturating_sub(begin))
                .and_then(|()| parse(&self.row(&rec, line)));
            match outcome {
                Err(reject) => {
                    // A rejected record that spans lines may be a quote left open that
                    // swallowed the lines after it: each line counts as a rejected row.
                    let spanned = spanned_lines(&slice[begin..after.max(begin)]);
                    out.push_spanning(reject, spanned);
                }
                ok => out.push(ok),
            }
            if out.rows_read % 4096 == 0 {
                if let Some(bar) = bar {
                    bar.set_position((from + after) as u64);
                }
            }
        };
        Span { parsed: out, end }
    }

    /// The checks every record passes before it is parsed: its width and field lengths.
    fn check(&self, rec: &StringRecord, line: u64, bytes: usize) -> Result<(), Reject> {
        if bytes > self.limits.max_field_bytes {
            if let Some((i, f)) = rec
                .iter()
                .enumerate()
                .find(|(_, f)| f.len() > self.limits.max_field_bytes)
            {
                let name = self
                    .columns
                    .iter()
                    .find(|(_, &c)| c == i)
                    .map_or_else(String::new, |(n, _)| n.clone());
                return Err(Reject::new(
                    line,
                    &name,
                    "field too long",
                    format!(
                        "{} bytes, at most {} (ingest.max_field_bytes)",
                        f.len(),
                        self.limits.max_field_bytes
                    ),
                ));
            }
        }
        if rec.len() == self.width {
            Ok(())
        } else {
            Err(Reject::new(
                line,
                "",
                "wrong number of fields",
                format!("{} fields, the header has {}", rec.len(), self.width),
            ))
        }
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

/// Physical lines a record's bytes cover (its own terminator excluded).
fn spanned_lines(bytes: &[u8]) -> u64 {
    let mut n = memchr::memchr_iter(b'\n', bytes).count() as u64;
    if bytes.last() == Some(&b'\n') {
        n -= 1;
    }
    n + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Out = (Vec<(u64, String)>, Vec<Reject>, usize);

    fn read_with(bytes: &[u8], threads: usize) -> Out {
        let parse = |row: &Row<'_>| -> Result<(u64, String), Reject> {
            let n = row.req("n")?;
            n.parse::<i64>()
                .map_err(|_| row.reject("n", "not a number", n.to_owned()))?;
            Ok((
                row.line(),
                format!("{}|{}|{}", row.get("id"), row.get("note"), n),
            ))
        };
        let mut src = CsvSource::new("t.csv", bytes, "id", None).unwrap_or_else(|e| panic!("{e}"));
        let p = src.read_all_with("", 0, &parse, 0, threads);
        (p.rows, p.rejects, p.rows_read)
    }

    fn weight(o: &Out) -> usize {
        o.1.iter().map(|r| r.lines as usize).sum()
    }

    #[test]
    fn chunks_keep_rows_and_line_numbers() {
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
        let one = read_with(bytes, 1);
        for threads in [2, 3, 7] {
            assert_eq!(one, read_with(bytes, threads), "{threads} threads");
        }
        assert_eq!(one.1[0].line, 20_000 + 20_000 / 7 + 2 + 1);
        assert_eq!(one.2, one.0.len() + weight(&one));
    }

    #[test]
    fn a_stray_quote_swallowing_lines_is_one_reject_counting_every_line() {
        let mut text = String::from("id,note,n\n");
        for i in 0..100 {
            if i == 10 {
                text.push_str("10,\"oops,10\n");
            } else {
                text.push_str(&format!("{i},plain,{i}\n"));
            }
        }
        let out = read_with(text.as_bytes(), 1);
        assert_eq!(out.0.len(), 10, "rows before the quote");
        assert_eq!(out.1.len(), 1);
        let r = &out.1[0];
        assert_eq!(r.line, 12, "the line where the quote opened");
        assert_eq!(r.lines, 90, "that line and the 89 it swallowed");
        assert_eq!(r.reason, "unterminated quote");
        assert!(r.detail.contains("line 101"), "{}", r.detail);
        assert_eq!(out.2, 100);
        assert_eq!(out.2, out.0.len() + weight(&out));
    }

    fn field() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-z0-9 ]{0,6}",
            1 => Just("\"q,\nx\"".to_owned()),
            1 => Just("\"a\"\"b\"".to_owned()),
            1 => Just("\"".to_owned()),
            1 => Just("x\"y".to_owned()),
            1 => Just("\"open".to_owned()),
            1 => Just("12".to_owned()),
        ]
    }

    fn line() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(field(), 1..5),
            prop_oneof![3 => Just("\n"), 1 => Just("\r\n"), 1 => Just("\n\n")],
        )
            .prop_map(|(fields, end)| format!("{}{end}", fields.join(",")))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn the_same_rows_on_any_number_of_threads(
            lines in prop::collection::vec(line(), 0..120),
            crlf_header in any::<bool>(),
        ) {
            let mut text = String::from(if crlf_header { "id,note,n\r\n" } else { "id,note,n\n" });
            for l in &lines {
                text.push_str(l);
            }
            let one = read_with(text.as_bytes(), 1);
            prop_assert_eq!(one.2, one.0.len() + weight(&one), "read = accepted + rejected");
            for threads in [2, 3, 8] {
                let many = read_with(text.as_bytes(), threads);
                prop_assert_eq!(&one, &many, "{} threads", threads);
            }
        }
    }
}
