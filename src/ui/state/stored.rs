//! The Explorer's grid for a tensor a quantized model stores ([`Stored`]): the file's own.

use super::{Codes, ObsKind, UrlState, MAX_BITS};
use crate::engine::io::onnx::quantized::Stored;
use crate::engine::quantizer::qparams::QScheme;

impl UrlState {
    /// The state with `s`'s grid: its bits and signed or unsigned codes, and
    /// - one scale: the range its codes span, `[(qmin − z)·s, (qmax − z)·s]`, set by hand, so that
    ///   the grid drawn is the stored one and every value sits on a code (with no stored scale,
    ///   the model computes it at run time: the codes less the zero point, on a grid of step 1);
    /// - one scale per channel: min/max per channel along its axis, symmetric when every zero
    ///   point is 0 (the grid a converter's per-channel weights are usually drawn on).
    ///
    /// Types wider than [`MAX_BITS`] (an int32 bias) keep the current grid.
    pub fn with_stored_grid(self, s: &Stored) -> UrlState {
        let bits = match s.dtype.as_str() {
            "int8" | "uint8" => 8,
            "int16" | "uint16" => 16,
            _ => return self,
        };
        debug_assert!(bits <= MAX_BITS);
        let codes = if s.dtype.starts_with('u') { Codes::Unsigned } else { Codes::Signed };
        let base = UrlState { bits, codes, narrow: false, reduce_range: false, quant_min: None, quant_max: None, observer: ObsKind::MinMax, ..self };
        match (s.axis, s.code_span()) {
            (None, Some((lo, hi))) => UrlState { per_channel: false, scheme: QScheme::Affine, lo: Some(lo), hi: Some(hi), ..base },
            (axis, _) => {
                let scheme = if s.zero_point.iter().all(|&z| z == 0) { QScheme::Symmetric } else { QScheme::Affine };
                UrlState { per_channel: true, axis: axis.unwrap_or(0), scheme, lo: None, hi: None, ..base }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::io::onnx::read_with_uses;
    use crate::engine::quantizer::quantize::quantize_one;
    use crate::engine::quantizer::rounding::Rounding;

    /// Every per-tensor quantized weight of onnxruntime's QOperator model, opened on its stored
    /// grid: the Explorer's quantizer gives back the stored codes, every one.
    #[test]
    fn a_stored_grid_gives_back_the_stored_codes() {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/models/ppocr-cls-v2-qop.onnx")).unwrap();
        let read = read_with_uses("qop.onnx", &bytes, false).unwrap();
        let mut checked = 0;
        for t in &read.tensors {
            let Some(s) = read.stored.get(&t.name).filter(|s| s.axis.is_none() && s.dtype == "uint8") else { continue };
            let url = UrlState::default().with_stored_grid(s);
            let settings = url.settings(64);
            let p = settings.manual_grid().unwrap().unwrap();
            let range = settings.range.range().unwrap();
            assert_eq!((range.qmin, range.qmax, p.zero_point), (0, 255, s.zero_point[0]), "{}", t.name);
            let codes: Vec<i32> = t.data.iter().enumerate().map(|(i, &x)| quantize_one(x, p, range, Rounding::HalfEven, i)).collect();
            assert_eq!(codes, s.codes, "{}: the stored codes", t.name);
            checked += 1;
        }
        assert!(checked >= 50, "the model's uint8 weights: {checked}");
        // Per channel: the axis and a symmetric scheme for zero points of 0.
        let qdq = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/models/ppocr-cls-v2-qdq.onnx")).unwrap();
        let read = read_with_uses("qdq.onnx", &qdq, false).unwrap();
        let s = read.stored.values().find(|s| s.axis.is_some() && s.dtype == "int8").unwrap();
        let url = UrlState::default().with_stored_grid(s);
        assert!(url.per_channel && url.scheme == QScheme::Symmetric && url.codes == Codes::Signed && url.lo.is_none());
        // An int32 bias keeps the grid it had.
        let bias = read.stored.values().find(|s| s.dtype == "int32").unwrap();
        assert_eq!(UrlState::default().with_stored_grid(bias), UrlState::default());
    }
}
