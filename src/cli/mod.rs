//! The native command-line interface. Output is a human table, or JSON with `--json`; errors are
//! one line on stderr with a non-zero exit code.

use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::engine::analysis::{analyze, default_range, Analysis};
use crate::engine::qparams::QScheme;
use crate::engine::synth::{sample, Dist};

#[derive(Parser, Debug)]
#[command(name = "quantscope", version, about = "See and understand neural-network quantization.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Draw a seeded synthetic tensor and report its min/max quantization (scale, zero point,
    /// SQNR, MSE, clipping, levels used).
    Synth(SynthArgs),
}

#[derive(clap::Args, Debug)]
pub struct SynthArgs {
    /// The distribution to draw from.
    #[arg(long, value_enum, default_value_t = DistArg::Normal)]
    pub dist: DistArg,
    /// Number of values.
    #[arg(long, default_value_t = 100_000)]
    pub n: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Bit width, 2 to 16 (unsigned codes for affine, signed for symmetric).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=16))]
    pub bits: u32,
    #[arg(long, value_enum, default_value_t = SchemeArg::Affine)]
    pub scheme: SchemeArg,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum DistArg {
    Normal,
    Laplace,
    Uniform,
    StudentT,
    Bimodal,
    PostRelu,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SchemeArg {
    Affine,
    Symmetric,
}

impl DistArg {
    fn dist(self) -> Dist {
        use crate::ui::state::DistKind as K;
        let kind = match self {
            DistArg::Normal => K::Normal,
            DistArg::Laplace => K::Laplace,
            DistArg::Uniform => K::Uniform,
            DistArg::StudentT => K::StudentT,
            DistArg::Bimodal => K::Bimodal,
            DistArg::PostRelu => K::PostRelu,
        };
        kind.dist()
    }
}

#[derive(Serialize)]
struct SynthReport<'a> {
    dist: Dist,
    n: usize,
    seed: u64,
    #[serde(flatten)]
    analysis: &'a Analysis,
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run(cli) {
        Ok(out) => {
            use std::io::Write;
            // A closed pipe (`quantscope … | head`) is not an error worth a panic.
            let _ = writeln!(std::io::stdout(), "{out}");
            0
        }
        Err(message) => {
            eprintln!("quantscope: {message}");
            1
        }
    }
}

/// Runs a parsed command and returns what it prints.
pub fn run(cli: Cli) -> Result<String, String> {
    match cli.command {
        Command::Synth(a) => {
            let scheme = match a.scheme {
                SchemeArg::Affine => QScheme::Affine,
                SchemeArg::Symmetric => QScheme::Symmetric,
            };
            let range = default_range(scheme, a.bits).ok_or_else(|| format!("bit width {} is not in 2..=16", a.bits))?;
            let dist = a.dist.dist();
            let xs = sample(dist, a.n, a.seed, None).map_err(|e| e.to_string())?;
            let analysis = analyze(&xs, scheme, range);
            if a.json {
                let report = SynthReport { dist, n: a.n, seed: a.seed, analysis: &analysis };
                serde_json::to_string_pretty(&report).map_err(|e| e.to_string())
            } else {
                Ok(table(&analysis))
            }
        }
    }
}

fn table(a: &Analysis) -> String {
    use crate::ui::format::{percent, sig4};
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
