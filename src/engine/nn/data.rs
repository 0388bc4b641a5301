//! The Lab's data: the 8×8 digits (embedded, 1,797 images) and 2-D synthetic sets whose decision
//! boundary can be drawn, with a seeded stratified train/test split.

use std::io::Read;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::NnError;

/// The digits file, as shipped in `static/data/` (see its README for the attribution).
const DIGITS_GZ: &[u8] = include_bytes!("../../../static/data/digits.csv.gz");

/// Rows of the digits set, and the pixel values' top (0..=16).
pub const DIGITS_ROWS: usize = 1797;
pub const DIGITS_MAX_PIXEL: f32 = 16.0;

/// Samples as rows of `features` values, with a class label each.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub name: String,
    pub x: Vec<f32>,
    pub y: Vec<u8>,
    pub features: usize,
    pub classes: usize,
    /// `(height, width)` when each sample is a one-channel image.
    pub image: Option<(usize, usize)>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Sample `i`'s features.
    pub fn sample(&self, i: usize) -> &[f32] {
        &self.x[i * self.features..(i + 1) * self.features]
    }

    /// The samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut x = Vec::with_capacity(indices.len() * self.features);
        for &i in indices {
            x.extend_from_slice(self.sample(i));
        }
        Dataset { x, y: indices.iter().map(|&i| self.y[i]).collect(), ..self.header() }
    }

    fn header(&self) -> Dataset {
        Dataset { name: self.name.clone(), x: Vec::new(), y: Vec::new(), features: self.features, classes: self.classes, image: self.image }
    }
}

/// The 8×8 digits, pixels scaled to [0, 1] (÷ 16), from the embedded copy.
pub fn digits() -> Result<Dataset, NnError> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(DIGITS_GZ)
        .read_to_string(&mut text)
        .map_err(|e| NnError::Data(format!("digits.csv.gz: cannot decompress: {e}")))?;
    parse_digits_csv(&text)
}

/// Parses rows of 64 pixel values (0..=16) and a label (0..=9), comma-separated.
pub fn parse_digits_csv(text: &str) -> Result<Dataset, NnError> {
    let mut x = Vec::with_capacity(DIGITS_ROWS * 64);
    let mut y = Vec::with_capacity(DIGITS_ROWS);
    for (row, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |what: String| NnError::Data(format!("digits.csv row {}: {what}", row + 1));
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 65 {
            return Err(bad(format!("{} fields, expected 65 (64 pixels and a label)", fields.len())));
        }
        for f in &fields[..64] {
            match f.parse::<f32>() {
                Ok(v) if (0.0..=DIGITS_MAX_PIXEL).contains(&v) => x.push(v / DIGITS_MAX_PIXEL),
                _ => return Err(bad(format!("pixel {f:?} is not a number from 0 to 16"))),
            }
        }
        match fields[64].parse::<f32>() {
            Ok(l) if l.fract() == 0.0 && (0.0..=9.0).contains(&l) => y.push(l as u8),
            _ => return Err(bad(format!("label {:?} is not a digit", fields[64]))),
        }
    }
    if y.is_empty() {
        return Err(NnError::Data("digits.csv: no rows".into()));
    }
    Ok(Dataset { name: "digits".into(), x, y, features: 64, classes: 10, image: Some((8, 8)) })
}

/// Splits `d` into train and test, class by class, so each class keeps its share: of each
/// class's samples (shuffled with `seed`), `round(n·test_fraction)` go to the test split. Both
/// splits are then shuffled.
pub fn stratified_split(d: &Dataset, test_fraction: f64, seed: u64) -> (Dataset, Dataset) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for class in 0..d.classes as u8 {
        let mut idx: Vec<usize> = (0..d.len()).filter(|&i| d.y[i] == class).collect();
        idx.shuffle(&mut rng);
        let n_test = (idx.len() as f64 * test_fraction.clamp(0.0, 1.0)).round() as usize;
        test.extend_from_slice(&idx[..n_test]);
        train.extend_from_slice(&idx[n_test..]);
    }
    train.shuffle(&mut rng);
    test.shuffle(&mut rng);
    (d.subset(&train), d.subset(&test))
}

/// The 2-D synthetic sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Synthetic2d {
    /// Two interleaved half circles (scikit-learn's `make_moons`).
    Moons,
    /// A circle inside a circle of twice its radius.
    Circles,
    /// The four quadrants of [−1, 1]², opposite ones alike.
    Xor,
    /// Two arms of a spiral, winding 1.5 turns.
    Spiral,
    /// Three Gaussian blobs.
    Blobs,
}

impl Synthetic2d {
    pub const ALL: [Synthetic2d; 5] = [Synthetic2d::Moons, Synthetic2d::Circles, Synthetic2d::Xor, Synthetic2d::Spiral, Synthetic2d::Blobs];

    pub fn name(self) -> &'static str {
        match self {
            Synthetic2d::Moons => "moons",
            Synthetic2d::Circles => "circles",
            Synthetic2d::Xor => "xor",
            Synthetic2d::Spiral => "spiral",
            Synthetic2d::Blobs => "blobs",
        }
    }

    pub fn classes(self) -> usize {
        if self == Synthetic2d::Blobs { 3 } else { 2 }
    }
}

