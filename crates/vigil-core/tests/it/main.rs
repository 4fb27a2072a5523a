//! vigil-core's integration tests, one test binary: the guard rails over the workspace's public API.

#![allow(clippy::disallowed_methods)] // Tests and benchmarks write their fixtures directly.

mod public_errors;
