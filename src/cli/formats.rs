//! `quantscope quantize` (one tensor in one format) and `quantscope formats` (every format side
//! by side).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::report::table;
use crate::engine::formats::compare::{compare_one, mark_pareto, to_csv, Row};
use crate::engine::formats::mx::ScaleRounding;
use crate::engine::formats::parts::{metrics_threads, Sink};
use crate::engine::formats::scaled::Scale;
use crate::engine::formats::spec::{Format, Params};
use crate::engine::io::npy;
use crate::engine::quantizer::qparams::QScheme;
use crate::engine::tensor::Tensor;
use crate::ui::format::{percent, sig4};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleArg {
    Tensor,
    PerChannel,
    None,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundingArg {
    Floor,
    Ceil,
    Even,
    Rceil,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemeArg {
    Affine,
    Symmetric,
}

/// The tensor to quantize.
#[derive(Args, Debug)]
pub struct TensorOpts {
    pub file: PathBuf,
    /// The tensor (may be left out for a file of one tensor).
    #[arg(long)]
    pub tensor: Option<String>,
}

#[derive(Args, Debug)]
pub struct QuantizeArgs {
    #[command(flatten)]
    pub tensor: TensorOpts,
    /// int, fp8-e4m3, fp8-e5m2, fp6-e3m2, fp6-e2m3, fp4-e2m1, mxfp8-e4m3, mxfp8-e5m2, mxfp6-e3m2,
    /// mxfp6-e2m3, mxfp4, mxint8, nvfp4, nf4, nf4-dq, q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k,
    /// q4_k, q5_k, q6_k.
    #[arg(long)]
    pub format: String,
    /// int: bits per code, 2 to 8.
    #[arg(long, default_value_t = 8)]
    pub bits: u32,
    /// int: affine (unsigned codes) or symmetric (signed codes).
    #[arg(long, value_enum, default_value_t = SchemeArg::Affine)]
    pub scheme: SchemeArg,
    /// int: a scale and zero point per group of this many values along the last axis.
    #[arg(long)]
    pub group_size: Option<usize>,
    /// int and fp8/fp6/fp4: one scale per tensor, per channel (row), or none (a raw cast).
    #[arg(long, value_enum, default_value_t = ScaleArg::Tensor)]
    pub scale: ScaleArg,
    /// MX: how the shared exponent is rounded (floor is the OCP specification's).
    #[arg(long, value_enum, default_value_t = RoundingArg::Floor)]
    pub scale_rounding: RoundingArg,
    /// Write the dequantized values (float32, the tensor's shape) to this .npy file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct FormatsArgs {
    #[command(flatten)]
    pub tensor: TensorOpts,
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    #[arg(long)]
    pub csv: bool,
    /// Also draws the comparison (SQNR against bits per weight, the Pareto front joined) as an
    /// SVG file, the chart the Explorer draws.
    #[arg(long, value_name = "CHART.svg")]
    pub svg: Option<std::path::PathBuf>,
}

impl QuantizeArgs {
    fn params(&self) -> Params {
        Params {
            bits: self.bits,
            scheme: if self.scheme == SchemeArg::Affine { QScheme::Affine } else { QScheme::Symmetric },
            group: self.group_size,
            scale: match self.scale {
                ScaleArg::Tensor => Scale::Tensor,
                ScaleArg::PerChannel => Scale::Row,
                ScaleArg::None => Scale::None,
            },
            rounding: match self.scale_rounding {
                RoundingArg::Floor => ScaleRounding::Floor,
                RoundingArg::Ceil => ScaleRounding::Ceil,
                RoundingArg::Even => ScaleRounding::Even,
                RoundingArg::Rceil => ScaleRounding::Rceil,
            },
        }
    }
}

/// The tensor `opts` names, read from its file (only that tensor, from a .safetensors or GGUF).
fn chosen(opts: &TensorOpts) -> Result<Tensor, String> {
    super::stream::open(&opts.file, false)?.tensor(opts.tensor.as_deref(), &opts.file.display().to_string())
}

#[derive(Args, Debug)]
pub struct DequantArgs {
    #[command(flatten)]
    pub tensor: TensorOpts,
    /// The .npy file to write (float32, the tensor's shape in NumPy order).
    #[arg(long)]
    pub out: PathBuf,
}

/// `quantscope dequant`.
pub fn dequant_cmd(a: &DequantArgs) -> Result<String, String> {
    let t = chosen(&a.tensor)?;
    std::fs::write(&a.out, npy::write_f32(&t.shape, &t.data)).map_err(|e| format!("{}: {e}", a.out.display()))?;
    Ok(format!("{} ({}, {:?}) → {}", t.name, t.stored_as, t.shape, a.out.display()))
}

/// A float32 `.npy` of a given shape written a part at a time, from any thread.
struct NpyOut {
    path: PathBuf,
    file: std::fs::File,
    /// Where the values start.
    data: u64,
    /// The first write that failed.
    error: std::sync::Mutex<Option<String>>,
}

impl NpyOut {
    fn create(path: &std::path::Path, shape: &[usize]) -> Result<NpyOut, String> {
        let fail = |e: std::io::Error| format!("{}: {e}", path.display());
        let header = npy::f32_header(shape);
        let file = std::fs::File::create(path).map_err(fail)?;
        std::os::unix::fs::FileExt::write_all_at(&file, &header, 0).map_err(fail)?;
        Ok(NpyOut { path: path.to_path_buf(), file, data: header.len() as u64, error: std::sync::Mutex::new(None) })
    }

    /// Writes `values` from value `offset` on.
    fn write(&self, offset: usize, values: &[f32]) {
        const CHUNK: usize = 1 << 16;
        let mut bytes = Vec::with_capacity(4 * CHUNK.min(values.len()));
        for (i, chunk) in values.chunks(CHUNK).enumerate() {
            bytes.clear();
            bytes.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
            if let Err(e) = std::os::unix::fs::FileExt::write_all_at(&self.file, &bytes, self.data + 4 * (offset + i * CHUNK) as u64) {
                self.error.lock().expect("no panics while held").get_or_insert(format!("{}: {e}", self.path.display()));
                return;
            }
        }
    }

    fn finish(self) -> Result<(), String> {
        self.error.into_inner().expect("no panics while held").map_or(Ok(()), Err)
    }
}

/// `quantscope quantize`: the tensor in parts on every core, bit for bit the one-thread outcome
/// (`formats::parts`); with `--out`, x̂ written a part at a time.
pub fn quantize_cmd(a: &QuantizeArgs) -> Result<String, String> {
    let t = chosen(&a.tensor)?;
    let format = Format::parse(&a.format, &a.params())?;
    let fail = |e: String| format!("{}, tensor “{}”: {}: {e}", a.tensor.file.display(), t.name, format.label());
    let out = a.out.as_deref().map(|path| NpyOut::create(path, &t.shape)).transpose()?;
    let write = |offset: usize, values: &[f32]| out.as_ref().expect("a file to write").write(offset, values);
    let sink: Option<Sink> = if out.is_some() { Some(&write) } else { None };
    let measured = metrics_threads(format, &t.data, &t.shape, super::stream::threads(), sink);
    if let Some(out) = out {
        let written = out.finish();
        if measured.is_err() || written.is_err() {
            // Not a file of values: none at all.
            _ = std::fs::remove_file(a.out.as_deref().expect("a file written"));
        }
        written?;
    }
    let (bits_per_weight, m) = measured.map_err(|e| fail(e.to_string()))?;
    if a.json {
        let v = json!({
            "tensor": t.name,
            "shape": t.shape,
            "format": format.name(),
            "label": format.label(),
            "params": format.params(),
            "bits_per_weight": bits_per_weight,
            "mse": m.mse,
            "clip_mse": m.clip_mse,
            "round_mse": m.round_mse,
            "sqnr_db": m.sqnr_db,
            "max_abs_error": m.max_abs_err,
            "saturated": m.clipped_fraction(),
            "count": m.count,
            "non_finite": m.non_finite,
        });
        return serde_json::to_string_pretty(&v).map_err(|e| e.to_string());
    }
    let rows = vec![
        vec!["tensor".into(), format!("{} {:?}", t.name, t.shape)],
        vec!["format".into(), format!("{}, {} bits per weight", format.label(), sig4(Some(bits_per_weight)))],
        vec!["MSE".into(), format!("{} (clipping {}, rounding {})", sig4(Some(m.mse)), sig4(Some(m.clip_mse)), sig4(Some(m.round_mse)))],
        vec!["SQNR".into(), m.sqnr_db.map_or("—".into(), |s| format!("{} dB", sig4(Some(s))))],
        vec!["max |error|".into(), sig4(Some(m.max_abs_err))],
        vec!["saturated".into(), percent(m.clipped_fraction())],
        vec!["not finite".into(), m.non_finite.to_string()],
    ];
    Ok(table(&["", ""], &rows))
}

/// Every format of the comparison on `t`, on every core.
pub fn compare_all(t: &Tensor) -> Vec<Row> {
    let formats = Format::comparison();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(formats.len());
    let mut rows: Vec<Option<Row>> = vec![None; formats.len()];
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(&mut rows);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&f) = formats.get(i) else { break };
                let row = compare_one(f, &t.data, &t.shape);
                done.lock().expect("no panics while held")[i] = Some(row);
            });
        }
    });
    let mut rows: Vec<Row> = rows.into_iter().map(|r| r.expect("every format ran")).collect();
    mark_pareto(&mut rows);
    rows
}

