//! The engine (being written).
pub mod result;
