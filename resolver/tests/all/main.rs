//! The resolver's integration tests, one binary, a module per area (unit
//! tests live beside the code in `src/`).

mod split_properties;
