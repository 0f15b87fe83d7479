//! vane-snapshot-builder (being written).
