//! `vigil export kit`: what an analyst carries to a field office without a network — one
//! GeoPackage of the day's layers (risk, gaps, bases, events, areas, IDP sites) with the
//! QGIS style of the tiers stored as each cell layer's default, the same style as a `.qml`
//! file, the grid as CSV, the day's vector tiles as a PMTiles archive (which the web map
//! opens from a file) and a README naming the date, the sources and their attribution.

use crate::config::Config;
use crate::model::cell::Tier;
use crate::model::rows::{Area, AreaCell, Base, IdpSite};
use crate::model::visibility::Audience;
use crate::output::export::{grid_bytes, ExportError, Format};
use crate::output::features::{self, Feature};
use crate::output::geopackage::{self, Layer};
use crate::output::shape::{Kind, Shape};
use crate::store::snapshot::Snapshot;
use crate::store::{write_atomic, Store};
use serde_json::{Map, Value};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The colours of the tiers, as the web map draws them (YlOrBr).
pub const TIER_COLOURS: [(Tier, [u8; 3]); 5] = [
    (Tier::Low, [0xff, 0xff, 0xd4]),
    (Tier::Moderate, [0xfe, 0xd9, 0x8e]),
    (Tier::Elevated, [0xfe, 0x99, 0x29]),
    (Tier::High, [0xd9, 0x5f, 0x0e]),
    (Tier::Critical, [0x99, 0x34, 0x04]),
];

/// What the kit holds: its files and the features of each layer.
#[derive(Debug, Clone)]
pub struct Kit {
    /// The snapshot date.
    pub date: String,
    /// The files written, with their sizes.
    pub files: Vec<(PathBuf, u64)>,
    /// Layer name and feature count, in the GeoPackage's order.
    pub layers: Vec<(String, usize)>,
}

/// A QGIS style (QML) of cells by `tier`, filled with the tier colours.
pub fn tier_qml() -> String {
    let mut categories = String::new();
    let mut symbols = String::new();
    for (i, (tier, [r, g, b])) in TIER_COLOURS.iter().enumerate() {
        let name = tier.as_str();
        let label = format!("{}{}", name[..1].to_uppercase(), &name[1..]);
        let _ = writeln!(
            categories,
            r#"      <category value="{name}" symbol="{i}" label="{label}" render="true"/>"#
        );
        let _ = writeln!(
            symbols,
            r#"      <symbol type="fill" name="{i}" alpha="0.8" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" pass="0" locked="0">
          <Option type="Map">
            <Option name="color" type="QString" value="{r},{g},{b},255"/>
            <Option name="outline_color" type="QString" value="110,110,110,255"/>
            <Option name="outline_style" type="QString" value="solid"/>
            <Option name="outline_width" type="QString" value="0.1"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="style" type="QString" value="solid"/>
          </Option>
        </layer>
      </symbol>"#
        );
    }
    format!(
        r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.28.0" styleCategories="Symbology">
  <renderer-v2 type="categorizedSymbol" attr="tier" symbollevels="0" enableorderby="0" forceraster="0">
    <categories>
{categories}    </categories>
    <symbols>
{symbols}    </symbols>
  </renderer-v2>
</qgis>
"#
    )
}

fn layer(name: &str, title: &str, kind: Kind, features: Vec<Feature>) -> Layer {
    let rows = features
        .into_iter()
        .map(|(id, geometry, props)| {
            let mut m = Map::with_capacity(props.len() + 1);
            m.insert("id".into(), Value::String(id));
            m.extend(props);
            (Shape::from_geojson(&geometry), m)
        })
        .collect();
    Layer {
        name: name.into(),
        title: title.into(),
        kind,
        rows,
        qml: None,
    }
}

