//! What scoring a range of days reads from the store, read once per run: the events alive
//! in the range, the areas, population, bases, climate, IDP sites and the fitted
//! normalisation and calibration.

use super::areas::AreaCells;
use super::events::{Ages, EventSet};
use super::ScoreError;
use crate::config::Config;
use crate::model::params::{Calibration, Normalisation};
use crate::model::rows::{Area, Base, ClimateValue, IdpSite, PopulationCell};
use crate::store::Store;

/// The store's tables a scoring run needs.
pub(super) struct Inputs {
    /// Events that count on some day of the range (from the look-back before `from`).
    pub(super) events: EventSet,
    /// The `area_cells` table.
    pub(super) area_cells: AreaCells,
    /// The areas.
    pub(super) areas: Vec<Area>,
    /// People per cell.
    pub(super) population: Vec<PopulationCell>,
    /// Deployments.
    pub(super) bases: Vec<Base>,
    /// Climate values.
    pub(super) climate: Vec<ClimateValue>,
    /// IDP sites.
    pub(super) idp: Vec<IdpSite>,
    /// The store's normalisation, else the configuration's defaults.
    pub(super) normalisation: Normalisation,
    /// The store's calibration.
    pub(super) calibration: Option<Calibration>,
}

impl Inputs {
    /// Reads what scoring the days `from..=to` needs.
    pub(super) fn read(
        store: &Store,
        config: &Config,
        from: i32,
        to: i32,
        forecast: bool,
    ) -> Result<Self, ScoreError> {
        let events_path = store.table_path("events")?.ok_or(ScoreError::NoEvents)?;
        let ages = Ages::of(&config.score);
        // The index's look-back, and the forecast's (three years) when it is computed.
        let mut read_from = ages.read_from(from);
        if forecast {
            read_from = read_from.min(from - crate::model::params::FEATURE_LOOKBACK_DAYS - 2);
        }
        Ok(Inputs {
            events: EventSet::load(&events_path, read_from, to, false)?,
            area_cells: AreaCells::load(store)?,
            areas: store.read()?,
            population: store.read()?,
            bases: store.read()?,
            climate: store.read()?,
            idp: store.read()?,
            normalisation: store
                .manifest()
                .normalisation
                .clone()
                .unwrap_or_else(|| Normalisation::defaults(&config.score)),
            calibration: store.manifest().calibration.clone(),
        })
    }
}
