//! hal (being written).
