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

use polars::prelude::*;
use polars_parquet::write::{
    array_to_columns, compress, fallible_streaming_iterator, get_dtype_encoding, to_parquet_schema,
    CompressedPage, CompressionOptions, DynIter, DynStreamingIterator, Encoding, FileWriter,
    RowGroupIterColumns, StatisticsOptions, Version, WriteOptions,
};
use rayon::prelude::*;

/// Rows per row group (polars' default).
const ROW_GROUP: usize = 512 * 512;

/// Appends the Parquet encoding of `df` to `out`.
pub(super) fn parquet(df: &mut DataFrame, out: &mut Vec<u8>) -> PolarsResult<()> {
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
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        version: Version::V1,
        compression: CompressionOptions::Snappy,
        data_page_size: None,
    };
    let fields = parquet_schema.fields().to_vec();
    let mut writer = FileWriter::new_with_parquet_schema(out, schema, parquet_schema, options);
    for batch in chunked.iter_chunks(compat, false) {
        let rows = batch.len();
        if rows == 0 {
            continue;
        }
        let columns: Vec<Vec<Vec<CompressedPage>>> = batch
            .columns()
            .par_iter()
            .zip(&fields)
            .zip(&encodings)
            .map(|((array, ty), encoding)| {
                array_to_columns(array, ty.clone(), options, encoding)?
                    .into_iter()
                    .map(|pages| {
                        pages
                            .map(|page| Ok(compress(page?, Vec::new(), options.compression)?))
                            .collect::<PolarsResult<Vec<CompressedPage>>>()
                    })
                    .collect::<PolarsResult<Vec<_>>>()
            })
            .collect::<PolarsResult<_>>()?;
        let group: RowGroupIterColumns<'_, PolarsError> =
            DynIter::new(columns.iter().flatten().map(|pages| {
                Ok(DynStreamingIterator::new(
                    fallible_streaming_iterator::convert(pages.iter().map(Ok::<_, PolarsError>)),
                ))
            }));
        writer.write(rows as u64, group)?;
    }
    writer.end(None)?;
    Ok(())
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
}
