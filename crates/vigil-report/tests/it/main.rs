//! vigil-report's integration tests, one test binary: the SARIF writer against the official schema.

#![allow(clippy::disallowed_methods)] // Tests and benchmarks write their fixtures directly.

mod sarif_schema;
