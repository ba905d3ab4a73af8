//! The layers Vigil publishes, named once: each is an OGC API – Features collection, some
//! are also vector-tile layers, and some show deployment positions (only callers holding
//! `deployments:read` may read those).

/// A published layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// Every cell of the snapshot with its risk (`risk`).
    Risk,
    /// High or critical cells no base reaches (`coverage-gaps`).
    CoverageGaps,
    /// Bases active on the snapshot date (`bases`).
    Bases,
    /// Events of the snapshot's scoring window (`events`).
    Events,
    /// Loaded areas with their summaries (`areas`).
    Areas,
    /// Sites of displaced people known on the snapshot date (`idp-sites`).
    IdpSites,
}

impl Layer {
    /// Every layer, in the order of `/collections`.
    pub const ALL: [Layer; 6] = [
        Layer::Risk,
        Layer::CoverageGaps,
        Layer::Bases,
        Layer::Events,
        Layer::Areas,
        Layer::IdpSites,
    ];

    /// The identifier in URLs (`/collections/{id}`, `/tiles/{id}/…`).
    pub fn id(self) -> &'static str {
        match self {
            Layer::Risk => "risk",
            Layer::CoverageGaps => "coverage-gaps",
            Layer::Bases => "bases",
            Layer::Events => "events",
            Layer::Areas => "areas",
            Layer::IdpSites => "idp-sites",
        }
    }

    /// The layer of an identifier.
    pub fn from_id(id: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.id() == id)
    }

    /// Whether the layer shows deployments (gaps reveal where no base is; bases where they
    /// are).
    pub fn shows_deployments(self) -> bool {
        matches!(self, Layer::CoverageGaps | Layer::Bases)
    }

    /// Whether the layer is also served as vector tiles.
    pub fn tiled(self) -> bool {
        matches!(self, Layer::Risk | Layer::CoverageGaps | Layer::Bases)
    }

    /// The tiled layers' identifiers.
    pub fn tiled_ids() -> Vec<&'static str> {
        Layer::ALL
            .into_iter()
            .filter(|l| l.tiled())
            .map(Layer::id)
            .collect()
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip_and_the_sensitive_layers_are_tiled() {
        for l in Layer::ALL {
            assert_eq!(Layer::from_id(l.id()), Some(l));
        }
        assert_eq!(Layer::from_id("nope"), None);
        assert_eq!(Layer::tiled_ids(), ["risk", "coverage-gaps", "bases"]);
        assert!(Layer::ALL
            .into_iter()
            .filter(|l| l.shows_deployments())
            .all(Layer::tiled));
    }
}
