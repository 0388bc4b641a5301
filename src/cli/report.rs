//! What the CLI prints: calibration reports and the human tables.

use serde::Serialize;

use crate::engine::views::analysis::Analysis;
use crate::engine::io::onnx::quantized::Stored;
use crate::engine::views::inspect::TensorReport;
use crate::engine::statistics::metrics::{measure, measure_per_channel};
use crate::engine::observer::{observe_batches, Common, Granularity, ObserverKind};
use crate::engine::quantizer::qparams::{QRange, QScheme};
use crate::engine::synth::Dist;
use crate::engine::tensor::{ChannelLayout, Tensor};
use crate::ui::format::{percent, sig4};

/// `quantscope qparams --json`: one tensor's calibration.
#[derive(Serialize, Debug)]
pub struct QparamsReport {
    pub tensor: String,
    pub shape: Vec<usize>,
    pub observer: String,
    pub qscheme: String,
    pub quant_min: i32,
    pub quant_max: i32,
    pub min_val: Vec<f32>,
    pub max_val: Vec<f32>,
    pub scale: Vec<f32>,
    pub zero_point: Vec<i32>,
    /// Of the fake-quantized tensor against the original (finite values).
    pub mse: f64,
    pub sqnr_db: Option<f64>,
    pub non_finite: usize,
}

/// Calibrates `t` and measures the result.
pub fn calibrate(
    file: &str,
    t: &Tensor,
    kind: &ObserverKind,
    scheme: QScheme,
    range: QRange,
    granularity: Granularity,
    batch_axis: Option<usize>,
) -> Result<QparamsReport, String> {
    let fail = |e: String| format!("{file}, tensor “{}”: {e}", t.name);
    let mut obs = kind.build(Common { scheme, range }, granularity).map_err(|e| fail(e.to_string()))?;
    observe_batches(obs.as_mut(), &t.data, &t.shape, batch_axis).map_err(|e| fail(e.to_string()))?;
    let ranges = obs.ranges();
    let params = obs.qparams();
    let metrics = match granularity {
        Granularity::PerTensor => measure(&t.data, params[0], range),
        Granularity::PerChannel { axis } => {
            let layout = ChannelLayout::new(&t.shape, axis, t.data.len()).map_err(|e| fail(e.to_string()))?;
            measure_per_channel(&t.data, layout, &params, range).map_err(|e| fail(e.to_string()))?
        }
    };
    let qscheme = format!(
        "{}_{}",
        if matches!(granularity, Granularity::PerTensor) { "per_tensor" } else { "per_channel" },
        if scheme == QScheme::Affine { "affine" } else { "symmetric" }
    );
    Ok(QparamsReport {
        tensor: t.name.clone(),
        shape: t.shape.clone(),
        observer: obs.name().to_string(),
        qscheme,
        quant_min: range.qmin,
        quant_max: range.qmax,
        min_val: ranges.min,
        max_val: ranges.max,
        scale: params.iter().map(|p| p.scale).collect(),
        zero_point: params.iter().map(|p| p.zero_point).collect(),
        mse: metrics.mse,
        sqnr_db: metrics.sqnr_db,
        non_finite: obs.non_finite(),
    })
}

#[derive(Serialize)]
pub struct SynthReport<'a> {
    pub dist: Dist,
    pub n: usize,
    pub seed: u64,
    #[serde(flatten)]
    pub analysis: &'a Analysis,
}

/// Left-aligned columns.
pub(super) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string()
    };
    std::iter::once(line(header.iter().map(|h| h.to_string()).collect()))
        .chain(rows.iter().map(|r| line(r.clone())))
        .collect::<Vec<_>>()
        .join("\n")
}

fn list<T: std::fmt::Display>(xs: &[T]) -> String {
    if xs.len() <= 4 {
        xs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    } else {
        format!("{}, {}, … ({} channels)", xs[0], xs[1], xs.len())
    }
}

