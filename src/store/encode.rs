//! Parquet encoding of the store's tables and snapshots.
//!
//! The same file polars' `ParquetWriter` writes (Snappy, statistics on, row groups of
//! 262,144 rows, the Arrow schema in the footer), with two differences in how it gets
//! there, not in what it writes:
//!
//! - floating-point columns are encoded plain from the start. polars first estimates each
//!   float column's distinct values (a hash of every value) and, below three in four,
//!   tries a dictionary that it cannot build for floats, then writes them plain anyway: in
//!   a daily range of the 150,000-cell bench store that estimate alone was 4 % of the CPU;
//! - each column's pages are encoded and compressed on the thread pool, not only planned
//!   there and then compressed one column after another while the file is assembled.
//!
//! Every other column takes polars' own encoding choice (`get_dtype_encoding`), and the
//! unit tests hold the bytes equal to `ParquetWriter`'s for frames of every column type
//! the store writes.
//!
//! Snapshots of a daily range keep many columns from one day to the next (the cell, its
//! centre, area, population, mission, nearest base, reach, ...): with a [`PageCache`], a
//! column whose values are the same, bit for bit, as the same column of the previous
//! snapshot takes that column's encoded pages instead of encoding them again. The encoding
//! is a function of the values, so the file is the same to the byte.

use super::float_pages::float64_pages;
use super::short_text_dictionary::short_text_dictionary;
use polars::prelude::*;
use polars_arrow::array::{Array as _, PrimitiveArray, Utf8ViewArray};
use polars_parquet::parquet::schema::types::ParquetType;
use polars_parquet::write::{
    array_to_columns, array_to_pages, compress, fallible_streaming_iterator, get_dtype_encoding,
    to_nested, to_parquet_schema, CompressedPage, CompressionOptions, DynIter,
    DynStreamingIterator, Encoding, FileWriter, RowGroupIterColumns, StatisticsOptions, Version,
    WriteOptions,
};
use rayon::prelude::*;

/// Rows per row group (polars' default).
const ROW_GROUP: usize = 512 * 512;

/// A column's values and their pages (one vector per Parquet leaf column).
type Encoded = (ArrayRef, Vec<Vec<CompressedPage>>);

/// The encoded pages of the last file's columns, by row group and column name.
#[derive(Default)]
pub struct PageCache {
    columns: std::collections::HashMap<(usize, String), Encoded>,
}

/// A copy starts empty: the cache only saves work.
impl Clone for PageCache {
    fn clone(&self) -> Self {
        PageCache::default()
    }
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache")
            .field("columns", &self.columns.len())
            .finish()
    }
}

/// Whether two arrays hold the same values, bit for bit (floats by their bits: 0.0 and
/// −0.0 differ, a NaN equals the same NaN), with the same validity and type. Types it does
/// not know compare unequal.
fn same_values(a: &dyn polars_arrow::array::Array, b: &dyn polars_arrow::array::Array) -> bool {
    use polars_arrow::array::{Array, BooleanArray, PrimitiveArray, Utf8ViewArray};
    if a.dtype() != b.dtype() || a.len() != b.len() || a.validity() != b.validity() {
        return false;
    }
    fn prim<T: polars_arrow::types::NativeType>(
        a: &dyn Array,
        b: &dyn Array,
        eq: impl Fn(&[T], &[T]) -> bool,
    ) -> Option<bool> {
        let (a, b) = (
            a.as_any().downcast_ref::<PrimitiveArray<T>>()?,
            b.as_any().downcast_ref::<PrimitiveArray<T>>()?,
        );
        let (x, y) = (a.values().as_slice(), b.values().as_slice());
        // The same buffer (a column a daily range took from the day before as it was).
        Some(std::ptr::eq(x, y) || eq(x, y))
    }
    let bits64 = |x: &[f64], y: &[f64]| x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits());
    let bits32 = |x: &[f32], y: &[f32]| x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits());
    let verdict = match a.dtype() {
        ArrowDataType::Float64 => prim::<f64>(a, b, bits64),
        ArrowDataType::Float32 => prim::<f32>(a, b, bits32),
        ArrowDataType::Int64 | ArrowDataType::Date64 => prim::<i64>(a, b, |x, y| x == y),
        ArrowDataType::UInt64 => prim::<u64>(a, b, |x, y| x == y),
        ArrowDataType::Int32 | ArrowDataType::Date32 => prim::<i32>(a, b, |x, y| x == y),
        ArrowDataType::UInt32 => prim::<u32>(a, b, |x, y| x == y),
        ArrowDataType::Int16 => prim::<i16>(a, b, |x, y| x == y),
        ArrowDataType::UInt16 => prim::<u16>(a, b, |x, y| x == y),
        ArrowDataType::Int8 => prim::<i8>(a, b, |x, y| x == y),
        ArrowDataType::UInt8 => prim::<u8>(a, b, |x, y| x == y),
        ArrowDataType::Boolean => a
            .as_any()
            .downcast_ref::<BooleanArray>()
            .zip(b.as_any().downcast_ref::<BooleanArray>())
            .map(|(x, y)| x.values() == y.values()),
        ArrowDataType::Utf8View => a
            .as_any()
            .downcast_ref::<Utf8ViewArray>()
            .zip(b.as_any().downcast_ref::<Utf8ViewArray>())
            .map(|(x, y)| {
                (std::ptr::eq(x.views().as_slice(), y.views().as_slice())
                    && std::ptr::eq(x.data_buffers().as_slice(), y.data_buffers().as_slice()))
                    || x.values_iter().eq(y.values_iter())
            }),
        _ => None,
    };
    verdict.unwrap_or(false)
}

