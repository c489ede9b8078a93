//! `SharedIndex`: the served index, swapped whole when the database is reloaded.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::FeatureIndex;

/// A cheap, cloneable handle to the index being served.
///
/// Every clone sees the same index; [`SharedIndex::replace`] swaps in a new one for calls
/// that start afterwards, while calls holding the old `Arc` finish on it. The index itself
/// stays immutable.
#[derive(Debug, Clone)]
pub struct SharedIndex {
    current: Arc<ArcSwap<FeatureIndex>>,
}

impl SharedIndex {
    /// Returns a handle serving `index`.
    pub fn new(index: Arc<FeatureIndex>) -> Self {
        Self {
            current: Arc::new(ArcSwap::new(index)),
        }
    }

    /// Returns the index being served now; it stays valid however long it is held.
    pub fn current(&self) -> Arc<FeatureIndex> {
        self.current.load_full()
    }

    /// Returns `read` applied to the index being served now, without taking a counted
    /// reference: for a short read such as one lookup.
    pub fn read<R>(&self, read: impl FnOnce(&FeatureIndex) -> R) -> R {
        read(&self.current.load())
    }

    /// Serves `index` from now on and returns the index it replaces.
    pub fn replace(&self, index: Arc<FeatureIndex>) -> Arc<FeatureIndex> {
        self.current.swap(index)
    }
}

impl From<Arc<FeatureIndex>> for SharedIndex {
    fn from(index: Arc<FeatureIndex>) -> Self {
        Self::new(index)
    }
}

impl From<FeatureIndex> for SharedIndex {
    fn from(index: FeatureIndex) -> Self {
        Self::new(Arc::new(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::GeoPoint;
    use crate::index::FeatureIndexBuilder;

    fn index_with(name: &str) -> Arc<FeatureIndex> {
        let mut builder = FeatureIndexBuilder::new();
        builder
            .push(GeoPoint::new(1, 1).expect("a valid point"), name)
            .expect("room for a feature");
        Arc::new(builder.build())
    }

    fn name_at_1_1(index: &FeatureIndex) -> String {
        let point = GeoPoint::new(1, 1).expect("a valid point");
        index
            .first_at(point)
            .map(|f| f.name.to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn a_replacement_is_seen_by_every_clone_and_held_indexes_stay_valid() {
        let shared = SharedIndex::new(index_with("old"));
        let clone = shared.clone();
        let held = shared.current();
        let replaced = clone.replace(index_with("new"));
        assert_eq!(name_at_1_1(&replaced), "old");
        assert_eq!(name_at_1_1(&shared.current()), "new");
        assert_eq!(shared.read(name_at_1_1), "new");
        assert_eq!(name_at_1_1(&held), "old");
    }
}