/// A row of `inspect --json`, with `"quantized"` for a tensor a quantized model stores as
/// integers: its op and node, codes' type, scales (`null` when computed at run time), zero
/// points and axis (the row's values are the dequantized ones).
pub fn inspect_json(r: &TensorReport, stored: Option<&Stored>) -> Result<serde_json::Value, String> {
    let mut v = serde_json::to_value(r).map_err(|e| e.to_string())?;
    if let (Some(s), Some(map)) = (stored, v.as_object_mut()) {
        let q = serde_json::json!({ "op": s.op, "node": s.node, "dtype": s.dtype, "scale": s.scale, "zero_point": s.zero_point, "axis": s.axis });
        map.insert("quantized".into(), q);
    }
    Ok(v)
}

/// A stored tensor's type in the table: `int8 s=0.0123 z=0`, `int8 16 scales axis 0`, or
/// `uint8 scale at run time`.
pub fn stored_text(s: &Stored) -> String {
    match (&s.scale, s.axis) {
        (None, _) => format!("{} scale at run time", s.dtype),
        (Some(v), Some(axis)) => format!("{} {} scales axis {axis}", s.dtype, v.len()),
        (Some(v), None) => format!("{} s={} z={}", s.dtype, sig4(Some(v[0] as f64)), s.zero_point[0]),
    }
}

/// A GGUF file's facts, above its tensor table.
pub fn gguf_preamble(h: &crate::engine::io::gguf::Header) -> String {
    let f = h.facts();
    format!(
        "GGUF v{} · {} · {} · quantization version {} · {} tensors, {:.1} MB of data\n",
        f.version,
        f.architecture,
        f.file_type,
        f.quantization_version,
        f.tensors,
        f.bytes as f64 / 1e6
    )
}

pub fn inspect_table(rows: &[TensorReport]) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let s = &r.summary;
            vec![
                r.name.clone(),
                format!("{:?}", r.shape),
                r.dtype.clone(),
                sig4(Some(s.min as f64).filter(|_| s.count > 0)),
                sig4(Some(s.max as f64).filter(|_| s.count > 0)),
                sig4(Some(s.mean)),
                sig4(Some(s.std)),
                sig4(Some(s.absmax as f64)),
                format!("{}/{}", s.nan, s.inf),
                sig4(r.channel_range_ratio),
            ]
        })
        .collect();
    table(&["tensor", "shape", "dtype", "min", "max", "mean", "std", "absmax", "nan/inf", "ch-range ratio"], &body)
}

pub fn qparams_table(reports: &[QparamsReport]) -> String {
    let body: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            vec![
                r.tensor.clone(),
                r.observer.clone(),
                r.qscheme.clone(),
                format!("[{}, {}]", r.quant_min, r.quant_max),
                list(&r.scale.iter().map(|v| sig4(Some(*v as f64))).collect::<Vec<_>>()),
                list(&r.zero_point),
                sig4(Some(r.mse)),
                sig4(r.sqnr_db),
            ]
        })
        .collect();
    table(&["tensor", "observer", "qscheme", "codes", "scale", "zero point", "MSE", "SQNR dB"], &body)
}

pub fn synth_table(a: &Analysis) -> String {
    let (lo, hi) = a.qparams.representable_range(a.range);
    let m = &a.metrics;
    let rows = [
        ("values", a.summary.count.to_string()),
        ("min / max", format!("{} / {}", a.summary.min, a.summary.max)),
        ("codes", format!("[{}, {}]", a.range.qmin, a.range.qmax)),
        ("scale", format!("{:e}", a.qparams.scale)),
        ("zero point", a.qparams.zero_point.to_string()),
        ("clip range", format!("[{lo}, {hi}]")),
        ("SQNR dB", sig4(m.sqnr_db)),
        ("MSE", sig4(Some(m.mse))),
        ("max |error|", sig4(Some(m.max_abs_err))),
        ("clipped", percent(m.clipped_fraction())),
        ("levels used", format!("{} / {}", m.levels_used, a.range.levels())),
    ];
    rows.iter().map(|(k, v)| format!("{k:<12} {v}")).collect::<Vec<_>>().join("\n")
}

