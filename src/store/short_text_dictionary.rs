//! The dictionary of a text column of few short values (a risk tier, yesterday's tier),
//! built from the values' inline bytes.
//!
//! polars writes such a column dictionary-encoded: it first estimates the column's distinct
//! values by hashing every one, then builds the dictionary through a general hash map, and
//! only then encodes the keys (together 3 % of a daily range's CPU for the two tier
//! columns). Values of at most 12 bytes live inside their 16-byte view, so a column of such
//! values with few distinct ones is keyed by comparing views against a short list. The
//! dictionary is polars' own — values in order of first appearance, the column's validity
//! on the keys — so the pages polars writes from it are the same to the byte; the unit
//! tests compare them.

use polars_arrow::array::{Array, DictionaryArray, PrimitiveArray, Utf8ViewArray, View};
use polars_arrow::datatypes::{ArrowDataType, IntegerType};

/// At most this many distinct values (beyond, polars' general path is used).
const MOST_VALUES: usize = 16;

/// The dictionary polars' writer would build for `array`, when every value is inline (at
/// most 12 bytes) and there are at most [`MOST_VALUES`] of them; `None` otherwise, and
/// for a column that is empty or all missing.
pub(super) fn short_text_dictionary(array: &Utf8ViewArray) -> Option<DictionaryArray<u32>> {
    if array.is_empty() || array.null_count() == array.len() {
        return None;
    }
    let mut seen: Vec<(u128, View)> = Vec::with_capacity(MOST_VALUES);
    let mut keys = Vec::with_capacity(array.len());
    let validity = array.validity();
    for (i, view) in array.views().iter().enumerate() {
        if validity.is_some_and(|v| !v.get_bit(i)) {
            keys.push(0u32);
            continue;
        }
        if view.length > View::MAX_INLINE_SIZE {
            return None;
        }
        let bits = inline_bits(*view);
        let key = match seen.iter().position(|(b, _)| *b == bits) {
            Some(k) => k,
            None => {
                if seen.len() == MOST_VALUES {
                    return None;
                }
                seen.push((bits, *view));
                seen.len() - 1
            }
        };
        keys.push(key as u32);
    }
    let values: Vec<&str> = seen
        .iter()
        .map(|(_, v)| {
            v.get_inlined_slice()
                .and_then(|b| std::str::from_utf8(b).ok())
        })
        .collect::<Option<_>>()?;
    let keys = PrimitiveArray::new(ArrowDataType::UInt32, keys.into(), validity.cloned());
    DictionaryArray::try_new(
        ArrowDataType::Dictionary(IntegerType::UInt32, Box::new(array.dtype().clone()), false),
        keys,
        Utf8ViewArray::from_slice_values(values).boxed(),
    )
    .ok()
}

/// An inline view's length and bytes, without whatever lies past the bytes.
fn inline_bits(view: View) -> u128 {
    let used = 32 + 8 * view.length.min(View::MAX_INLINE_SIZE);
    let bits = view.as_u128();
    if used >= 128 {
        bits
    } else {
        bits & ((1u128 << used) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{ArrowField, ArrowSchema};
    use polars_arrow::array::MutableBinaryViewArray;
    use polars_parquet::parquet::schema::types::ParquetType;
    use polars_parquet::write::{
        array_to_columns, array_to_pages, to_nested, to_parquet_schema, Encoding, Page,
        WriteOptions,
    };
    use proptest::prelude::*;

    fn options() -> WriteOptions {
        super::super::encode::write_options()
    }

    fn parquet_type() -> ParquetType {
        let field = ArrowField::new("x".into(), ArrowDataType::Utf8View, true);
        let schema: ArrowSchema = [(field.name.clone(), field)].into_iter().collect();
        let schema = to_parquet_schema(&schema).unwrap_or_else(|e| panic!("{e}"));
        schema.fields()[0].clone()
    }

    /// Each page's header (or dictionary size) and bytes.
    type Described = Vec<(String, Vec<u8>)>;

    fn described(pages: impl Iterator<Item = Page>) -> Described {
        pages
            .map(|p| match p {
                Page::Data(d) => (format!("{:?}", d.header()), d.buffer().to_vec()),
                Page::Dict(d) => (
                    format!("dictionary of {} sorted {}", d.num_values, d.is_sorted),
                    d.buffer.to_vec(),
                ),
            })
            .collect()
    }

    fn column(values: &[Option<&str>]) -> Utf8ViewArray {
        let mut m = MutableBinaryViewArray::<str>::with_capacity(values.len());
        for v in values {
            m.push(*v);
        }
        m.freeze()
    }

    /// polars' pages for `array` and those from our dictionary, when we build one.
    fn both(array: &Utf8ViewArray) -> Option<(Described, Described)> {
        let ty = parquet_type();
        let theirs = array_to_columns(
            array.clone().boxed(),
            ty.clone(),
            options(),
            &[Encoding::RleDictionary],
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .flat_map(|pages| pages.map(|p| p.unwrap_or_else(|e| panic!("{e}"))));
        let theirs = described(theirs);
        let dictionary = short_text_dictionary(array)?;
        let ParquetType::PrimitiveType(leaf) = &ty else {
            panic!("a primitive type")
        };
        let nested = to_nested(array, &ty).unwrap_or_else(|e| panic!("{e}"));
        let ours = array_to_pages(
            &dictionary,
            leaf.clone(),
            &nested[0],
            options(),
            Encoding::RleDictionary,
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|p| p.unwrap_or_else(|e| panic!("{e}")));
        Some((described(ours), theirs))
    }

    #[test]
    fn tiers_match_polars() {
        let tiers = ["low", "moderate", "elevated", "high", "critical"];
        for n in [1, 2, 129, 5000, 300_000] {
            let values: Vec<Option<&str>> = (0..n)
                .map(|i| Some(tiers[(i * 7 + i / 3) % tiers.len()]))
                .collect();
            let (ours, theirs) = both(&column(&values)).unwrap_or_else(|| panic!("{n}"));
            assert_eq!(ours, theirs, "{n} rows");
            let with_gaps: Vec<Option<&str>> = values
                .iter()
                .enumerate()
                .map(|(i, v)| if i % 5 == 1 { None } else { *v })
                .collect();
            let (ours, theirs) = both(&column(&with_gaps)).unwrap_or_else(|| panic!("{n}"));
            assert_eq!(ours, theirs, "{n} rows with gaps");
        }
    }

    #[test]
    fn what_it_leaves_to_polars() {
        // Empty, all missing, a long value, too many distinct values.
        assert!(short_text_dictionary(&column(&[])).is_none());
        assert!(short_text_dictionary(&column(&[None, None])).is_none());
        assert!(short_text_dictionary(&column(&[Some("a"), Some("thirteen char")])).is_none());
        let many: Vec<String> = (0..17).map(|i| format!("v{i}")).collect();
        let many: Vec<Option<&str>> = many.iter().map(|s| Some(s.as_str())).collect();
        assert!(short_text_dictionary(&column(&many)).is_none());
        assert!(short_text_dictionary(&column(&many[..16])).is_some());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_short_values_match_polars(
            picks in prop::collection::vec(prop::option::weighted(0.8, 0usize..6), 1..400),
        ) {
            let words = ["", "a", "low", "critical", "twelve chars", "é"];
            let values: Vec<Option<&str>> = picks.iter().map(|p| p.map(|i| words[i])).collect();
            if let Some((ours, theirs)) = both(&column(&values)) {
                prop_assert_eq!(ours, theirs);
            } else {
                prop_assert!(values.iter().all(Option::is_none));
            }
        }
    }
}
