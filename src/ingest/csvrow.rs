//! Typed access to the fields of one CSV row: required and optional values, numbers,
//! plausible days and death counts, flags, and the [`Reject`] naming the row's line.

use super::csvsource::CsvSource;
use super::Reject;
use csv::StringRecord;

/// Typed access to the fields of one row.
pub struct Row<'r> {
    pub(super) src: &'r CsvSource<'r>,
    pub(super) rec: &'r StringRecord,
    pub(super) line: u64,
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

    /// An event day checked for plausibility: not before 1946 (no conflict-event source
    /// starts earlier) and not after today plus `ingest.future_days`.
    pub fn plausible_day(&self, column: &str, day: i32) -> Result<i32, Reject> {
        let limits = &self.src.limits;
        if day < limits.first_day {
            return Err(self.reject(
                column,
                "date before 1946",
                crate::model::day::format_date(day),
            ));
        }
        if day > limits.last_day {
            return Err(self.reject(
                column,
                "date in the future",
                format!(
                    "{} is after {} (today + ingest.future_days)",
                    crate::model::day::format_date(day),
                    crate::model::day::format_date(limits.last_day)
                ),
            ));
        }
        Ok(day)
    }

    /// A count of deaths: missing is `None`; otherwise a whole number from 0 to
    /// `ingest.max_fatalities`.
    pub fn opt_deaths<C: ColumnRef>(&self, column: C) -> Result<Option<i64>, Reject> {
        let v = self.get(column);
        if is_missing(v) {
            return Ok(None);
        }
        let n = match v.parse::<i64>() {
            Ok(n) => n,
            Err(_) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 9e15 => x as i64,
                Ok(x) if x.is_finite() && x.abs() < 9e15 => {
                    return Err(self.reject(column.name(), "fractional fatalities", v.to_owned()))
                }
                Ok(x) if x.is_finite() => i64::MAX,
                _ => return Err(self.reject(column.name(), "not a number", v.to_owned())),
            },
        };
        if n < 0 {
            return Err(self.reject(column.name(), "negative fatalities", v.to_owned()));
        }
        if n > self.src.limits.max_fatalities {
            return Err(self.reject(
                column.name(),
                "implausible fatalities",
                format!(
                    "{v} > {} (ingest.max_fatalities)",
                    self.src.limits.max_fatalities
                ),
            ));
        }
        Ok(Some(n))
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
