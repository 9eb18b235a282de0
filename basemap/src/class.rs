//! The classes of what the street map keeps, from OpenStreetMap tags, and from which zoom on
//! each is drawn (minor roads would only blur a map of a whole region).

use serde::Serialize;

/// What a line or an area of the street map is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    // In drawing order: the least important first, so major roads are drawn over minor ones.
    Building,
    Path,
    Track,
    Service,
    Minor,
    Tertiary,
    Secondary,
    Primary,
    Trunk,
    Motorway,
}

impl Class {
    /// The class of a way with this `highway=` value; none for what the map leaves out
    /// (proposed and disused roads, platforms, bus stops...).
    pub fn of_highway(value: &str) -> Option<Self> {
        let base = value.strip_suffix("_link").unwrap_or(value);
        Some(match base {
            "motorway" => Self::Motorway,
            "trunk" => Self::Trunk,
            "primary" => Self::Primary,
            "secondary" => Self::Secondary,
            "tertiary" => Self::Tertiary,
            "residential" | "unclassified" | "living_street" | "road" => Self::Minor,
            "service" => Self::Service,
            "track" => Self::Track,
            "path" | "footway" | "cycleway" | "pedestrian" | "steps" | "bridleway" => Self::Path,
            _ => return None,
        })
    }

    /// The lowest zoom at which it is drawn.
    pub fn min_zoom(self) -> u8 {
        match self {
            Self::Motorway => 0,
            Self::Trunk => 5,
            Self::Primary => 7,
            Self::Secondary => 9,
            Self::Tertiary => 10,
            Self::Minor => 12,
            Self::Track => 13,
            Self::Service | Self::Path => 14,
            Self::Building => 14,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_take_their_road_class_and_minor_roads_show_later() {
        assert_eq!(Class::of_highway("primary_link"), Some(Class::Primary));
        assert_eq!(Class::of_highway("living_street"), Some(Class::Minor));
        assert_eq!(Class::of_highway("proposed"), None);
        assert!(Class::Minor.min_zoom() > Class::Primary.min_zoom());
        assert!(Class::Building < Class::Motorway, "drawn first");
    }
}
