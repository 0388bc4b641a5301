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
pub mod i18n;
pub mod lab;
pub mod learn;
pub mod model;
pub mod panic;
pub mod state;
pub mod sweep;
#[cfg(all(test, not(target_arch = "wasm32")))]
pub mod url_strategy;
pub mod worker_client;

pub use app::App;
