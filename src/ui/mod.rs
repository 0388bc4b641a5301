//! The single-page app: Yew components, plotters charts and the URL state.
//!
//! Numbers come from [`crate::engine`]; nothing numeric is computed here beyond layout.

pub mod about;
pub mod app;
pub mod bench;
pub mod charts;
pub mod download;
pub mod explorer;
pub mod files;
pub mod format;
pub mod lab;
pub mod learn;
pub mod panic;
pub mod state;
pub mod sweep;
pub mod worker_client;

pub use app::App;
