//! vigil-scan's integration tests, one test binary: the built-in rules test themselves.

#![allow(clippy::disallowed_methods)] // Tests and benchmarks write their fixtures directly.

mod rules;
