//! Single-band GeoTIFF rasters in geographic coordinates (WorldPop population, CHIRPS
//! rainfall), read without GDAL: pixel scale and tie point give the grid, `GDAL_NODATA`
//! the missing value. Projected rasters (e.g. GHS-POP in Mollweide) are refused with the
//! command that reprojects them.

use super::IngestError;
use std::io::Cursor;
use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::Tag;

/// A decoded raster: row-major values (NaN where nodata) and its georeferencing.
#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Values, row by row from the north; NaN for nodata.
    pub values: Vec<f64>,
    /// Longitude of the western edge of column 0.
    pub west: f64,
    /// Latitude of the northern edge of row 0.
    pub north: f64,
    /// Pixel width, degrees.
    pub dx: f64,
    /// Pixel height, degrees (positive).
    pub dy: f64,
}

impl Raster {
    /// Centre (lat, lon) of pixel (`col`, `row`).
    pub fn center(&self, col: usize, row: usize) -> (f64, f64) {
        (
            self.north - (row as f64 + 0.5) * self.dy,
            self.west + (col as f64 + 0.5) * self.dx,
        )
    }

    /// Every valid pixel as (lat, lon, value).
    pub fn pixels(&self) -> impl Iterator<Item = (f64, f64, f64)> + '_ {
        self.values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| {
                let (lat, lon) = self.center(i % self.width, i / self.width);
                (lat, lon, *v)
            })
    }
}

/// True when the bytes start like a TIFF file.
pub fn is_tiff(bytes: &[u8]) -> bool {
    bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") || bytes.starts_with(b"II+\0")
}

const GT_MODEL_TYPE: u16 = 1024;
const GT_RASTER_TYPE: u16 = 1025;
const MODEL_TYPE_GEOGRAPHIC: u16 = 2;
const RASTER_PIXEL_IS_POINT: u16 = 2;

