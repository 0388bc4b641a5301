//! What the Explorer exports: its readouts and per-channel table as CSV and JSON, and the
//! quantized tensor as `.npy`. Plain text and bytes, so the browser only has to save them.

use serde::Serialize;

use crate::engine::views::explore::{ChannelView, Settings, View};
use crate::engine::io::npy;
use crate::engine::statistics::metrics::QuantMetrics;
use crate::engine::quantizer::qparams::{QParams, QRange};
use crate::engine::quantizer::quantize::{fake_quantize_into, fake_quantize_per_channel_into};
use crate::engine::tensor::{ChannelLayout, ShapeError};

/// The readouts of a view, as exported.
#[derive(Serialize)]
struct Readouts<'a> {
    tensor: &'a str,
    shape: &'a [usize],
    quant_min: i32,
    quant_max: i32,
    scale: Vec<f32>,
    zero_point: Vec<i32>,
    observed_min: &'a [f32],
    observed_max: &'a [f32],
    #[serde(flatten)]
    metrics: &'a QuantMetrics,
}

fn readouts<'a>(name: &'a str, shape: &'a [usize], v: &'a View) -> Readouts<'a> {
    Readouts {
        tensor: name,
        shape,
        quant_min: v.range.qmin,
        quant_max: v.range.qmax,
        scale: v.qparams.iter().map(|p| p.scale).collect(),
        zero_point: v.qparams.iter().map(|p| p.zero_point).collect(),
        observed_min: &v.observed.min,
        observed_max: &v.observed.max,
        metrics: &v.metrics,
    }
}

/// The readouts as pretty JSON (scale and zero point per channel, or one of each).
pub fn readouts_json(name: &str, shape: &[usize], v: &View) -> String {
    serde_json::to_string_pretty(&readouts(name, shape, v)).unwrap_or_default()
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The readouts as CSV: one row per channel (one for a per-tensor view), the tensor's metrics
/// repeated on each.
pub fn readouts_csv(name: &str, v: &View) -> String {
    let m = &v.metrics;
    let mut out = String::from(
        "tensor,channel,scale,zero_point,quant_min,quant_max,observed_min,observed_max,mse,clip_mse,round_mse,sqnr_db,max_abs_err,clipped_below,clipped_above,levels_used,count,non_finite\n",
    );
    let sqnr = m.sqnr_db.map_or_else(String::new, |v| v.to_string());
    for (c, p) in v.qparams.iter().enumerate() {
        let (lo, hi) = (v.observed.min.get(c).copied().unwrap_or(f32::NAN), v.observed.max.get(c).copied().unwrap_or(f32::NAN));
        out.push_str(&format!(
            "{},{c},{},{},{},{},{lo},{hi},{},{},{},{sqnr},{},{},{},{},{},{}\n",
            field(name),
            p.scale,
            p.zero_point,
            v.range.qmin,
            v.range.qmax,
            m.mse,
            m.clip_mse,
            m.round_mse,
            m.max_abs_err,
            m.clipped_below,
            m.clipped_above,
            m.levels_used,
            m.count,
            m.non_finite
        ));
    }
    out
}

/// The per-channel table as CSV.
pub fn channels_csv(name: &str, c: &ChannelView) -> String {
    let mut out = String::from("tensor,channel,min,max,range,sqnr_db_per_tensor_grid,sqnr_db_own_grid\n");
    let opt = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
    for (i, (lo, hi)) in c.mins.iter().zip(&c.maxs).enumerate() {
        out.push_str(&format!(
            "{},{i},{lo},{hi},{},{},{}\n",
            field(name),
            hi - lo,
            opt(c.channel_sqnr_tensor[i]),
            opt(c.channel_sqnr_own[i])
        ));
    }
    out
}

/// The fake-quantized tensor `x̂` (with the view's scales and zero points and the settings'
/// rounding) as a float32 `.npy` of the tensor's shape.
pub fn fake_quantized_npy(xs: &[f32], shape: &[usize], s: &Settings, qparams: &[QParams], range: QRange) -> Result<Vec<u8>, ShapeError> {
    let mut out = vec![0f32; xs.len()];
    if qparams.len() == 1 {
        fake_quantize_into(xs, qparams[0], range, s.rounding, &mut out);
    } else {
        fake_quantize_per_channel_into(xs, ChannelLayout::new(shape, 0, xs.len())?, qparams, range, s.rounding, &mut out)?;
    }
    Ok(npy::write_f32(shape, &out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::views::explore::{channels, explore, RangeSpec};
    use crate::engine::observer::{Granularity, ObserverKind};
    use crate::engine::quantizer::qparams::QScheme;
    use crate::engine::quantizer::rounding::Rounding;

    fn settings(granularity: Granularity) -> Settings {
        Settings {
            observer: ObserverKind::MinMax,
            scheme: QScheme::Affine,
            range: RangeSpec { bits: 8, unsigned: true, narrow: false, reduce_range: false, custom: None },
            granularity,
            rounding: Rounding::HalfEven,
            manual: None,
            bins: 16,
        }
    }

    #[test]
    fn readouts_round_trip_and_npy_reads_back_as_the_fake_quantized_tensor() {
        let xs = [-1.0f32, 0.0, 0.5, 2.0, 0.1, -0.3];
        let s = settings(Granularity::PerChannel { axis: 0 });
        let v = explore(&xs, &[2, 3], &s).unwrap();
        let json: serde_json::Value = serde_json::from_str(&readouts_json("w,1", &[2, 3], &v)).unwrap();
        assert_eq!(json["scale"].as_array().unwrap().len(), 2);
        assert_eq!(json["zero_point"][0], v.qparams[0].zero_point);
        assert_eq!(json["levels_used"], v.metrics.levels_used);
        let csv = readouts_csv("w,1", &v);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3, "header and one row per channel");
        assert!(lines[1].starts_with("\"w,1\",0,"), "{}", lines[1]);
        assert_eq!(lines[1].split(',').count(), lines[0].split(',').count() + 1, "the quoted name holds one comma");
        let bytes = fake_quantized_npy(&xs, &[2, 3], &s, &v.qparams, v.range).unwrap();
        let t = npy::read("x.npy", "x", &bytes).unwrap();
        assert_eq!(t.shape, vec![2, 3]);
        let mut want = vec![0f32; 6];
        fake_quantize_per_channel_into(&xs, ChannelLayout::new(&[2, 3], 0, 6).unwrap(), &v.qparams, v.range, Rounding::HalfEven, &mut want).unwrap();
        assert_eq!(t.data, want);
        let c = channels(&xs, &[2, 3], 0, QScheme::Affine, QRange::QUINT8).unwrap();
        assert_eq!(channels_csv("w", &c).lines().count(), 3);
    }
}
