//! What a caller without the `deployments:read` scope may not see: the one list of the
//! fields and layers that say where peacekeepers are. Every output that carries deployment
//! positions — served features, tiles, grids, explanations, alerts, exports — asks here.

use super::layer::Layer;
use serde_json::{Map, Value};

/// The snapshot fields that say where peacekeepers are.
pub const DEPLOYMENT_FIELDS: [&str; 10] = [
    "covered",
    "presence",
    "nearest_base",
    "nearest_base_km",
    "mission",
    "troops_in_reach",
    "troops_per_1000",
    "gap",
    "under_covered",
    "gap_severity",
];

/// The totals (per area, summary row or tile unit) that count gaps or coverage.
pub const DEPLOYMENT_TOTALS: [&str; 10] = [
    "covered_cells",
    "gap_cells",
    "under_covered_cells",
    "population_in_gaps",
    "civilian_fatalities_30d_in_gaps",
    "civilian_fatalities_90d_in_gaps",
    "gap_area_share",
    "gap_hit_rate_30d",
    "gap_hit_rate_90d",
    "new_gap",
];

/// Who reads: with or without the deployment positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Holds `deployments:read` (or `admin`): sees everything.
    WithDeployments,
    /// Sees risk only.
    RiskOnly,
}

impl Audience {
    /// The audience of a caller who does or does not hold `deployments:read`.
    pub fn of(sees_deployments: bool) -> Self {
        if sees_deployments {
            Audience::WithDeployments
        } else {
            Audience::RiskOnly
        }
    }

    /// Whether this audience sees deployment positions.
    pub fn sees_deployments(self) -> bool {
        self == Audience::WithDeployments
    }

    /// Whether this audience may see the field or total `name`.
    pub fn may_see(self, name: &str) -> bool {
        self.sees_deployments() || !is_deployment_field(name)
    }

    /// Whether this audience may read the collection or tile layer `layer`.
    pub fn may_read_layer(self, layer: Layer) -> bool {
        self.sees_deployments() || !layer.shows_deployments()
    }

    /// An alert episode as this audience may see it: none of the coverage-gap episodes
    /// without deployments, and risk episodes without their nearest base and missions.
    pub fn episode(self, e: &super::episode::Episode) -> Option<super::episode::Episode> {
        if self.sees_deployments() {
            return Some(e.clone());
        }
        if e.kind.is_deployment_sensitive() {
            return None;
        }
        let mut e = e.clone();
        e.nearest_base = None;
        e.missions.clear();
        Some(e)
    }

    /// Removes from `m` what this audience may not see.
    pub fn redact(self, m: &mut Map<String, Value>) {
        if !self.sees_deployments() {
            m.retain(|k, _| !is_deployment_field(k));
        }
    }
}

/// Whether `name` is a deployment field or a deployment total.
pub fn is_deployment_field(name: &str) -> bool {
    DEPLOYMENT_FIELDS.contains(&name) || DEPLOYMENT_TOTALS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn risk_only_loses_every_deployment_field_and_nothing_else() {
        let mut m = Map::new();
        for f in DEPLOYMENT_FIELDS.iter().chain(&DEPLOYMENT_TOTALS) {
            m.insert((*f).into(), json!(1));
        }
        m.insert("risk".into(), json!(0.5));
        let mut seen = m.clone();
        Audience::WithDeployments.redact(&mut seen);
        assert_eq!(seen, m);
        Audience::RiskOnly.redact(&mut m);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["risk"]);
        assert!(!Audience::RiskOnly.may_read_layer(Layer::Bases));
        assert!(Audience::RiskOnly.may_read_layer(Layer::Risk));
    }
}