/// Writes the kit of the snapshot of `date` (default: the latest) into the folder `out`
/// (created when missing). `audience` decides whether deployments go in: a risk-only kit
/// has no bases or gaps layers and no deployment field.
pub fn write_kit(
    store: &Store,
    config: &Config,
    date: Option<&str>,
    out: &Path,
    audience: Audience,
) -> Result<Kit, ExportError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| ExportError::Io { path, source }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let snap = Snapshot::load(store, date)?;
    let day = snap.day();
    let bases: Vec<Base> = store.read()?;
    let areas: Vec<Area> = store.read()?;
    let area_cells: Vec<AreaCell> = store.read()?;
    let idp: Vec<IdpSite> = store.read()?;
    let from = day - config.score.window_days as i32 + 1;
    let events = crate::risk::events::rows_counting_on(store.events_between(from, day)?, day);

    let cells = |gaps: bool| -> Vec<Feature> {
        snap.cells
            .iter()
            .filter(|r| !gaps || r.flags.gap)
            .map(|r| features::cell(r, &snap.date, audience))
            .collect()
    };
    let mut layers = vec![layer(
        "risk",
        "Civilian risk",
        Kind::MultiPolygon,
        cells(false),
    )];
    if audience.sees_deployments() {
        layers.push(layer(
            "gaps",
            "Coverage gaps",
            Kind::MultiPolygon,
            cells(true),
        ));
        let active = crate::coverage::snapshot_bases(&bases, &snap, &config.coverage);
        let features = active.iter().map(|a| features::base(a, &snap.date));
        layers.push(layer("bases", "Bases", Kind::Point, features.collect()));
    }
    let features = events.iter().map(features::event).collect();
    layers.push(layer("events", "Events", Kind::Point, features));
    let features = features::areas(&snap, &areas, &area_cells, audience, None);
    layers.push(layer("areas", "Areas", Kind::MultiPolygon, features));
    let sites = IdpSite::known_on(&idp, day);
    if !sites.is_empty() {
        let features = sites
            .iter()
            .map(|s| features::idp_site(s, &snap.date))
            .collect();
        layers.push(layer("idp_sites", "IDP sites", Kind::Point, features));
    }
    let qml = tier_qml();
    for l in layers
        .iter_mut()
        .filter(|l| l.name == "risk" || l.name == "gaps")
    {
        l.qml = Some(qml.clone());
    }

    let stem = format!("vigil-{}", snap.date);
    let gpkg = out.join(format!("{stem}.gpkg"));
    let description = format!("Vigil snapshot {} ({})", snap.date, snap.info.sha256);
    geopackage::write(&gpkg, &description, &layers)?;
    let qml_path = out.join("vigil-tiers.qml");
    write_atomic(&qml_path, qml.as_bytes())?;
    let csv_path = out.join(format!("{stem}-grid.csv"));
    write_atomic(&csv_path, &grid_bytes(&snap, Format::Csv, audience)?)?;
    let tiles_path = out.join(format!("{stem}.pmtiles"));
    let archive = crate::output::pmtiles::snapshot_archive(&snap, &bases, config, audience)?;
    write_atomic(&tiles_path, &archive)?;

    let counts: Vec<(String, usize)> = layers
        .iter()
        .map(|l| (l.name.clone(), l.rows.len()))
        .collect();
    let readme = readme(&snap, &counts, audience, &stem);
    let readme_path = out.join("README.md");
    write_atomic(&readme_path, readme.as_bytes())?;

    let mut files = Vec::new();
    for p in [gpkg, tiles_path, csv_path, qml_path, readme_path] {
        let size = std::fs::metadata(&p).map_err(io(&p))?.len();
        files.push((p, size));
    }
    Ok(Kit {
        date: snap.date.clone(),
        files,
        layers: counts,
    })
}

fn readme(snap: &Snapshot, layers: &[(String, usize)], audience: Audience, stem: &str) -> String {
    let mut s = format!(
        "# Vigil field kit — {date}\n\n\
         Snapshot of {date}, version `{version}`. Everything here opens without a network.\n\n",
        date = snap.date,
        version = snap.info.sha256
    );
    s.push_str("## Files\n\n");
    let _ = writeln!(
        s,
        "- `{stem}.gpkg` — GeoPackage (EPSG:4326). Open it in QGIS (Layer › Add Layer › Add \
         Vector Layer) or ArcGIS Pro; the risk{} layer opens styled by tier.",
        if audience.sees_deployments() {
            " and gaps"
        } else {
            ""
        }
    );
    for (name, n) in layers {
        let _ = writeln!(s, "  - `{name}`: {n} features");
    }
    let _ = writeln!(
        s,
        "- `{stem}.pmtiles` — the day's vector tiles (risk{}); open it in the web map \
         (`/map`, “Open a tile archive”) or QGIS 3.32+ (Vector Tile layer from a file).",
        if audience.sees_deployments() {
            ", gaps"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "- `{stem}-grid.csv` — every cell of the grid, H3 index in `h3`, one row per cell."
    );
    let _ = writeln!(
        s,
        "- `vigil-tiers.qml` — the tier style, for any layer with a `tier` field."
    );
    s.push_str("\n## Sources and attribution\n\n");
    for a in &snap.attribution {
        let _ = writeln!(s, "- {a}");
    }
    s.push_str("\n## Handling\n\n");
    s.push_str(if audience.sees_deployments() {
        "This kit contains the positions of peacekeeping deployments (the `bases` layer and the \
         coverage fields). Handle it as the mission handles deployment data; make a kit without \
         them with `vigil export kit --risk-only`.\n"
    } else {
        "This kit was made with `--risk-only`: no deployment position, no coverage field.\n"
    });
    s.push_str(
        "\nMethod: docs/methodology.md of Vigil; tier thresholds and reach radii are those of \
         the configuration that scored this snapshot.\n",
    );
    s
}
