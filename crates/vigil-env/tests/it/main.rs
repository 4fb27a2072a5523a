//! vigil-env's integration tests, one test binary: the library workflow and property tests of rotation and the lossless model.

#![allow(clippy::disallowed_methods)] // Tests and benchmarks write their fixtures directly.

mod project;
mod rotation;
mod roundtrip;
