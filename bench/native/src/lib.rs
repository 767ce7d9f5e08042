//! Code shared by the native side of node-mio's benchmarks (`src/bin/*`):
//! command-line options, CPU time, the measured window, the JSON line each
//! tool prints and its exit status, and polling through signals.

pub mod args;
pub mod cpu;
pub mod json;
pub mod poll;
pub mod window;
