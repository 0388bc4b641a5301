//! What is measured of a tensor and of its quantization: summary statistics ([`stats`]),
//! histograms ([`histogram`]) and error metrics such as MSE and SQNR ([`metrics`]).

pub mod histogram;
pub mod metrics;
pub mod stats;
