//! scrub: a batch compliance scrubber with one pure evaluator.
//!
//! Data flows one way:
//!
//! ```text
//! files ──► io (CSV / Parquet / JSON readers) ──► model (DTOs → validated domain types)
//!                                                   │
//!                                                   ▼
//!                        engine::Engine (indexes built once from rules + history)
//!                                                   │
//!                                                   ▼
//!                 engine::evaluate(&Engine, &Record, now) -> Decision   (pure)
//!                                                   │
//!                            batch (rayon over row chunks) ──► io writers, summary
//! ```
//!
//! Modules: [`normalize`] (SPEC §2), [`time`] (SPEC §1), [`model`] (API shapes,
//! validation), [`engine`] (indexes and the checks of SPEC §3–§9), [`io`]
//! (readers and writers), [`batch`] (the `scrub run` pipeline), [`cli`].

pub mod batch;
pub mod cli;
pub mod engine;
pub mod gen;
pub mod io;
pub mod model;
pub mod normalize;
pub mod pages;
pub mod progress;
pub mod server;
pub mod time;
