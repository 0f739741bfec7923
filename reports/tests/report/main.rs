//! Integration tests of swarm-reports: one binary, a module per area.

mod load;
mod records;
mod render;
mod time_axis;
