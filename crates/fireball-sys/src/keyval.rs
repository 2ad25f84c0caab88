//! keyval (being written).