/// Decodes a single-band geographic GeoTIFF.
pub fn read_geotiff(file: &str, bytes: &[u8]) -> Result<Raster, IngestError> {
    let err = |message: String| IngestError::Raster {
        file: file.to_owned(),
        message,
    };
    let mut dec = Decoder::new(Cursor::new(bytes))
        .map_err(|e| err(format!("not a readable TIFF: {e}")))?
        .with_limits(Limits::unlimited());
    let (w, h) = dec.dimensions().map_err(|e| err(e.to_string()))?;
    // Before anything is decoded: the pixels are held as 64-bit floats.
    let decoded = u64::from(w) * u64::from(h) * 8;
    let max = super::csvsource::current_limits().max_raster_bytes;
    if decoded > max {
        return Err(err(format!(
            "refused: {w} × {h} pixels would take {decoded} bytes decoded, more than ingest.max_raster_bytes = {max}"
        )));
    }
    let scale = dec
        .get_tag_f64_vec(Tag::ModelPixelScaleTag)
        .map_err(|_| err("no ModelPixelScale tag: not a GeoTIFF".into()))?;
    let tie = dec
        .get_tag_f64_vec(Tag::ModelTiepointTag)
        .map_err(|_| err("no ModelTiepoint tag: not a GeoTIFF".into()))?;
    let (model, raster_type) = match dec.get_tag_u16_vec(Tag::GeoKeyDirectoryTag) {
        Ok(keys) => geo_keys(&keys),
        Err(_) => (None, None),
    };
    if model.is_some_and(|m| m != MODEL_TYPE_GEOGRAPHIC) {
        return Err(err(
            "projected coordinates are not supported; reproject to WGS84 first, e.g. `gdalwarp -t_srs EPSG:4326 in.tif out.tif`".into(),
        ));
    }
    if scale.len() < 2 || tie.len() < 6 || !(scale[0] > 0.0 && scale[1] > 0.0) {
        return Err(err(format!(
            "unusable georeferencing: scale {scale:?}, tie point {tie:?}"
        )));
    }
    let (dx, dy) = (scale[0], scale[1]);
    let mut west = tie[3] - tie[0] * dx;
    let mut north = tie[4] + tie[1] * dy;
    if raster_type == Some(RASTER_PIXEL_IS_POINT) {
        west -= dx / 2.0;
        north += dy / 2.0;
    }
    if !(-180.5..=180.5).contains(&west) || !(-90.5..=90.5).contains(&north) {
        return Err(err(format!(
            "origin {west}, {north} is not in degrees: is the raster projected?"
        )));
    }
    let nodata: Option<f64> = dec
        .get_tag_ascii_string(Tag::GdalNodata)
        .ok()
        .and_then(|s| s.trim_matches(char::from(0)).trim().parse().ok());
    let image = dec
        .read_image()
        .map_err(|e| err(format!("cannot decode pixels: {e}")))?;
    let values: Vec<f64> = match image {
        DecodingResult::U8(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::U16(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::U32(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::I8(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::I16(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::I32(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::F32(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::F64(v) => v,
        _ => return Err(err("unsupported sample format".into())),
    };
    let (width, height) = (w as usize, h as usize);
    if values.len() != width * height {
        return Err(err(format!(
            "{} samples for {width}×{height} pixels: only single-band rasters are supported",
            values.len()
        )));
    }
    let values = values
        .into_iter()
        .map(|v| match nodata {
            Some(nd) if v == nd || (nd.is_nan() && v.is_nan()) => f64::NAN,
            _ => v,
        })
        .collect();
    Ok(Raster {
        width,
        height,
        values,
        west,
        north,
        dx,
        dy,
    })
}

fn geo_keys(keys: &[u16]) -> (Option<u16>, Option<u16>) {
    let (mut model, mut raster) = (None, None);
    for entry in keys.get(4..).unwrap_or_default().chunks_exact(4) {
        // [key id, tag location (0 = value inline), count, value]
        if entry[1] != 0 {
            continue;
        }
        match entry[0] {
            GT_MODEL_TYPE => model = Some(entry[3]),
            GT_RASTER_TYPE => raster = Some(entry[3]),
            _ => {}
        }
    }
    (model, raster)
}

/// Writes a raster as a single-band Float32 GeoTIFF (for tests and synthetic fixtures);
/// `projected` marks it as projected, to exercise the refusal.
pub fn write_geotiff(
    r: &Raster,
    nodata: Option<f64>,
    projected: bool,
) -> Result<Vec<u8>, tiff::TiffError> {
    use tiff::encoder::{colortype, TiffEncoder};
    let (width, height, west, north, d) = (r.width as u32, r.height as u32, r.west, r.north, r.dx);
    let values: Vec<f32> = r
        .values
        .iter()
        .map(|v| {
            if v.is_nan() {
                nodata.unwrap_or(f64::NAN) as f32
            } else {
                *v as f32
            }
        })
        .collect();
    let mut out = Cursor::new(Vec::new());
    {
        let mut enc = TiffEncoder::new(&mut out)?;
        let mut image = enc.new_image::<colortype::Gray32Float>(width, height)?;
        image
            .encoder()
            .write_tag(Tag::ModelPixelScaleTag, &[d, d, 0.0][..])?;
        image.encoder().write_tag(
            Tag::ModelTiepointTag,
            &[0.0, 0.0, 0.0, west, north, 0.0][..],
        )?;
        let model = if projected { 1 } else { MODEL_TYPE_GEOGRAPHIC };
        let keys: [u16; 12] = [
            1,
            1,
            0,
            2,
            GT_MODEL_TYPE,
            0,
            1,
            model,
            GT_RASTER_TYPE,
            0,
            1,
            1,
        ];
        image
            .encoder()
            .write_tag(Tag::GeoKeyDirectoryTag, &keys[..])?;
        if let Some(nd) = nodata {
            image
                .encoder()
                .write_tag(Tag::GdalNodata, nd.to_string().as_str())?;
        }
        image.write_data(&values)?;
    }
    Ok(out.into_inner())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A `width`×`height` raster of square pixels from its north-west corner.
    pub fn raster(
        width: usize,
        height: usize,
        west: f64,
        north: f64,
        d: f64,
        values: &[f32],
    ) -> Raster {
        Raster {
            width,
            height,
            values: values.iter().map(|v| f64::from(*v)).collect(),
            west,
            north,
            dx: d,
            dy: d,
        }
    }

    #[test]
    fn round_trip_with_nodata() {
        let values = [1.0, 2.0, -9999.0, 4.0, 5.0, 6.0];
        let bytes = write_geotiff(
            &raster(3, 2, 20.0, 7.0, 0.05, &values),
            Some(-9999.0),
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(is_tiff(&bytes));
        let r = read_geotiff("r.tif", &bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.width, r.height), (3, 2));
        assert!(r.values[2].is_nan());
        assert_eq!(r.pixels().count(), 5);
        let (lat, lon) = r.center(1, 1);
        assert!((lat - 6.925).abs() < 1e-9 && (lon - 20.075).abs() < 1e-9);
    }

    #[test]
    fn projected_rasters_are_refused_with_advice() {
        let bytes = write_geotiff(
            &raster(1, 1, 1_000_000.0, 800_000.0, 100.0, &[1.0]),
            None,
            true,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let err = read_geotiff("ghs.tif", &bytes)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("ghs.tif") && err.contains("gdalwarp"), "{err}");
    }
}
