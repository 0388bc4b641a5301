//! The quantizer: the affine grid's scale and zero point ([`qparams`]), the rounding rules
//! ([`rounding`]), quantize, dequantize and fake-quantize ([`quantize`]), and the integer-only
//! requantization of a 32-bit accumulator ([`requant`]).

pub mod qparams;
pub mod quantize;
pub mod requant;
pub mod rounding;
