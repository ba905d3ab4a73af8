//! GeoParquet 1.1: a table with a WKB `geometry` column, a `bbox` covering column
//! (`xmin`, `ymin`, `xmax`, `ymax`) and the `geo` file metadata, so that GeoPandas,
//! DuckDB, GDAL and QGIS open it as a layer in OGC:CRS84 (the default CRS when the
//! metadata names none).

use crate::output::shape::{extent, Kind, Shape};
use polars::prelude::*;
use serde_json::json;

/// Encodes `df` with one geometry per row (`None`: a null geometry), as Snappy-compressed
/// GeoParquet. A `geometry` column already in `df` (areas keep GeoJSON text there) is
/// replaced.
pub fn encode(mut df: DataFrame, shapes: &[Option<Shape>], kind: Kind) -> PolarsResult<Vec<u8>> {
    if shapes.len() != df.height() {
        return Err(PolarsError::ShapeMismatch(
            format!("{} geometries for {} rows", shapes.len(), df.height()).into(),
        ));
    }
    if df.get_column_index("geometry").is_some() {
        df = df.drop("geometry")?;
    }
    let wkb: Vec<Option<Vec<u8>>> = shapes.iter().map(|s| s.as_ref().map(Shape::wkb)).collect();
    let geometry =
        BinaryChunked::from_iter_options("geometry".into(), wkb.iter().map(|w| w.as_deref()));
    let boxes: Vec<Option<[f64; 4]>> = shapes.iter().map(|s| s.as_ref().map(Shape::bbox)).collect();
    let side = |name: &str, i: usize| {
        Column::new(
            name.into(),
            boxes.iter().map(|b| b.map(|b| b[i])).collect::<Vec<_>>(),
        )
    };
    let bbox = StructChunked::from_columns(
        "bbox".into(),
        df.height(),
        &[
            side("xmin", 0),
            side("ymin", 1),
            side("xmax", 2),
            side("ymax", 3),
        ],
    )?;
    df.with_column(geometry.into_column())?;
    df.with_column(bbox.into_column())?;
    let mut column = json!({
        "encoding": "WKB",
        "geometry_types": [kind.geoparquet_name()],
        "covering": {"bbox": {
            "xmin": ["bbox", "xmin"], "ymin": ["bbox", "ymin"],
            "xmax": ["bbox", "xmax"], "ymax": ["bbox", "ymax"]
        }}
    });
    if let Some(b) = extent(shapes.iter().flatten()) {
        column["bbox"] = json!(b);
    }
    let geo = json!({
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {"geometry": column}
    });
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .with_compression(ParquetCompression::Snappy)
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(vec![(
            "geo".into(),
            geo.to_string(),
        )])))
        .finish(&mut df)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_carries_geo_metadata_and_a_wkb_column() {
        let df = df!("name" => ["a", "b", "c"]).unwrap();
        let shapes = [Shape::point(4.0, 18.0), None, Shape::point(5.0, 20.0)];
        let bytes = encode(df, &shapes, Kind::Point).unwrap();
        let reader = ParquetReader::new(std::io::Cursor::new(bytes.clone()));
        let back = reader.finish().unwrap();
        assert_eq!(back.get_column_names(), ["name", "geometry", "bbox"]);
        let g = back.column("geometry").unwrap().binary().unwrap().clone();
        assert_eq!(g.get(0), Some(Shape::Point([18.0, 4.0]).wkb().as_slice()));
        assert_eq!(g.get(1), None);
        // The metadata sits in the footer as plain JSON.
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(r#""primary_column":"geometry""#));
        assert!(text.contains(r#""bbox":[18.0,4.0,20.0,5.0]"#), "{text}");
        let err = encode(df!("x" => [1]).unwrap(), &[], Kind::Point).unwrap_err();
        assert!(err.to_string().contains("0 geometries for 1 rows"));
    }
}