/// The Explorer's readouts as lines of text.
/// A number format's readouts for a link (`quantscope view` of a link with `fmt=`), as JSON.
pub fn format_view_json(name: &str, shape: &[usize], v: &crate::engine::views::formats::FormatView) -> String {
    let m = &v.metrics;
    let worst: Vec<serde_json::Value> = v.worst.iter().map(|w| serde_json::json!({ "block": w.block, "row": w.row, "col": w.col, "sse": w.sse, "share": w.share })).collect();
    let j = serde_json::json!({
        "tensor": name, "shape": shape, "format": v.label, "bits_per_weight": v.bits_per_weight,
        "mse": m.mse, "clip_mse": m.clip_mse, "round_mse": m.round_mse, "sqnr_db": m.sqnr_db, "max_abs_error": m.max_abs_err,
        "saturated": m.clipped_fraction(), "flushed": v.flushed, "count": m.count, "non_finite": m.non_finite,
        "group": v.group, "blocks": v.blocks, "block": v.block, "grid": v.grid, "worst": worst,
    });
    serde_json::to_string_pretty(&j).unwrap_or_default()
}

/// A number format's readouts for a link, as the Explorer lists them.
pub fn format_view_table(name: &str, shape: &[usize], v: &crate::engine::views::formats::FormatView) -> String {
    use crate::ui::format::{percent, sig4};
    let m = &v.metrics;
    [
        format!("tensor            {name} {shape:?}"),
        format!("format            {} ({:.4} bits per weight)", v.label, v.bits_per_weight),
        format!("SQNR (dB)         {}", sig4(m.sqnr_db)),
        format!("MSE               {} (clipping {}, rounding {})", sig4(Some(m.mse)), sig4(Some(m.clip_mse)), sig4(Some(m.round_mse))),
        format!("max |error|       {}", sig4(Some(m.max_abs_err))),
        format!("saturated         {}", percent(m.clipped_fraction())),
        format!("flushed to zero   {}", v.flushed),
        format!("blocks            {} of {} values; most error in {}", v.blocks, v.group, v.worst.first().map_or_else(|| "none".into(), |w| format!("block {} (row {}, column {})", w.block, w.row, w.col))),
        format!("NaN/Inf skipped   {}", m.non_finite),
    ]
    .join("\n")
}

pub fn view_table(name: &str, shape: &[usize], v: &crate::engine::views::explore::View) -> String {
    use crate::ui::format::{percent, sig4};
    let m = &v.metrics;
    let p = v.qparams[0];
    let (a, b) = v.clip_ranges()[0];
    let suffix = if v.qparams.len() > 1 { format!(" (channel 0 of {})", v.qparams.len()) } else { String::new() };
    [
        format!("tensor            {name} {shape:?}"),
        format!("{:<18}{}", format!("scale{suffix}"), sig4(Some(p.scale as f64))),
        format!("{:<18}{}", format!("zero point{suffix}"), p.zero_point),
        format!("observer's range  [{}, {}]", sig4(Some(v.observed.min[0] as f64)), sig4(Some(v.observed.max[0] as f64))),
        format!("clip range        [{}, {}]", sig4(Some(a as f64)), sig4(Some(b as f64))),
        format!("SQNR (dB)         {}", sig4(m.sqnr_db)),
        format!("MSE               {} (clipping {}, rounding {})", sig4(Some(m.mse)), sig4(Some(m.clip_mse)), sig4(Some(m.round_mse))),
        format!("max |error|       {}", sig4(Some(m.max_abs_err))),
        format!("clipped           {}", percent(m.clipped_fraction())),
        format!("levels used       {} / {}", m.levels_used, v.range.levels()),
        format!("NaN/Inf skipped   {}", m.non_finite),
    ]
    .join("\n")
}