/// How the store writes every Parquet file: statistics on, version-1 pages, Snappy,
/// polars' page size.
pub(super) fn write_options() -> WriteOptions {
    WriteOptions {
        statistics: StatisticsOptions::default(),
        version: Version::V1,
        compression: CompressionOptions::Snappy,
        data_page_size: None,
    }
}

/// A column's pages: encoded now, or kept from the cache.
enum Pages<'a> {
    Kept(&'a [Vec<CompressedPage>]),
    New(Vec<Vec<CompressedPage>>),
}

impl Pages<'_> {
    /// The pages of each Parquet leaf column.
    fn leaves(&self) -> std::slice::Iter<'_, Vec<CompressedPage>> {
        match self {
            Pages::Kept(v) => v.iter(),
            Pages::New(v) => v.iter(),
        }
    }
}

/// Appends the Parquet encoding of `df` to `out`.
#[cfg(test)]
pub(super) fn parquet(df: &mut DataFrame, out: &mut Vec<u8>) -> PolarsResult<()> {
    parquet_reusing(df, out, None).map(|_| ())
}

/// Appends the Parquet encoding of `df` to `out`, taking unchanged columns' pages from
/// `cache` (and leaving this file's there); returns how many columns' pages were kept.
pub(super) fn parquet_reusing(
    df: &mut DataFrame,
    out: &mut Vec<u8>,
    mut cache: Option<&mut PageCache>,
) -> PolarsResult<usize> {
    let chunked = polars::frame::chunk_df_for_writing(df, ROW_GROUP)?;
    let compat = CompatLevel::newest();
    let schema: ArrowSchema = chunked
        .schema()
        .iter_fields()
        .map(|f| {
            let field = f.dtype().to_arrow_field(f.name().clone(), compat);
            (field.name.clone(), field)
        })
        .collect();
    let parquet_schema = to_parquet_schema(&schema)?;
    let encodings: Vec<Vec<Encoding>> = schema
        .iter_values()
        .map(|f| {
            if matches!(
                f.dtype,
                ArrowDataType::Float16 | ArrowDataType::Float32 | ArrowDataType::Float64
            ) {
                vec![Encoding::Plain]
            } else {
                get_dtype_encoding(&f.dtype)
            }
        })
        .collect();
    let options = write_options();
    let fields = parquet_schema.fields().to_vec();
    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let mut writer = FileWriter::new_with_parquet_schema(out, schema, parquet_schema, options);
    let mut kept = 0usize;
    for (group, batch) in chunked.iter_chunks(compat, false).enumerate() {
        let rows = batch.len();
        if rows == 0 {
            continue;
        }
        let previous = cache.as_deref();
        let columns: Vec<Pages<'_>> = batch
            .columns()
            .par_iter()
            .zip(&fields)
            .zip(&encodings)
            .zip(&names)
            .map(|(((array, ty), encoding), name)| {
                if let Some((values, pages)) =
                    previous.and_then(|c| c.columns.get(&(group, name.clone())))
                {
                    if same_values(values.as_ref(), array.as_ref()) {
                        return Ok(Pages::Kept(pages));
                    }
                }
                if let (Some(values), ParquetType::PrimitiveType(leaf)) =
                    (array.as_any().downcast_ref::<PrimitiveArray<f64>>(), ty)
                {
                    if values.null_count() == 0 {
                        let pages = float64_pages(values, leaf, options)
                            .map(|page| Ok(compress(page?, Vec::new(), options.compression)?))
                            .collect::<PolarsResult<Vec<CompressedPage>>>()?;
                        return Ok(Pages::New(vec![pages]));
                    }
                }
                if let (Some(text), ParquetType::PrimitiveType(leaf), [Encoding::RleDictionary]) = (
                    array.as_any().downcast_ref::<Utf8ViewArray>(),
                    ty,
                    encoding.as_slice(),
                ) {
                    if let Some(dictionary) = short_text_dictionary(text) {
                        let nested = to_nested(array.as_ref(), ty)?;
                        let pages = array_to_pages(
                            &dictionary,
                            leaf.clone(),
                            nested.first().map_or(&[][..], Vec::as_slice),
                            options,
                            Encoding::RleDictionary,
                        )?
                        .map(|page| Ok(compress(page?, Vec::new(), options.compression)?))
                        .collect::<PolarsResult<Vec<CompressedPage>>>()?;
                        return Ok(Pages::New(vec![pages]));
                    }
                }
                array_to_columns(array, ty.clone(), options, encoding)?
                    .into_iter()
                    .map(|pages| {
                        pages
                            .map(|page| Ok(compress(page?, Vec::new(), options.compression)?))
                            .collect::<PolarsResult<Vec<CompressedPage>>>()
                    })
                    .collect::<PolarsResult<Vec<_>>>()
                    .map(Pages::New)
            })
            .collect::<PolarsResult<_>>()?;
        let row_group: RowGroupIterColumns<'_, PolarsError> =
            DynIter::new(columns.iter().flat_map(Pages::leaves).map(|pages| {
                Ok(DynStreamingIterator::new(
                    fallible_streaming_iterator::convert(pages.iter().map(Ok::<_, PolarsError>)),
                ))
            }));
        writer.write(rows as u64, row_group)?;
        let fresh: Vec<(usize, Vec<Vec<CompressedPage>>)> = columns
            .into_iter()
            .enumerate()
            .filter_map(|(i, p)| match p {
                Pages::Kept(_) => None,
                Pages::New(v) => Some((i, v)),
            })
            .collect();
        kept += names.len() - fresh.len();
        if let Some(cache) = cache.as_deref_mut() {
            for (i, pages) in fresh {
                if let Some(array) = batch.columns().get(i) {
                    cache
                        .columns
                        .insert((group, names[i].clone()), (array.clone(), pages));
                }
            }
        }
    }
    writer.end(None)?;
    if cache.is_some() {
        tracing::trace!(kept, of = names.len(), "columns' pages reused");
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polars_bytes(df: &mut DataFrame) -> Vec<u8> {
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes)
            .with_compression(ParquetCompression::Snappy)
            .finish(df)
            .unwrap_or_else(|e| panic!("{e}"));
        bytes
    }

    fn ours(df: &mut DataFrame) -> Vec<u8> {
        let mut bytes = Vec::new();
        parquet(df, &mut bytes).unwrap_or_else(|e| panic!("{e}"));
        bytes
    }

    /// Columns of every type the store writes: floats of few and of many distinct values
    /// (with nulls), integers of small and wide range, cell ids, text of few and many
    /// values, flags, dates.
    fn frame(n: usize) -> DataFrame {
        let few: Vec<Option<f64>> = (0..n)
            .map(|i| (i % 11 != 0).then_some((i % 7) as f64 * 0.25))
            .collect();
        let many: Vec<f64> = (0..n).map(|i| (i as f64).sqrt() * 1.000_001).collect();
        let small: Vec<Option<i64>> = (0..n)
            .map(|i| (i % 5 != 0).then_some((i % 9) as i64))
            .collect();
        let wide: Vec<i64> = (0..n).map(|i| (i as i64) * 1_000_003 - 7).collect();
        let cells: Vec<u64> = (0..n)
            .map(|i| 0x0872_0000_0000_0000 + (i as u64) * 8)
            .collect();
        let tiers: Vec<&str> = (0..n).map(|i| ["low", "high", "critical"][i % 3]).collect();
        let names: Vec<Option<String>> = (0..n)
            .map(|i| (i % 13 != 0).then(|| format!("place {i}")))
            .collect();
        let flags: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
        let days: Vec<i32> = (0..n).map(|i| 19_000 + (i % 400) as i32).collect();
        DataFrame::new_infer_height(vec![
            Column::new("few".into(), few),
            Column::new("many".into(), many),
            Column::new("small".into(), small),
            Column::new("wide".into(), wide),
            Column::new("cell".into(), cells),
            Column::new("tier".into(), tiers),
            Column::new("name".into(), names),
            Column::new("flag".into(), flags),
            Column::new("day".into(), days)
                .cast(&DataType::Date)
                .unwrap_or_else(|e| panic!("{e}")),
        ])
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_bytes_are_polars_own() {
        // One row group, several (> 262,144 rows), and an empty frame.
        for n in [1, 1000, 300_000] {
            let mut df = frame(n);
            assert!(ours(&mut df) == polars_bytes(&mut df), "{n} rows");
        }
        let mut empty = frame(10).slice(0, 0);
        assert!(ours(&mut empty) == polars_bytes(&mut empty));
    }

    #[test]
    fn the_file_reads_back() {
        let mut df = frame(5000);
        let bytes = ours(&mut df);
        let back = ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(back.equals_missing(&df));
    }

    /// With a cache, a file whose columns partly match the last one's is the same to the
    /// byte as without it, in one row group and in several; unchanged columns are kept,
    /// changed ones (a single value, 0.0 against −0.0, a null, one character) are not.
    #[test]
    fn kept_pages_give_the_same_bytes() {
        for n in [1000, 300_000] {
            let mut cache = PageCache::default();
            let mut first = frame(n);
            let mut bytes = Vec::new();
            let kept = parquet_reusing(&mut first, &mut bytes, Some(&mut cache))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(kept, 0);
            assert!(bytes == ours(&mut first));
            // The same frame again: every column of every row group kept.
            let mut again = frame(n);
            let mut bytes = Vec::new();
            let kept = parquet_reusing(&mut again, &mut bytes, Some(&mut cache))
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(kept > 0 && kept.is_multiple_of(9), "{kept}");
            let all = kept;
            assert!(bytes == ours(&mut again));
            // Four columns changed in their last row: those are encoded again.
            let last = n - 1;
            let mut changed = frame(n);
            let set = |df: &mut DataFrame, name: &str, column: Column| {
                df.with_column(column.with_name(name.into()))
                    .unwrap_or_else(|e| panic!("{e}"));
            };
            let mut many: Vec<f64> = (0..n).map(|i| (i as f64).sqrt() * 1.000_001).collect();
            many[0] = -0.0; // 0.0 before: equal as numbers, not as bits
            set(&mut changed, "many", Column::new("x".into(), many));
            let mut small: Vec<Option<i64>> = (0..n)
                .map(|i| (i % 5 != 0).then_some((i % 9) as i64))
                .collect();
            small[last] = None;
            set(&mut changed, "small", Column::new("x".into(), small));
            let mut names: Vec<Option<String>> = (0..n)
                .map(|i| (i % 13 != 0).then(|| format!("place {i}")))
                .collect();
            names[last] = Some(format!("place {last}!"));
            set(&mut changed, "name", Column::new("x".into(), names));
            let mut flags: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
            flags[last] = !flags[last];
            set(&mut changed, "flag", Column::new("x".into(), flags));
            let mut bytes = Vec::new();
            let kept = parquet_reusing(&mut changed, &mut bytes, Some(&mut cache))
                .unwrap_or_else(|e| panic!("{e}"));
            // Four columns changed, each in one row group.
            assert_eq!(kept, all - 4, "{n} rows");
            assert!(bytes == ours(&mut changed), "{n} rows");
            assert!(bytes == polars_bytes(&mut changed), "{n} rows");
        }
    }
}