/// `quantscope formats`.
pub fn formats_cmd(a: &FormatsArgs) -> Result<String, String> {
    let t = chosen(&a.tensor)?;
    let rows = compare_all(&t);
    if let Some(path) = &a.svg {
        use crate::ui::charts::formats::{CompareChart, Metric};
        let svg = crate::ui::charts::to_svg(&CompareChart { rows: rows.clone(), metric: Metric::Sqnr }, 900, 420)?;
        std::fs::write(path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if a.csv {
        return Ok(to_csv(&rows).trim_end().to_string());
    }
    if a.json {
        let v = json!({ "tensor": t.name, "shape": t.shape, "formats": rows.iter().map(row_json).collect::<Vec<_>>() });
        return serde_json::to_string_pretty(&v).map_err(|e| e.to_string());
    }
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| match r.metrics {
            Some(m) => vec![
                r.label.clone(),
                format!("{:.3}", r.bits_per_weight),
                m.sqnr_db.map_or("—".into(), |s| format!("{s:.2}")),
                sig4(Some(m.mse)),
                sig4(Some(m.max_abs_err)),
                percent(m.clipped_fraction()),
                if r.pareto { "*".into() } else { String::new() },
                String::new(),
            ],
            None => {
                let mut row = vec![r.label.clone()];
                row.extend(std::iter::repeat_n("—".to_string(), 5));
                row.extend([String::new(), r.error.clone().unwrap_or_default()]);
                row
            }
        })
        .collect();
    let header = ["format", "bits/w", "SQNR dB", "MSE", "max |err|", "saturated", "front", "not applicable"];
    Ok(format!("{} {:?}\n{}", t.name, t.shape, table(&header, &body)))
}

/// One comparison row in the `--json` output.
pub fn row_json(r: &Row) -> serde_json::Value {
    json!({
        "label": r.label,
        "format": r.format,
        "bits_per_weight": r.metrics.map(|_| r.bits_per_weight),
        "mse": r.metrics.map(|m| m.mse),
        "sqnr_db": r.metrics.and_then(|m| m.sqnr_db),
        "max_abs_error": r.metrics.map(|m| m.max_abs_err),
        "saturated": r.saturated(),
        "pareto": r.pareto,
        "error": r.error,
    })
}