/// `n` points of `kind` (classes in turn), with Gaussian noise of std `noise` added to each
/// coordinate, seeded. Coordinates stay within a few units of the origin.
pub fn synthetic_2d(kind: Synthetic2d, n: usize, noise: f32, seed: u64) -> Result<Dataset, NnError> {
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(NnError::Data(format!("noise {noise} must be a finite number ≥ 0")));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let jitter = Normal::new(0.0f32, noise.max(f32::MIN_POSITIVE)).map_err(|e| NnError::Data(e.to_string()))?;
    let classes = kind.classes();
    let (mut x, mut y) = (Vec::with_capacity(2 * n), Vec::with_capacity(n));
    for i in 0..n {
        let class = i % classes;
        let t: f32 = rng.gen();
        let (a, b) = match kind {
            Synthetic2d::Moons => {
                let angle = std::f32::consts::PI * t;
                if class == 0 { (libm::cosf(angle), libm::sinf(angle)) } else { (1.0 - libm::cosf(angle), 0.5 - libm::sinf(angle)) }
            }
            Synthetic2d::Circles => {
                let angle = 2.0 * std::f32::consts::PI * t;
                let r = if class == 0 { 1.0 } else { 0.5 };
                (r * libm::cosf(angle), r * libm::sinf(angle))
            }
            Synthetic2d::Xor => {
                let (u, v): (f32, f32) = (rng.gen_range(0.05..1.0), rng.gen_range(0.05..1.0));
                let flip = rng.gen::<bool>();
                // Class 0: the quadrants where the signs agree; class 1: where they differ.
                let (su, sv) = if class == 0 { if flip { (1.0, 1.0) } else { (-1.0, -1.0) } } else if flip { (1.0, -1.0) } else { (-1.0, 1.0) };
                (su * u, sv * v)
            }
            Synthetic2d::Spiral => {
                let r = 0.1 + 0.9 * t;
                let angle = 3.0 * std::f32::consts::PI * t + class as f32 * std::f32::consts::PI;
                (r * libm::cosf(angle), r * libm::sinf(angle))
            }
            Synthetic2d::Blobs => {
                let angle = 2.0 * std::f32::consts::PI * class as f32 / 3.0;
                let spread = Normal::new(0.0f32, 0.35).map_err(|e| NnError::Data(e.to_string()))?;
                (libm::cosf(angle) + spread.sample(&mut rng), libm::sinf(angle) + spread.sample(&mut rng))
            }
        };
        let (dx, dy) = if noise > 0.0 { (jitter.sample(&mut rng), jitter.sample(&mut rng)) } else { (0.0, 0.0) };
        x.push(a + dx);
        x.push(b + dy);
        y.push(class as u8);
    }
    Ok(Dataset { name: kind.name().into(), x, y, features: 2, classes, image: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_embedded_whole() {
        let d = digits().unwrap();
        assert_eq!((d.len(), d.features, d.classes), (DIGITS_ROWS, 64, 10));
        assert!(d.x.iter().all(|v| (0.0..=1.0).contains(v)));
        // The first image is a 0 (scikit-learn's digits.images[0]); its second row starts 0, 0, 13.
        assert_eq!(d.y[0], 0);
        assert_eq!(d.sample(0)[10], 13.0 / 16.0);
        let per_class: Vec<usize> = (0..10).map(|c| d.y.iter().filter(|&&y| y == c).count()).collect();
        assert_eq!(per_class, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    }

    #[test]
    fn bad_csv_names_the_row() {
        let e = parse_digits_csv("1,2,3\n").unwrap_err().to_string();
        assert!(e.contains("row 1") && e.contains("3 fields"), "{e}");
        let mut row = vec!["0"; 64];
        row[5] = "17";
        let e = parse_digits_csv(&format!("{},3\n", row.join(","))).unwrap_err().to_string();
        assert!(e.contains("\"17\""), "{e}");
        assert!(parse_digits_csv("").is_err());
    }

    #[test]
    fn split_is_stratified_seeded_and_disjoint() {
        let d = digits().unwrap();
        let (train, test) = stratified_split(&d, 0.25, 0);
        assert_eq!(train.len() + test.len(), d.len());
        assert_eq!(test.len(), 451, "each class's quarter rounded: 451 of 1,797");
        for c in 0..10u8 {
            let n = d.y.iter().filter(|&&y| y == c).count();
            let t = test.y.iter().filter(|&&y| y == c).count();
            assert_eq!(t, (n as f64 * 0.25).round() as usize, "class {c}");
        }
        assert_eq!(stratified_split(&d, 0.25, 0), (train.clone(), test.clone()), "seeded");
        assert_ne!(stratified_split(&d, 0.25, 1).1, test);
        // Disjoint: every image is in one split (images are rows; a few rows repeat in the data
        // set itself, so compare counts of rows, not sets).
        let count = |s: &Dataset| s.x.chunks(64).count();
        assert_eq!(count(&train) + count(&test), DIGITS_ROWS);
    }

    #[test]
    fn synthetic_sets_have_their_classes() {
        for kind in Synthetic2d::ALL {
            let d = synthetic_2d(kind, 300, 0.1, 3).unwrap();
            assert_eq!((d.len(), d.features, d.classes), (300, 2, kind.classes()));
            assert!(d.x.iter().all(|v| v.is_finite() && v.abs() < 5.0), "{kind:?}");
            assert_eq!(d, synthetic_2d(kind, 300, 0.1, 3).unwrap());
        }
        assert!(synthetic_2d(Synthetic2d::Moons, 10, -1.0, 0).is_err());
        assert!(synthetic_2d(Synthetic2d::Moons, 0, 0.0, 0).unwrap().is_empty());
    }
}
