//! co_mem: partitions (placeholder, being written).
